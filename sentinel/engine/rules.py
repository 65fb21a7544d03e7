"""Rules: a detector bound to parameters, a severity and score, a scope and exceptions.

Rules come from YAML files (see ``sentinel.engine.loader``). A ``RuleSet`` is immutable;
hot reload swaps the whole set at once, so an event is always judged by one consistent set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sentinel.engine.context import Context
from sentinel.engine.detectors import DetectorSpec
from sentinel.engine.detectors.base import Check, Subject
from sentinel.engine.events import Severity
from sentinel.engine.facts import FIRST_FREE_BIT, account_facts
from sentinel.engine.prefilter import LiteralIndex, Requirement, fold
from sentinel.inventory import Account

SEVERITY_SCORES: dict[str, float] = {"info": 0.0, "low": 1.0, "medium": 2.0, "high": 4.0, "critical": 8.0}


@dataclass(frozen=True)
class Scope:
    """Which accounts a rule applies to; every key given must match (empty: all accounts)."""

    accounts: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    platforms: frozenset[str] = frozenset()
    publishing: frozenset[str] = frozenset()

    def matches(self, a: Account) -> bool:
        if self.accounts and a.id not in self.accounts:
            return False
        if self.tags and not self.tags.intersection(a.tags):
            return False
        if self.platforms and a.platform not in self.platforms:
            return False
        return not (self.publishing and a.publishing not in self.publishing)


@dataclass(frozen=True)
class Exceptions:
    """When a rule does not apply: any one matching key is enough."""

    accounts: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    platforms: frozenset[str] = frozenset()
    authors: frozenset[str] = frozenset()
    clients: frozenset[str] = frozenset()
    via: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    text: tuple[re.Pattern[str], ...] = ()

    def excludes_account(self, a: Account) -> bool:
        return a.id in self.accounts or bool(self.tags.intersection(a.tags)) or a.platform in self.platforms

    @cached_property
    def per_event(self) -> bool:
        return bool(self.authors or self.clients or self.via or self.domains or self.text)

    def excludes_event(self, ctx: Context) -> bool:
        ev = ctx.event
        if ev.author and ev.author in self.authors:
            return True
        if ev.client in self.clients or ev.via in self.via:
            return True
        if self.domains:
            for link in ctx.links:
                if (link.domain or link.host) in self.domains or link.host in self.domains:
                    return True
        return any(p.search(ev.text) for p in self.text)


@dataclass(frozen=True)
class Fixture:
    """A sample for ``sentinel rules test``: events (after an optional generated history) and the
    expected outcome for the last one."""

    name: str
    events: tuple[Mapping[str, Any], ...]
    expect: str  # "finding" or "none"
    detail: str = ""
    account: Mapping[str, Any] = field(default_factory=dict)
    history: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    detector: DetectorSpec
    params: Mapping[str, Any]
    severity: Severity
    score: float
    group: str
    scope: Scope = Scope()
    exceptions: Exceptions = Exceptions()
    fixtures: tuple[Fixture, ...] = ()
    enabled: bool = True
    mode: str = "enforce"
    """``observe``: a trial; findings are reported and counted but never change a decision."""
    attack: tuple[str, ...] = ()
    """MITRE ATT&CK technique ids the rule detects (carried into findings, incidents, alerts)."""
    file: str = ""
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else "<memory>"


Runner = tuple[Check, Mapping[str, Any], "Exceptions | None", Rule]
"""A rule ready to run: its check, parameters, per-event exceptions (None: none) and the rule."""


def _runners(rules: tuple[Rule, ...]) -> tuple[Runner, ...]:
    return tuple(
        (r.detector.check, r.params, r.exceptions if r.exceptions.per_event else None, r) for r in rules
    )


class AccountRules:
    """The rules for accounts alike (same rules in scope, same account facts), ready to run.

    ``main_for(facts)`` and ``after_for(facts)`` give the runners whose required facts
    (``sentinel.engine.facts``) all hold, in rule order, worked out once per combination.
    """

    __slots__ = (
        "_after",
        "_main",
        "after",
        "facts",
        "main",
        "matched",
        "run_after",
        "run_main",
        "run_matched",
    )

    def __init__(
        self,
        main: tuple[Rule, ...],
        after: tuple[Rule, ...],
        matched: tuple[Rule, ...],
        facts: int,
        needs: Mapping[int, int],
    ) -> None:
        self.main = main
        self.after = after
        self.matched = matched
        self.facts = facts
        """The facts the account fixes (gated, business hours)."""
        self.run_main = _runners(main)
        self.run_after = _runners(after)
        self.run_matched = _runners(matched)
        self._main = _Selection(self.run_main, tuple(needs[id(r)] for r in main))
        self._after = _Selection(self.run_after, tuple(needs[id(r)] for r in after))

    def main_for(self, facts: int) -> tuple[Runner, ...]:
        """The main-phase runners that can fire on an event with these facts."""
        return self._main.get(facts)

    def after_for(self, facts: int) -> tuple[Runner, ...]:
        """The after-phase runners that can fire on an event with these facts."""
        return self._after.get(facts)


class _Selection:
    """Runners picked by the facts they need, one tuple per combination of facts met."""

    __slots__ = ("_by_facts", "_needs", "_runners")

    CAP = 4096

    def __init__(self, runners: tuple[Runner, ...], needs: tuple[int, ...]) -> None:
        self._runners = runners
        self._needs = needs
        self._by_facts: dict[int, tuple[Runner, ...]] = {}

    def get(self, facts: int) -> tuple[Runner, ...]:
        got = self._by_facts.get(facts)
        if got is None:
            got = tuple(r for r, need in zip(self._runners, self._needs, strict=True) if not need & ~facts)
            if len(self._by_facts) >= self.CAP:
                self._by_facts.clear()
            self._by_facts[facts] = got
        return got


class RuleSet:
    """An immutable set of rules, with the rules for each account worked out once."""

    def __init__(self, rules: tuple[Rule, ...] = (), sources: tuple[str, ...] = ()) -> None:
        self.rules = rules
        self.sources = sources
        self._by_id = {r.id: r for r in rules}
        self.campaign_rules = frozenset(r.id for r in rules if r.detector.name.startswith("campaign"))
        """Rules that judge a post by its copies elsewhere (their findings never taint a campaign)."""
        self.burst_subjects = {r.id: r.params.get("subject") for r in rules if r.detector.name == "burst"}
        """Rate rules by id: whose rate (account, author, org) each one watches."""
        self._cache: dict[str, tuple[Account, AccountRules]] = {}
        self._alike: dict[tuple[tuple[int, ...], int], AccountRules] = {}
        self.vault = _runners(tuple(r for r in rules if r.enabled and r.detector.subject == "vault"))
        """Rules for Vault requests (a request is not judged per account: scopes do not apply)."""
        self._account_events: dict[str, tuple[Account, tuple[Runner, ...]]] = {}
        self._needs, self._texts = _needs(r for r in rules if r.enabled and r.detector.subject == "post")

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rules)

    def get(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    def _in_scope(self, a: Account, subject: Subject) -> tuple[Rule, ...]:
        """The enabled rules about ``subject`` whose scope and account exceptions let ``a`` in."""
        return tuple(
            r
            for r in self.rules
            if r.enabled
            and r.detector.subject == subject
            and r.scope.matches(a)
            and not r.exceptions.excludes_account(a)
        )

    def for_account(self, a: Account) -> AccountRules:
        """The post rules in scope for ``a`` (accounts with the same rules and facts share them)."""
        # Keyed by id and checked by identity: hashing a whole Account per event costs more than
        # working the list out again after an inventory reload.
        got = self._cache.get(a.id)
        if got is not None and got[0] is a:
            return got[1]
        live = self._in_scope(a, "post")
        key = (tuple(map(id, live)), account_facts(a))
        rules = self._alike.get(key)
        if rules is None:
            main = tuple(r for r in live if r.detector.phase == "main")
            after = tuple(r for r in live if r.detector.phase == "after")
            matched = tuple(r for r in live if r.detector.on_matched)
            rules = self._alike[key] = AccountRules(main, after, matched, key[1], self._needs)
        if len(self._cache) > 100000:
            self._cache.clear()
        self._cache[a.id] = (a, rules)
        return rules

    def text_facts(self, ctx: Context) -> int:
        """The bits of the text rules one of whose required strings the post holds."""
        bits = 0
        for include_links, index in self._texts:
            bits |= index.hits(fold(ctx.content(include_links)))
        return bits

    def for_account_events(self, a: Account) -> tuple[Runner, ...]:
        """The rules for this account's account events (scope and account exceptions applied)."""
        got = self._account_events.get(a.id)
        if got is None or got[0] is not a:
            got = self._account_events[a.id] = (a, _runners(self._in_scope(a, "account")))
        return got[1]


def _needs(rules: Iterable[Rule]) -> tuple[dict[int, int], tuple[tuple[bool, LiteralIndex], ...]]:
    """Each post rule's required fact bits (by ``id``), and one literal index per kind of text
    (with links or without) that sets a text rule's own bit when the post holds its strings."""
    needs: dict[int, int] = {}
    sets: dict[bool, list[tuple[int, Requirement]]] = {}
    bit = 1 << FIRST_FREE_BIT
    for r in rules:
        need = r.detector.need(r.params)
        if r.detector.literals is not None:
            include_links, req = r.detector.literals(r.params)
            if req is not None:
                sets.setdefault(include_links, []).append((bit, req))
                need |= bit
                bit <<= 1
        needs[id(r)] = need
    return needs, tuple((k, LiteralIndex(v)) for k, v in sets.items())
