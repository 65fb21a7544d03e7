"""What the engine remembers: per-account, per-author and organisation baselines.

Everything is bounded so memory stays flat however long history grows: known domains,
clients, authors and IPs are capped LRU maps (name -> last seen), rates are sliding
windows with a cap, the hour-of-week profile is 168 counters halved when they grow large,
and rate baselines are small histograms. ``to_state()``/``from_state()`` give plain JSON
data so the daemon can persist baselines in the state store and restore them on start.

Learning period: an account's novelty rules (new domain, client, author, IP) and its
time-of-week and rate baselines only count once the account has ``min_posts`` clean posts
spread over ``min_days`` (``[engine.learning]``); before that they stay silent, while content,
link-shape, out-of-band and campaign rules work from the first post.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any

from sentinel.engine.events import Freeze

WINDOWS = (600, 3600)
"""The rate windows (seconds) tracked for every account, author and the organisation."""

HOW_CAP = 4000  # halve the hour-of-week profile past this many posts: old habits fade


def touch(d: dict[str, float], key: str, ts: float, cap: int) -> None:
    """Mark ``key`` seen at ``ts`` in an insertion-ordered LRU map capped at ``cap``."""
    d.pop(key, None)
    d[key] = ts
    if len(d) > cap:
        del d[next(iter(d))]


class Rate:
    """Posts in sliding windows, and each day's peak count (at clean posts) as the baseline.

    The baseline only holds completed days, so a burst today cannot raise today's threshold.
    """

    __slots__ = ("cap", "peaks", "today", "windows")

    DAYS = 28

    def __init__(self, cap: int = 1000) -> None:
        self.cap = cap
        self.windows: dict[int, deque[float]] = {w: deque() for w in WINDOWS}
        self.peaks: dict[int, list[int]] = {w: [] for w in WINDOWS}
        self.today: dict[int, list[int]] = {w: [0, 0] for w in WINDOWS}  # [day number, peak]

    def count(self, ts: float, window: int) -> int:
        """Posts in the ``window`` seconds up to ``ts``, this one included."""
        dq = self.windows[window]
        start = ts - window
        while dq and dq[0] <= start:
            dq.popleft()
        return len(dq) + 1

    def add(self, ts: float) -> None:
        for w, dq in self.windows.items():
            start = ts - w
            while dq and dq[0] <= start:
                dq.popleft()
            dq.append(ts)
            if len(dq) > self.cap:
                dq.popleft()

    def record(self, ts: float) -> None:
        """Record the counts at a clean post into today's peak."""
        day = int(ts // 86400)
        for w, dq in self.windows.items():
            today = self.today[w]
            if today[0] != day:
                if today[1]:
                    peaks = self.peaks[w]
                    peaks.append(today[1])
                    if len(peaks) > self.DAYS:
                        del peaks[0]
                today[0], today[1] = day, 0
            today[1] = max(today[1], len(dq))

    def quantile(self, window: int, q: float) -> tuple[int, int]:
        """(daily peak count at quantile ``q``, number of days) of the baseline."""
        peaks = self.peaks[window]
        if not peaks:
            return 0, 0
        ordered = sorted(peaks)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))], len(ordered)

    def to_state(self) -> dict[str, Any]:
        return {
            "windows": {str(w): list(dq) for w, dq in self.windows.items()},
            "peaks": {str(w): list(p) for w, p in self.peaks.items()},
            "today": {str(w): list(t) for w, t in self.today.items()},
        }

    def restore(self, raw: Mapping[str, Any]) -> None:
        for w in WINDOWS:
            self.windows[w] = deque(float(x) for x in raw.get("windows", {}).get(str(w), []))
            self.peaks[w] = [int(x) for x in raw.get("peaks", {}).get(str(w), [])][-self.DAYS :]
            today = raw.get("today", {}).get(str(w), [0, 0])
            self.today[w] = [int(today[0]), int(today[1])]


