"""What the engine learns from account events and Vault requests (plain data, snapshot-able).

Per Vault identity: the addresses it reads credentials from, the hours of the day (UTC) it
reads at, the accounts it has read, the most accounts it read within each rule's window,
and its recent reads and refusals. Per account: its recent changes. For the organisation:
the addresses that made privileged account changes (apps, delegates, two-factor, contact).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sentinel.engine.state import touch

RECENT = 3600.0
"""How long recent reads, refusals and account changes are kept (at least)."""
REMOVED = "-"
"""Prefix of a field in an account's recent changes when an item of it was removed (an app
password revoked is no new way in)."""


@dataclass
class IdentityState:
    IP_CAP = 64
    ACCOUNT_CAP = 2000

    display_name: str = ""
    first_ts: float = 0.0
    learned: int = 0
    ips: dict[str, float] = field(default_factory=dict)
    hours: list[int] = field(default_factory=lambda: [0] * 24)
    accounts: dict[str, float] = field(default_factory=dict)
    peaks: dict[int, int] = field(default_factory=dict)
    """Most accounts read within each window on any earlier day (today's burst never raises it)."""
    today: dict[int, int] = field(default_factory=dict)
    day: int = 0
    reads: deque[tuple[float, str]] = field(default_factory=deque)
    denied: deque[float] = field(default_factory=deque)
    contained: float | None = None

    def trim(self, ts: float, keep: float) -> None:
        cut = ts - max(keep, RECENT)
        while self.reads and self.reads[0][0] < cut:
            self.reads.popleft()
        while self.denied and self.denied[0] < ts - RECENT:
            self.denied.popleft()

    def distinct_since(self, since: float) -> set[str]:
        return {acc for t, acc in self.reads if t >= since}

    def hour_share(self, hour: int) -> tuple[float, int]:
        """Share of learned reads at this UTC hour (neighbours half weight), and the total."""
        h = self.hours
        total = sum(h)
        if not total:
            return 0.0, 0
        near = h[hour] + 0.5 * (h[(hour - 1) % 24] + h[(hour + 1) % 24])
        return near / total, total

    def learn_read(self, ts: float, hour: int, ip: str, account: str, windows: Iterable[int]) -> None:
        self.learned += 1
        self.hours[hour] += 1
        if ip:
            touch(self.ips, ip, ts, self.IP_CAP)
        touch(self.accounts, account, ts, self.ACCOUNT_CAP)
        self._roll(ts)
        for w in windows:
            n = len(self.distinct_since(ts - w))
            if n > self.today.get(w, 0):
                self.today[w] = n

    def _roll(self, ts: float) -> None:
        day = int(ts // 86400)
        if day != self.day:
            for w, n in self.today.items():
                self.peaks[w] = max(self.peaks.get(w, 0), n)
            self.today.clear()
            self.day = day

    def peak(self, window: int, ts: float) -> int:
        """The most accounts read within ``window`` on an earlier day."""
        self._roll(ts)
        return self.peaks.get(window, 0)

    def to_state(self) -> dict[str, Any]:
        return {
            "display_name": self.display_name,
            "first_ts": self.first_ts,
            "learned": self.learned,
            "ips": self.ips,
            "hours": self.hours,
            "accounts": self.accounts,
            "peaks": {str(k): v for k, v in self.peaks.items()},
            "today": {str(k): v for k, v in self.today.items()},
            "day": self.day,
            "reads": [list(r) for r in self.reads],
            "denied": list(self.denied),
            "contained": self.contained,
        }

    @classmethod
    def from_state(cls, raw: Mapping[str, Any]) -> IdentityState:
        hours = [int(x) for x in raw.get("hours", [])][:24]
        return cls(
            display_name=str(raw.get("display_name", "")),
            first_ts=float(raw.get("first_ts", 0.0)),
            learned=int(raw.get("learned", 0)),
            ips={str(k): float(v) for k, v in raw.get("ips", {}).items()},
            hours=hours + [0] * (24 - len(hours)),
            accounts={str(k): float(v) for k, v in raw.get("accounts", {}).items()},
            peaks={int(k): int(v) for k, v in raw.get("peaks", {}).items()},
            today={int(k): int(v) for k, v in raw.get("today", {}).items()},
            day=int(raw.get("day", 0)),
            reads=deque((float(t), str(a)) for t, a in raw.get("reads", [])),
            denied=deque(float(t) for t in raw.get("denied", [])),
            contained=None if raw.get("contained") is None else float(raw["contained"]),
        )


@dataclass
class ChangeState:
    """Account changes: each account's recent ones and the organisation's privileged sources."""

    SOURCE_CAP = 256

    first_ts: float = 0.0
    learned: int = 0
    sources: dict[str, float] = field(default_factory=dict)
    recent: dict[str, deque[tuple[float, str]]] = field(default_factory=dict)

    def changes(self, account: str, ts: float) -> deque[tuple[float, str]]:
        d = self.recent.get(account)
        if d is None:
            d = self.recent[account] = deque()
        while d and d[0][0] < ts - RECENT:
            d.popleft()
        return d

    def to_state(self) -> dict[str, Any]:
        return {
            "first_ts": self.first_ts,
            "learned": self.learned,
            "sources": self.sources,
            "recent": {k: [list(x) for x in v] for k, v in self.recent.items() if v},
        }

    @classmethod
    def from_state(cls, raw: Mapping[str, Any]) -> ChangeState:
        return cls(
            first_ts=float(raw.get("first_ts", 0.0)),
            learned=int(raw.get("learned", 0)),
            sources={str(k): float(v) for k, v in raw.get("sources", {}).items()},
            recent={
                str(k): deque((float(t), str(f)) for t, f in v) for k, v in raw.get("recent", {}).items()
            },
        )
