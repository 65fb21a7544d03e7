"""Which receivers an alert goes to, which group it joins there, and when a group is sent.

Pure functions over settings, alerts and times; the outbox and dispatcher call them.
Grouping follows Alertmanager: a new group waits ``group_wait`` for more alerts, later
alerts are batched at most every ``group_interval``, and open incidents are repeated every
``repeat_interval``. One departure: a firing critical alert that names accounts the group
has not notified yet (a worm reaching more accounts) is urgent and goes out
``critical_interval`` after the group's last notification at the latest, so the second wave
of a worm is not held back for minutes.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
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
    critical_interval: float = 10.0

    @classmethod
    def from_settings(cls, settings: AlertsSettings) -> Timing:
        return cls(
            float(settings.group_wait),
            float(settings.group_interval),
            float(settings.repeat_interval),
            float(settings.critical_interval),
        )


def urgent(alert: Alert, notified_accounts: Iterable[str]) -> bool:
    """A firing critical alert naming an account the group has not notified about yet."""
    return (
        alert.status == "firing"
        and alert.severity == "critical"
        and not set(alert.accounts) <= set(notified_accounts)
    )


def flush_at_after_add(
    flush_at: float | None,
    last_sent_at: float | None,
    now: float,
    timing: Timing,
    is_urgent: bool = False,
) -> float:
    """When a group that just received an alert should next be sent (``is_urgent``: see ``urgent``)."""
    if last_sent_at is None:
        candidate = now + timing.group_wait
    else:
        interval = (
            min(timing.critical_interval, timing.group_interval) if is_urgent else timing.group_interval
        )
        candidate = max(now, last_sent_at + interval)
    return candidate if flush_at is None else min(flush_at, candidate)


def repeat_due(last_sent_at: float | None, now: float, timing: Timing) -> bool:
    return (
        timing.repeat_interval > 0
        and last_sent_at is not None
        and now >= last_sent_at + timing.repeat_interval
    )
