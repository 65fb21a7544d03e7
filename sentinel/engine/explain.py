"""Why the engine decided what it did: every rule considered, how the scores combined, which
threshold decided.

``explain(engine, event)`` decides the event as a dry run (nothing learned, held or frozen)
with a trace of every rule, and returns the decision with a plain-JSON explanation: each
rule's finding (its detail says what it measured against which baseline) and score, the
baselines the account and author have, the per-group combination (strongest finding counts
fully, the others ``group_damping`` of theirs) and the threshold that set the verdict.
"""

from __future__ import annotations

from typing import Any

from sentinel.engine.engine import Engine, Trace
from sentinel.engine.events import Decision, Event, Finding, format_ts
from sentinel.engine.settings import PolicySettings


def explain(engine: Engine, event: Event) -> tuple[Decision, dict[str, Any]]:
    """Decide ``event`` as a dry run (nothing learned, held or frozen) and say why: every rule
    considered with what it found, the baselines, how the scores combined and which threshold
    decided."""
    trace: list[Trace] = []
    decision = engine.evaluate(event, dry=True, trace=trace)
    p = engine.settings.policy
    out: dict[str, Any] = {
        "event": event.id,
        "account": event.account,
        "via": event.via,
        "dry_run": True,
        "baselines": _baselines(engine, event),
        "rules": [_rule(t) for t in trace],
        "combined": _combined(decision, p),
        "thresholds": {
            "hold_score": p.hold_score,
            "block_score": p.block_score,
            "flag_score": p.flag_score,
            "freeze_score": p.freeze_score,
        },
        "verdict": decision.verdict,
        "freeze": decision.freeze is not None,
        "decided_by": _decided_by(decision, p),
    }
    if decision.observed:
        out["observed"] = [f.to_dict() | {"score": f.score} for f in decision.observed]
        out["would"] = decision.would
    if not trace and decision.verdict == "skipped":
        out["decided_by"] = "the gate did not allow this post: it was never published"
    return decision, out


def _rule(t: Trace) -> dict[str, Any]:
    r = t.rule
    item: dict[str, Any] = {
        "rule": r.id,
        "detector": r.detector.name,
        "mode": r.mode,
        "group": r.group,
        "rule_score": r.score,
    }
    if t.skipped:
        item.update(fired=False, skipped=t.skipped)
    elif t.finding is None:
        item.update(fired=False, score=0.0)
    else:
        item.update(fired=True, score=round(t.finding.score, 3), detail=t.finding.detail)
    return item


def _combined(d: Decision, p: PolicySettings) -> dict[str, Any]:
    groups: dict[str, list[Finding]] = {}
    for f in d.findings:
        if f.score > 0:
            groups.setdefault(f.group or f.rule, []).append(f)
    parts = []
    for name, fs in groups.items():
        scores = sorted((f.score for f in fs), reverse=True)
        total = scores[0] + p.group_damping * sum(scores[1:])
        parts.append(
            {"group": name, "rules": [f.rule for f in fs], "scores": scores, "counts": round(total, 3)}
        )
    return {
        "group_damping": p.group_damping,
        "groups": parts,
        "score": round(d.score, 3),
    }


def _decided_by(d: Decision, p: PolicySettings) -> str:
    s = round(d.score, 3)
    if any(f.rule == "policy.frozen" for f in d.findings):
        return "the account is frozen: every gate check is blocked"
    if d.freeze is not None:
        return f"score {s:g} >= freeze_score {p.freeze_score:g}: the account would be frozen"
    if d.via == "gate":
        if d.verdict == "block":
            return f"score {s:g} >= block_score {p.block_score:g}"
        if d.verdict == "hold":
            return f"score {s:g} >= hold_score {p.hold_score:g} (below block_score {p.block_score:g})"
        return f"score {s:g} < hold_score {p.hold_score:g}"
    if d.verdict == "flagged":
        return f"score {s:g} >= flag_score {p.flag_score:g}"
    return f"score {s:g} < flag_score {p.flag_score:g}"


def _baselines(engine: Engine, event: Event) -> dict[str, Any]:
    """What the account's (and author's) learned normal holds, which the rules measured against."""
    learning = engine.settings.learning
    state = engine.known(event.account)
    out: dict[str, Any] = {"learned": state is not None}
    if state is None:
        return out
    out.update(
        learned_posts=state.learned,
        mature=state.mature(event.ts, learning.min_posts, learning.min_days),
        first_seen=format_ts(state.first_ts) if state.first_ts else None,
        known_domains=len(state.domains),
        known_clients=sorted(state.clients)[:10],
        known_authors=sorted(state.authors)[:10],
        suspicious_recently=len(state.suspicious),
        frozen=state.frozen is not None,
    )
    author = engine.org.authors.get(event.author) if event.author else None
    if author is not None:
        out["author"] = {"name": event.author, "learned_posts": author.learned, "known_ips": len(author.ips)}
    return out
