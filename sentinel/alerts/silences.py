"""Time-bounded silences by account, rule or kind (``sentinel alerts silence``).

A silenced alert is still stored (and listed), it is just not sent. An alert is silenced
when a silence matches its rule or kind, or when silences cover every one of its accounts
(an alert naming one silenced and one watched account still goes out). Values are
shell-style globs (``brand-*``). Matching is pure; storage is in the alerts tables.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sentinel.alerts.model import Alert

Matcher = Literal["account", "rule", "kind"]
MATCHERS: tuple[Matcher, ...] = ("account", "rule", "kind")


@dataclass(frozen=True, slots=True)
class Silence:
    id: int
    matcher: Matcher
    value: str
    starts_at: float
    ends_at: float
    author: str = ""
    comment: str = ""

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at


def silenced_by(alert: Alert, silences: Sequence[Silence], now: float) -> Silence | None:
    """The silence that mutes ``alert`` at ``now``, if any."""
    active = [s for s in silences if s.active(now)]
    for s in active:
        if s.matcher == "rule" and alert.rule and fnmatch.fnmatchcase(alert.rule, s.value):
            return s
        if s.matcher == "kind" and fnmatch.fnmatchcase(alert.kind, s.value):
            return s
    if alert.accounts:
        accounts = [s for s in active if s.matcher == "account"]
        covering: Silence | None = None
        for acct in alert.accounts:
            match = next((s for s in accounts if fnmatch.fnmatchcase(acct, s.value)), None)
            if match is None:
                return None
            covering = covering or match
        return covering
    return None
