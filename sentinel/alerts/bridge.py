"""The alert sink other components call with plain keyword arguments.

The responder (freeze, lockdown, unfreeze) and the rotator take an ``alert`` callable so
they need not import this package; ``outbox_sink(config, store)`` is that callable. It
turns their keywords into an ``Alert`` and commits it to the outbox (or, for
``resolved=True``, resolves the incident), and never raises into the caller: an alert the
store cannot take now is kept in memory and committed once it can (``sink_for``).

Keywords understood: ``kind``, ``severity``, ``summary``, ``accounts``, ``rule``,
``findings`` (strings or ``Finding``), ``post_excerpt``, ``post_url``, ``steps`` (a
mapping step -> status such as ``"done"``/``"failed"``/``"todo"``/``"skipped"``, or
``Step`` values), ``failed`` (``"step: detail"`` strings), ``todo`` (what a person must do
by hand), ``incident``, ``automatic``, ``tags``, ``details``, ``dedup_key``, ``resolved``.
Anything else is added to ``details``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sentinel.alerts.model import SEVERITIES, Alert, Finding, Step, default_next_steps, severity_rank
from sentinel.alerts.outbox import AlertOutbox
from sentinel.backlog import Backlog, Weight
from sentinel.logs import get_logger
from sentinel.store import Store

log = get_logger(__name__)

OK_STATUSES = frozenset({"done", "ok", "skipped", "already", "not_needed"})
FREEZE_KINDS = frozenset({"freeze", "lockdown", "unfreeze"})
CONTAINMENT_KINDS = frozenset({"freeze", "lockdown", "contain"})
"""Alerts that say an account or identity was cut off: weighed as critical whatever their severity."""
LOST_ALERTS_KEY = "store:alerts_lost"
SEVERITY_SYNONYMS = {"high": "error", "medium": "warning", "low": "info", "crit": "critical", "err": "error"}


def incident_key(kind: str, accounts: Iterable[str], incident: object) -> str:
    """The dedup key a freeze (and its unfreeze) share: the incident, else the account."""
    if incident not in (None, ""):
        return f"incident:{incident}"
    return f"freeze:{','.join(sorted(accounts))}" if kind in FREEZE_KINDS else ""


def _steps(raw: Any, failed: Iterable[str]) -> tuple[Step, ...]:
    details = {}
    for f in failed:
        name, _, detail = str(f).partition(":")
        details[name.strip()] = detail.strip()
    if isinstance(raw, Mapping):
        return tuple(
            Step(
                str(name),
                str(status) in OK_STATUSES,
                "" if str(status) in OK_STATUSES else details.get(str(name)) or str(status),
            )
            for name, status in raw.items()
        )
    return tuple(s for s in (raw or ()) if isinstance(s, Step))


def _finding(text: str, rule: str) -> Finding:
    """``"rule.id: what it saw"`` becomes a finding of that rule; other text keeps ``rule``."""
    head, sep, rest = text.partition(": ")
    if sep and head and " " not in head:
        return Finding(rule=head, message=rest)
    return Finding(rule=rule, message=text)


def alert_from_kwargs(**kw: Any) -> tuple[Alert, bool]:
    """The ``Alert`` the keywords describe, and whether they ask to resolve instead."""
    kind = str(kw.pop("kind", "alert"))
    severity = str(kw.pop("severity", "warning")).lower()
    severity = SEVERITY_SYNONYMS.get(severity, severity)
    accounts = tuple(str(a) for a in kw.pop("accounts", ()) or ())
    incident = kw.pop("incident", None)
    automatic = kw.pop("automatic", None)
    resolved = bool(kw.pop("resolved", False))
    todo = [str(t) for t in kw.pop("todo", ()) or ()]
    steps = _steps(kw.pop("steps", ()), kw.pop("failed", ()) or ())
    findings = tuple(
        f if isinstance(f, Finding) else _finding(str(f), str(kw.get("rule", "")))
        for f in kw.pop("findings", ()) or ()
    )
    details = {str(k): str(v) for k, v in dict(kw.pop("details", {}) or {}).items()}
    if automatic is not None:
        details["frozen by" if kind in FREEZE_KINDS else "raised by"] = (
            "Sentinel (automatic)" if automatic else "a responder"
        )
    alert = Alert(
        kind=kind,
        severity=severity if severity in SEVERITIES else "warning",
        summary=str(kw.pop("summary", "")),
        accounts=accounts,
        rule=str(kw.pop("rule", "")),
        findings=findings,
        post_excerpt=str(kw.pop("post_excerpt", "") or ""),
        post_url=str(kw.pop("post_url", "") or ""),
        steps=steps,
        tags=tuple(str(t) for t in kw.pop("tags", ()) or ()),
        incident_id="" if incident is None else str(incident),
        dedup_key=str(kw.pop("dedup_key", "") or incident_key(kind, accounts, incident)),
    )
    details.update({str(k): str(v) for k, v in kw.items() if v not in (None, "", [], {}, ())})
    alert = dataclasses.replace(alert, details=details)
    next_steps = default_next_steps(alert) + tuple(f"# to do by hand: {t}" for t in todo)
    return dataclasses.replace(alert, next_steps=next_steps), resolved


def outbox_sink(config: Any, store: Store) -> Callable[..., None]:
    """``alert(**keywords)`` for the responder and the rotator, writing to this store's outbox."""
    return sink_for(AlertOutbox.from_config(store, config))


