"""Which receivers an alert goes to, which group it joins there, and when a group is sent.

Pure functions over settings, alerts and times; the outbox and dispatcher call them.
Grouping follows Alertmanager: a new group waits ``group_wait`` for more alerts, later
alerts are batched at most every ``group_interval``, and open incidents are repeated every
``repeat_interval``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from sentinel.alerts.model import Alert, severity_rank
from sentinel.alerts.settings import AlertsSettings, RouteSettings


def route_matches(route: RouteSettings, alert: Alert) -> bool:
    if severity_rank(alert.severity) > severity_rank(route.min_severity):
        return False
    if route.kinds and alert.kind not in route.kinds:
        return False
    if route.tags and not set(route.tags) & set(alert.tags):
        return False
    return not route.accounts or any(
        fnmatch.fnmatchcase(acct, pattern) for acct in alert.accounts for pattern in route.accounts
    )


def receivers_for(alert: Alert, settings: AlertsSettings) -> tuple[str, ...]:
    """Receiver names for ``alert``, in route order, each once."""
    if not settings.routes:
        return tuple(settings.receivers)
    out: dict[str, None] = {}
    for route in settings.routes:
        if route_matches(route, alert):
            for name in route.receivers:
                out.setdefault(name, None)
            if route.stop:
                break
    return tuple(out)


def group_labels(alert: Alert, group_by: tuple[str, ...]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for name in group_by:
        if name == "account":
            labels[name] = ",".join(sorted(alert.accounts))
        elif name == "tag":
            labels[name] = ",".join(sorted(alert.tags))
        else:
            labels[name] = str(getattr(alert, name))
    return labels


def group_key(labels: dict[str, str]) -> str:
    return "|".join(f"{k}={v}" for k, v in sorted(labels.items())) or "all"


@dataclass(frozen=True, slots=True)
class Timing:
    group_wait: float
    group_interval: float
    repeat_interval: float

    @classmethod
    def from_settings(cls, settings: AlertsSettings) -> Timing:
        return cls(
            float(settings.group_wait), float(settings.group_interval), float(settings.repeat_interval)
        )


def flush_at_after_add(
    flush_at: float | None, last_sent_at: float | None, now: float, timing: Timing
) -> float:
    """When a group that just received an alert should next be sent."""
    if last_sent_at is None:
        candidate = now + timing.group_wait
    else:
        candidate = max(now, last_sent_at + timing.group_interval)
    return candidate if flush_at is None else min(flush_at, candidate)


def repeat_due(last_sent_at: float | None, now: float, timing: Timing) -> bool:
    return (
        timing.repeat_interval > 0
        and last_sent_at is not None
        and now >= last_sent_at + timing.repeat_interval
    )