class AccountState:
    """One account's learned normal and short-term memory."""

    __slots__ = (
        "approved",
        "authors",
        "clients",
        "domains",
        "first_ts",
        "frozen",
        "hod",
        "how",
        "last_ts",
        "learned",
        "rate",
        "recent",
        "suspicious",
        "withheld",
    )

    DOMAIN_CAP = 256
    CLIENT_CAP = 32
    AUTHOR_CAP = 64
    POST_CAP = 512
    POST_TTL = 3 * 86400.0
    RECENT_CAP = 16

    def __init__(self) -> None:
        self.first_ts = 0.0
        self.last_ts = 0.0
        self.learned = 0
        self.how = array("I", bytes(4 * 168))
        self.hod = array("I", bytes(4 * 24))
        self.domains: dict[str, float] = {}
        self.clients: dict[str, float] = {}
        self.authors: dict[str, float] = {}
        self.rate = Rate()
        # post_id -> (ts, text key, links key) of gate checks allowed / not allowed, until
        # observed (links key None: approved before links were remembered, not compared)
        self.approved: dict[str, tuple[float, int, int | None]] = {}
        self.withheld: dict[str, float] = {}
        self.suspicious: deque[tuple[float, float]] = deque(maxlen=16)
        self.recent: deque[tuple[float, int, frozenset[str]]] = deque(maxlen=self.RECENT_CAP)
        """The latest posts with foreign links: (ts, template key, foreign domains)."""
        self.frozen: Freeze | None = None

    def mature(self, ts: float, min_posts: int, min_seconds: float) -> bool:
        return self.learned >= min_posts and ts - self.first_ts >= min_seconds

    def hour_share(self, how: int) -> tuple[float, int]:
        """Share of learned posts in this hour of the day (neighbours half weight), and the total."""
        h = self.hod
        total = sum(h)
        if not total:
            return 0.0, 0
        hour = how % 24
        near = h[hour] + 0.5 * (h[(hour - 1) % 24] + h[(hour + 1) % 24])
        return near / total, total

    def learn_time(self, how: int) -> None:
        self.how[how] += 1
        self.hod[how % 24] += 1
        if self.hod[how % 24] > HOW_CAP // 24 and sum(self.hod) > HOW_CAP:
            self.how = array("I", (c // 2 for c in self.how))
            self.hod = array("I", (c // 2 for c in self.hod))

    def remember_post(self, ts: float, template: int, domains: frozenset[str]) -> None:
        self.recent.append((ts, template, domains))

    def remember_gate(
        self, post_id: str, ts: float, allowed: bool, text_key: int, links_key: int | None = None
    ) -> None:
        target: dict[str, Any] = self.approved if allowed else self.withheld
        target[post_id] = (ts, text_key, links_key) if allowed else ts
        if len(target) > self.POST_CAP:
            del target[next(iter(target))]
        # drop what is too old to be observed any more
        while target:
            first = next(iter(target))
            v = target[first]
            t = v[0] if isinstance(v, tuple) else v
            if ts - t <= self.POST_TTL:
                break
            del target[first]

    def to_state(self) -> dict[str, Any]:
        return {
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "learned": self.learned,
            "how": list(self.how),
            "domains": dict(self.domains),
            "clients": dict(self.clients),
            "authors": dict(self.authors),
            "rate": self.rate.to_state(),
            "approved": {k: [t, h] if lk is None else [t, h, lk] for k, (t, h, lk) in self.approved.items()},
            "withheld": dict(self.withheld),
            "suspicious": [list(x) for x in self.suspicious],
            "recent": [[t, k, sorted(d)] for t, k, d in self.recent],
            "frozen": self.frozen.to_state() if self.frozen else None,
        }

    @classmethod
    def from_state(cls, raw: Mapping[str, Any]) -> AccountState:
        s = cls()
        s.first_ts = float(raw.get("first_ts", 0.0))
        s.last_ts = float(raw.get("last_ts", 0.0))
        s.learned = int(raw.get("learned", 0))
        how = [int(x) for x in raw.get("how", [])]
        if len(how) == 168:
            s.how = array("I", how)
            s.hod = array("I", (sum(how[d * 24 + h] for d in range(7)) for h in range(24)))
        s.domains = {str(k): float(v) for k, v in raw.get("domains", {}).items()}
        s.clients = {str(k): float(v) for k, v in raw.get("clients", {}).items()}
        s.authors = {str(k): float(v) for k, v in raw.get("authors", {}).items()}
        s.rate.restore(raw.get("rate", {}))
        s.approved = {
            str(k): (float(v[0]), int(v[1]), int(v[2]) if len(v) > 2 else None)
            for k, v in raw.get("approved", {}).items()
        }
        s.withheld = {str(k): float(v) for k, v in raw.get("withheld", {}).items()}
        s.suspicious.extend((float(a), float(b)) for a, b in raw.get("suspicious", []))
        s.recent.extend((float(t), int(k), frozenset(map(str, d))) for t, k, d in raw.get("recent", []))
        fz = raw.get("frozen")
        s.frozen = Freeze.from_state(fz) if fz else None
        return s


class AuthorState:
    """One operator across all accounts: the IPs they post from and how fast they post."""

    __slots__ = ("ips", "learned", "rate")

    IP_CAP = 16

    def __init__(self) -> None:
        self.ips: dict[str, float] = {}
        self.learned = 0
        self.rate = Rate()

    def to_state(self) -> dict[str, Any]:
        return {"ips": dict(self.ips), "learned": self.learned, "rate": self.rate.to_state()}

    @classmethod
    def from_state(cls, raw: Mapping[str, Any]) -> AuthorState:
        s = cls()
        s.ips = {str(k): float(v) for k, v in raw.get("ips", {}).items()}
        s.learned = int(raw.get("learned", 0))
        s.rate.restore(raw.get("rate", {}))
        return s


class OrgState:
    """Organisation-wide knowledge: domains, IPs, authors, recurring texts, overall rate."""

    __slots__ = ("authors", "domains", "first_ts", "ips", "learned", "rate", "texts")

    DOMAIN_CAP = 20000
    IP_CAP = 20000
    AUTHOR_CAP = 20000
    TEXT_CAP = 50000

    def __init__(self) -> None:
        self.first_ts = 0.0
        self.learned = 0
        # The organisation's capped LRU maps are large and lose their oldest entry on most
        # inserts once full: OrderedDict finds its first entry in O(1), where a dict scans past
        # the holes earlier deletions left at its front.
        self.domains: dict[str, float] = OrderedDict()
        self.ips: dict[str, float] = OrderedDict()
        self.authors: dict[str, AuthorState] = OrderedDict()
        self.texts: OrderedDict[int, float] = OrderedDict()
        self.rate = Rate(cap=100000)

    def author(self, name: str) -> AuthorState:
        a = self.authors.get(name)
        if a is None:
            a = self.authors[name] = AuthorState()
            if len(self.authors) > self.AUTHOR_CAP:
                del self.authors[next(iter(self.authors))]
        return a

    def learn_text(self, key: int, ts: float) -> None:
        """Remember a clean post's text (first seen time kept, recency refreshed)."""
        texts = self.texts
        if key in texts:
            texts.move_to_end(key)
        else:
            texts[key] = ts
        if len(texts) > self.TEXT_CAP:
            del texts[next(iter(texts))]

    def to_state(self) -> dict[str, Any]:
        return {
            "first_ts": self.first_ts,
            "learned": self.learned,
            "domains": dict(self.domains),
            "ips": dict(self.ips),
            "authors": {k: a.to_state() for k, a in self.authors.items()},
            "texts": [[k, v] for k, v in self.texts.items()],
            "rate": self.rate.to_state(),
        }

    @classmethod
    def from_state(cls, raw: Mapping[str, Any]) -> OrgState:
        s = cls()
        s.first_ts = float(raw.get("first_ts", 0.0))
        s.learned = int(raw.get("learned", 0))
        s.domains = OrderedDict((str(k), float(v)) for k, v in raw.get("domains", {}).items())
        s.ips = OrderedDict((str(k), float(v)) for k, v in raw.get("ips", {}).items())
        s.authors = OrderedDict(
            (str(k), AuthorState.from_state(v)) for k, v in raw.get("authors", {}).items()
        )
        s.texts = OrderedDict((int(k), float(v)) for k, v in raw.get("texts", []))
        s.rate.restore(raw.get("rate", {}))
        return s