def sink_for(outbox: AlertOutbox, limit: int = 1000) -> Callable[..., None]:
    """``alert(**keywords)`` writing to ``outbox``.

    An alert the store cannot take (a full disk, another process holding the write lock) is
    kept in memory and committed, in order, before the next alert raised once the store can
    be written again (the daemon raises ``store_unwritable`` then): a containment alert
    raised during the outage is delivered late, not lost (``sentinel.backlog``). Past
    ``limit`` held alerts the mildest oldest goes first; should critical ones have to go (the
    backlog holds nothing else), an ``alerts_lost`` critical alert says so once the store
    takes writes again."""

    def commit(made: tuple[Alert, bool], late: bool) -> None:
        alert, resolved = made
        if resolved:
            notice = outbox.resolve(alert.dedup_key, summary=alert.summary, accounts=alert.accounts or None)
            if notice is None:
                # Nothing open under that key (raised before alerts existed, or already
                # resolved): say it anyway, as an info alert.
                outbox.raise_alert(alert)
        else:
            outbox.raise_alert(alert)

    backlog = Backlog(commit, "alert", limit, describe=alert_weight)

    def sink(**kw: Any) -> None:
        kind, accounts = kw.get("kind"), list(kw.get("accounts") or ())
        try:
            made = alert_from_kwargs(**kw)
        except Exception:  # an alert failure must never break a freeze or a rotation
            log.exception("alert.sink_failed", kind=kind, accounts=accounts)
            return
        if backlog.submit(made) and backlog.lost:
            backlog.submit(_lost_alert(backlog.take_lost(), backlog.limit))

    return sink


def alert_weight(made: tuple[Alert, bool]) -> Weight:
    """How much a held alert matters when the backlog is full: a containment alert counts as
    critical, any other by its severity."""
    alert, _ = made
    rank = 0 if alert.kind in CONTAINMENT_KINDS else severity_rank(alert.severity)
    return Weight(alert.kind, alert.severity, rank)


def _lost_alert(lost: list[Weight], limit: int) -> tuple[Alert, bool]:
    """The critical alert saying which critical alerts a full backlog dropped."""
    counts: dict[str, int] = {}
    for weight in lost:
        counts[weight.kind] = counts.get(weight.kind, 0) + 1
    named = ", ".join(f"{kind} x{n}" for kind, n in sorted(counts.items()))
    return alert_from_kwargs(
        kind="alerts_lost",
        severity="critical",
        summary=(
            f"{len(lost)} critical alert(s) were dropped while the state store was unwritable "
            f"(the backlog of {limit} held only critical alerts): {named}; "
            "the log names each (alert.critical_dropped)"
        ),
        dedup_key=LOST_ALERTS_KEY,
        details={"dropped": len(lost)},
    )
