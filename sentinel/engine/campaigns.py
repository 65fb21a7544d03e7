"""Grouping similar posts across accounts to find campaigns (the COMPA idea).

Every evaluated post joins a *cluster* of near-duplicate texts (MinHash LSH, see
``similarity``) and one cluster per new link target it carries. A cluster remembers which
accounts posted it and when, whether one member was a clean gate-approved post by a known
author (*sanctioned*: the organisation's own coordinated launch) and whether one member
was found suspicious (*tainted*: every later copy inherits the suspicion). A post carrying
links new to the organisation also joins its *template* group (its words without the links,
``similarity.text_key``), which remembers each account's new links: one template sent from
several accounts, each copy with another fresh link, is a campaign rotating domains to dodge
block lists. Clusters are forgotten ``memory`` seconds after their last post, so the index is
bounded by the organisation's recent posting volume.
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


@dataclass(slots=True)
class TemplateGroup:
    """The accounts that recently posted one template with links new to the organisation."""

    last_ts: float
    accounts: dict[str, tuple[float, tuple[str, ...]]] = field(default_factory=dict)
    """Account -> when it last posted the template, and that copy's new link keys."""
    sanctioned: bool = False

    def others_since(self, since: float, account: str, links: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
        """Other accounts that posted the template since ``since`` with a link this copy lacks."""
        mine = set(links)
        return {
            a: lk
            for a, (t, lk) in self.accounts.items()
            if t >= since and a != account and not mine.issuperset(lk)
        }


_TEMPLATE = "\x00"
"""Prefix of a template group's key in the expiry queue (never the start of a link key)."""


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
        self._templates: dict[int, TemplateGroup] = {}
        # When each post joined which cluster (id) or link cluster (key, id 0), oldest first; three
        # parallel queues rather than a tuple per post keep the garbage collector's work down.
        self._expiry: deque[float] = deque()
        self._expiry_ids: deque[int] = deque()
        self._expiry_links: deque[str] = deque()

    def __len__(self) -> int:
        return len(self._clusters) + len(self._links) + len(self._templates)

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

    def template(self, key: int, ts: float) -> TemplateGroup | None:
        self._sweep(ts)
        return self._templates.get(key)

    def absolve(self, sig: Signature, ts: float, account: str, links: tuple[str, ...]) -> None:
        """A person approved a post of ``account``: lift the taint it gave its text's cluster and
        its links' clusters (a taint another account gave them stays)."""
        clusters = [self.match(sig, ts) if sig.words >= 3 else None, *(self._links.get(k) for k in links)]
        for c in clusters:
            if c is not None and c.taint and c.taint_account == account:
                c.taint = ""

    def add(
        self,
        sig: Signature,
        ts: float,
        account: str,
        cluster: Cluster | None,
        sanctioned: bool,
        taint: str,
        links: tuple[str, ...] = (),
        template: int = 0,
    ) -> Cluster:
        """Record a post in its cluster (a new one when ``cluster`` is None), its new ``links``
        in theirs and, with links, its ``template`` (words without links) in its group."""
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
        if links and template:
            group = self._templates.get(template)
            if group is None:
                group = self._templates[template] = TemplateGroup(ts)
            group.last_ts = max(group.last_ts, ts)
            group.accounts.pop(account, None)
            group.accounts[account] = (ts, links)
            if len(group.accounts) > 512:
                del group.accounts[next(iter(group.accounts))]
            group.sanctioned = group.sanctioned or sanctioned
            self._expire_later(ts, template, _TEMPLATE)
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
            if lk == _TEMPLATE:
                group = self._templates.get(cid)
                if group is not None and group.last_ts < cutoff:
                    del self._templates[cid]
                continue
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
