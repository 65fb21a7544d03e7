"""Grouping similar posts across accounts to find campaigns (the COMPA idea).

Every evaluated post joins a *cluster* of near-duplicate texts (MinHash LSH, see
``similarity``) and one cluster per new link target it carries. A cluster remembers which
accounts posted it and when, whether one member was a clean gate-approved post by a known
author (*sanctioned*: the organisation's own coordinated launch) and whether one member
was found suspicious (*tainted*: every later copy inherits the suspicion). Clusters are
forgotten ``memory`` seconds after their last post, so the index is bounded by the
organisation's recent posting volume.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from sentinel.engine.similarity import Signature

MAX_SIGS = 4


@dataclass(slots=True)
class Cluster:
    id: int
    first_ts: float
    last_ts: float
    accounts: dict[str, float] = field(default_factory=dict)
    sigs: list[Signature] = field(default_factory=list)
    sanctioned: bool = False
    taint: str = ""
    taint_ts: float = 0.0
    taint_account: str = ""
    members: int = 0
    top_ts: float = float("-inf")
    """The latest time any member joined at."""
    lag: float = 0.0
    """How far a member ever joined before ``top_ts`` (0 while posts arrive in time order)."""

    def accounts_since(self, since: float, exclude: str = "") -> int:
        # ``accounts`` is in joining order and a member joins at most ``lag`` before any earlier
        # one, so scanning from the newest can stop at the first member older than since - lag.
        stop = since - self.lag
        n = 0
        for a, t in reversed(self.accounts.items()):
            if t >= since:
                if a != exclude:
                    n += 1
            elif t < stop:
                break
        return n


class CampaignIndex:
    """Recent clusters of similar texts and of shared new links, organisation-wide."""

    def __init__(self, memory: float = 6 * 3600.0, threshold: float = 0.5) -> None:
        self.memory = memory
        self.threshold = threshold
        self._next = 1
        self._clusters: dict[int, Cluster] = {}
        self._bands: dict[int, int] = {}
        self._exact: dict[int, int] = {}
        self._links: dict[str, Cluster] = {}
        # When each post joined which cluster (id) or link cluster (key, id 0), oldest first; three
        # parallel queues rather than a tuple per post keep the garbage collector's work down.
        self._expiry: deque[float] = deque()
        self._expiry_ids: deque[int] = deque()
        self._expiry_links: deque[str] = deque()

    def __len__(self) -> int:
        return len(self._clusters) + len(self._links)

    def match(self, sig: Signature, ts: float) -> Cluster | None:
        """The cluster this text belongs to, if any (nothing is added)."""
        self._sweep(ts)
        clusters, bands = self._clusters, self._bands
        cid = self._exact.get(sig.exact)
        if cid is not None and cid in clusters:
            return clusters[cid]
        best: Cluster | None = None
        best_sim = self.threshold
        seen: set[int] = set()
        for key in sig.band_keys():
            cid = bands.get(key)
            if cid is None or cid in seen:
                continue
            seen.add(cid)
            c = clusters.get(cid)
            if c is None:
                continue
            sim = max(map(sig.similarity, c.sigs))
            if sim >= best_sim:
                best, best_sim = c, sim
        return best

    def link(self, key: str, ts: float) -> Cluster | None:
        self._sweep(ts)
        return self._links.get(key)

    def add(
        self,
        sig: Signature,
        ts: float,
        account: str,
        cluster: Cluster | None,
        sanctioned: bool,
        taint: str,
        links: tuple[str, ...] = (),
    ) -> Cluster:
        """Record a post in its cluster (a new one when ``cluster`` is None)."""
        if cluster is None or cluster.id not in self._clusters:
            cluster = Cluster(id=self._next, first_ts=ts, last_ts=ts)
            self._next += 1
            self._clusters[cluster.id] = cluster
        if sig.exact not in self._exact and len(cluster.sigs) < MAX_SIGS:
            cluster.sigs.append(sig)
            self._exact[sig.exact] = cluster.id
            for key in sig.band_keys():
                self._bands[key] = cluster.id
        self._join(cluster, ts, account, sanctioned, taint)
        self._expire_later(ts, cluster.id, "")
        for lk in links:
            lc = self._links.get(lk)
            if lc is None:
                lc = self._links[lk] = Cluster(id=0, first_ts=ts, last_ts=ts)
            self._join(lc, ts, account, sanctioned, taint)
            self._expire_later(ts, 0, lk)
        return cluster

    @staticmethod
    def _join(c: Cluster, ts: float, account: str, sanctioned: bool, taint: str) -> None:
        c.last_ts = ts
        c.members += 1
        if ts >= c.top_ts:
            c.top_ts = ts
        elif c.top_ts - ts > c.lag:
            c.lag = c.top_ts - ts
        if account in c.accounts:
            del c.accounts[account]
        c.accounts[account] = ts
        if len(c.accounts) > 512:
            del c.accounts[next(iter(c.accounts))]
        c.sanctioned = c.sanctioned or sanctioned
        if taint:
            c.taint, c.taint_ts, c.taint_account = taint, ts, account

    def _expire_later(self, ts: float, cid: int, link: str) -> None:
        self._expiry.append(ts)
        self._expiry_ids.append(cid)
        self._expiry_links.append(link)

    def _sweep(self, ts: float) -> None:
        cutoff = ts - self.memory
        exp = self._expiry
        if not exp or exp[0] >= cutoff:
            return
        ids, links = self._expiry_ids, self._expiry_links
        while exp and exp[0] < cutoff:
            exp.popleft()
            cid = ids.popleft()
            lk = links.popleft()
            if lk:
                lc = self._links.get(lk)
                if lc is not None and lc.last_ts < cutoff:
                    del self._links[lk]
                continue
            c = self._clusters.get(cid)
            if c is None or c.last_ts >= cutoff:
                continue
            del self._clusters[cid]
            # the keys this cluster registered: each of its signatures' exact key and band keys
            for sig in c.sigs:
                if self._exact.get(sig.exact) == cid:
                    del self._exact[sig.exact]
                for k in sig.band_keys():
                    if self._bands.get(k) == cid:
                        del self._bands[k]
