"""The freeze policy: findings -> combined score -> verdict, severity and freeze.

Several weak anomalies combine into a strong one (COMPA): scores add up across rule
groups. Within one group (for instance the rate rules for account, author and organisation,
which see the same burst) the strongest finding counts fully and the others count
``group_damping`` of their score, so correlated evidence is not counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from sentinel.engine.events import Finding, Severity, Via
from sentinel.engine.settings import PolicySettings


def combine(findings: Sequence[Finding], damping: float) -> float:
    if not findings:
        return 0.0
    if len(findings) == 1:
        return findings[0].score
    groups: dict[str, list[float]] = {}
    for f in findings:
        groups.setdefault(f.group or f.rule, []).append(f.score)
    total = 0.0
    for scores in groups.values():
        top = max(scores)
        total += top + damping * (sum(scores) - top)
    return round(total, 3)


def verdict(via: Via, score: float, p: PolicySettings) -> str:
    if via == "gate":
        if score >= p.block_score:
            return "block"
        return "hold" if score >= p.hold_score else "allow"
    return "flagged" if score >= p.flag_score else "ok"


def severity(score: float, p: PolicySettings) -> Severity:
    if score >= p.freeze_score:
        return "critical"
    if score >= min(p.hold_score, p.flag_score):
        return "high"
    if score >= min(p.hold_score, p.flag_score) / 2:
        return "medium"
    return "low" if score > 0 else "info"


def should_freeze(score: float, p: PolicySettings) -> bool:
    return score >= p.freeze_score


def suspicious(score: float, p: PolicySettings) -> bool:
    """Held, blocked or flagged: remembered for escalation and campaign taint, never learned."""
    return score >= min(p.hold_score, p.flag_score)


def freeze_reason(findings: Sequence[Finding], score: float) -> str:
    top = sorted(findings, key=lambda f: -f.score)[:3]
    parts = "; ".join(f"{f.rule}: {f.detail}" for f in top)
    return f"score {score:g}: {parts}"
