"""What a detector sees: the event, its account, the learned state and derived features.

Features (links, local time, text signature, campaign cluster) are computed once per event
and only when a rule asks for them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar, overload
from zoneinfo import ZoneInfo

from sentinel.engine.campaigns import CampaignIndex, Cluster
from sentinel.engine.confusables import Reading, read
from sentinel.engine.events import Event, Finding, format_ts
from sentinel.engine.links import MAX_LINKS, Link, TextLinks, extract_links, links_key
from sentinel.engine.lookalike import Brand
from sentinel.engine.settings import EngineSettings
from sentinel.engine.similarity import Signature, signature, text_key
from sentinel.engine.state import AccountState, AuthorState, OrgState
from sentinel.inventory import Account

_T = TypeVar("_T")


class lazy(Generic[_T]):
    """A computed-once attribute, like ``functools.cached_property`` but without its lock.

    A context lives for one event on one thread; the first read stores the value in the
    instance dictionary, so later reads never reach the descriptor again.
    """

    def __init__(self, fn: Callable[[Any], _T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> lazy[_T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> _T: ...
    def __get__(self, obj: object, owner: type | None = None) -> _T | lazy[_T]:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


class Context:
    def __init__(
        self,
        event: Event,
        account: Account,
        state: AccountState,
        org: OrgState,
        brand: Brand,
        campaigns: CampaignIndex,
        settings: EngineSettings,
        tz: ZoneInfo,
        approved: tuple[int, int | None] | None = None,
    ) -> None:
        self.event = event
        self.account = account
        self.state = state
        self.org = org
        self.brand = brand
        self.campaigns = campaigns
        self.settings = settings
        self.tz = tz
        self.approved_text: int | None = approved[0] if approved else None
        self.approved_links: int | None = approved[1] if approved else None
        """For an observed post of an allowed gate check: the approved text's key and the key of
        the links it approved (``None`` when not remembered)."""
        self.partial_score = 0.0
        """The score of the findings so far (for rules that run after the others)."""
        self.findings: tuple[Finding, ...] = ()
        """The findings so far (for rules that run after the others)."""
        self.observed: list[Finding] = []
        """Findings of rules in observe mode (reported, never scored)."""
        self.trace: list[Any] | None = None
        """When explaining: every rule considered (``sentinel.engine.engine.Trace``)."""
        self.dry = False
        """A dry run: decide, change nothing."""
        self.acks: dict[tuple[str, str], tuple[tuple[str, float, str], ...]] = {}
        """Acknowledged findings by (rule, account): (key, until, who acknowledged, casefolded)."""
        self.notes: list[str] = []

    def acknowledged(self, rule: str) -> bool:
        """Whether a finding of ``rule`` here is acknowledged (noted in ``notes`` when it is):
        by someone other than the post's author and sender."""
        got = self.acks.get((rule, self.account.id))
        if not got:
            return False
        ev = self.event
        keys = {ev.client.lower(), ev.author.lower()} | {
            k for link in self.links for k in (link.host, link.domain or link.host)
        }
        # the client and the links are whatever the sender writes: an acknowledgement by the
        # post's own author or sender would let them exempt themselves under any key
        own = {ev.author.casefold(), ev.caller.casefold()} - {""}
        for key, until, by in got:
            if ev.ts < until and key in keys and by not in own:
                self.notes.append(f"{rule} acknowledged for {key} until {format_ts(until)}")
                return True
        return False

    @property
    def matched(self) -> bool:
        return self.approved_text is not None

    @property
    def out_of_band(self) -> bool:
        return self.event.via == "observed" and self.account.gated and self.approved_text is None

    @lazy
    def mature(self) -> bool:
        learning = self.settings.learning
        return self.state.mature(self.event.ts, learning.min_posts, learning.min_days)

    @lazy
    def org_mature(self) -> bool:
        return self.org.learned >= self.settings.learning.org_min_posts

    @lazy
    def author(self) -> AuthorState | None:
        a = self.event.author
        return self.org.authors.get(a) if a else None

    @lazy
    def parsed(self) -> TextLinks:
        return extract_links(self.event.text, MAX_LINKS)

    def content(self, include_links: bool = False) -> str:
        """The text the content rules match: ``reading`` (or ``reading_with_links``), and an
        all-ASCII text as it is without building either."""
        text = self.event.text if include_links else self.parsed.clean_text
        if text.isascii():
            return text
        return (self.reading_with_links if include_links else self.reading).text

    @lazy
    def reading(self) -> Reading:
        """The post's words as the content rules read them: invisible characters gone and
        look-alike letters read as the Latin words they imitate."""
        return read(self.parsed.clean_text)

    @lazy
    def reading_with_links(self) -> Reading:
        """The post's text, links included as written, with look-alike letters read as Latin."""
        return read(self.event.text)

    @property
    def links(self) -> tuple[Link, ...]:
        return self.parsed.links

    @lazy
    def foreign_links(self) -> tuple[Link, ...]:
        """Links to domains the organisation does not own."""
        own = self.account.domains
        out = []
        for link in self.parsed.links:
            d = link.domain
            if d is not None and (self.brand.owns(d) or d in own or link.host in own):
                continue
            out.append(link)
        return tuple(out)

    @lazy
    def foreign_domains(self) -> frozenset[str]:
        return frozenset(link.domain or link.host for link in self.foreign_links)

    @lazy
    def local(self) -> datetime:
        return datetime.fromtimestamp(self.event.ts, self.tz)

    @lazy
    def hour_of_week(self) -> int:
        t = self.local
        return t.weekday() * 24 + t.hour

    @lazy
    def signature(self) -> Signature:
        return signature(self.event.text)

    @lazy
    def template(self) -> int:
        """The key of the post's words without its links (one template, whatever it links to)."""
        return text_key(self.event.text)

    @lazy
    def links_key(self) -> int:
        """The key of where the post links to (``links_key``), whatever its words."""
        return links_key(self.event.text)

    @lazy
    def cluster(self) -> Cluster | None:
        if self.signature.words < 3:
            return None
        return self.campaigns.match(self.signature, self.event.ts)

    @lazy
    def new_link_keys(self) -> tuple[str, ...]:
        """Targets of foreign links the organisation has not linked to before."""
        keys = []
        for link in self.foreign_links:
            if (link.domain or link.host) not in self.org.domains:
                keys.append(link.key)
        return tuple(keys)

    def link_clusters(self) -> list[tuple[str, Cluster]]:
        out = []
        for key in self.new_link_keys:
            c = self.campaigns.link(key, self.event.ts)
            if c is not None:
                out.append((key, c))
        return out
