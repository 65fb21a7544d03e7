"""Rules: a detector bound to parameters, a severity and score, a scope and exceptions.

Rules come from YAML files (see ``sentinel.engine.loader``). A ``RuleSet`` is immutable;
hot reload swaps the whole set at once, so an event is always judged by one consistent set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sentinel.engine.context import Context
from sentinel.engine.detectors import DetectorSpec
from sentinel.engine.detectors.base import Check
from sentinel.engine.events import Severity
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


@dataclass(frozen=True)
class AccountRules:
    main: tuple[Rule, ...]
    after: tuple[Rule, ...]
    matched: tuple[Rule, ...]
    account: Account | None = None
    """The account these were worked out for (the cache checks it is still the same object)."""
    run_main: tuple[Runner, ...] = ()
    run_after: tuple[Runner, ...] = ()
    run_matched: tuple[Runner, ...] = ()


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
        self._cache: dict[str, AccountRules] = {}
        self.vault = _runners(tuple(r for r in rules if r.enabled and r.detector.subject == "vault"))
        """Rules for Vault requests (a request is not judged per account: scopes do not apply)."""
        self._account_events: dict[str, tuple[Account, tuple[Runner, ...]]] = {}

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rules)

    def get(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    def for_account(self, a: Account) -> AccountRules:
        # Keyed by id and checked by identity: hashing a whole Account per event costs more than
        # working the list out again after an inventory reload.
        got = self._cache.get(a.id)
        if got is None or got.account is not a:
            live = [
                r
                for r in self.rules
                if r.enabled
                and r.detector.subject == "post"
                and r.scope.matches(a)
                and not r.exceptions.excludes_account(a)
            ]
            main = tuple(r for r in live if r.detector.phase == "main")
            after = tuple(r for r in live if r.detector.phase == "after")
            matched = tuple(r for r in live if r.detector.on_matched)
            got = AccountRules(main, after, matched, a, _runners(main), _runners(after), _runners(matched))
            if len(self._cache) > 100000:
                self._cache.clear()
            self._cache[a.id] = got
        return got

    def for_account_events(self, a: Account) -> tuple[Runner, ...]:
        """The rules for this account's account events (scope and account exceptions applied)."""
        got = self._account_events.get(a.id)
        if got is None or got[0] is not a:
            live = tuple(
                r
                for r in self.rules
                if r.enabled
                and r.detector.subject == "account"
                and r.scope.matches(a)
                and not r.exceptions.excludes_account(a)
            )
            got = self._account_events[a.id] = (a, _runners(live))
        return got[1]
