"""The detection engine: one post in, one decision out, learning as it goes.

``Engine(inventory, rules, settings)`` is pure: no clock (time comes with each event), no
files, no network. The daemon, the API gate and ``sentinel replay`` all call
``evaluate(event)``; the daemon persists ``snapshot()`` (or ``snapshot_account``) in its
store and calls ``restore()`` on start. A responder's lockdown calls ``freeze()``; from then
on every gate check of that account is blocked until ``unfreeze()``.

Per event:

1. An observed post of a gate check that was not allowed is ``skipped`` (never published).
   One of an allowed gate check was already judged: only the ``on_matched`` rules run
   (the published text must be the approved text).
2. A frozen account: gate checks are blocked, observed posts flagged.
3. Otherwise every rule in scope runs, the policy combines the scores into a verdict and
   maybe a freeze, and a clean post (not held, blocked or flagged) is learned into the
   account's, author's and organisation's baselines.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sentinel.engine import scoring
from sentinel.engine.campaigns import CampaignIndex
from sentinel.engine.context import Context
from sentinel.engine.events import Decision, Event, EventError, Finding, Freeze, format_ts
from sentinel.engine.facts import SCORED, event_facts
from sentinel.engine.links import extract_links, links_key
from sentinel.engine.lookalike import Brand
from sentinel.engine.rules import AccountRules, Rule, RuleSet, Runner
from sentinel.engine.settings import EngineSettings
from sentinel.engine.similarity import signature, text_key
from sentinel.engine.state import AccountState, AuthorState, OrgState, touch
from sentinel.inventory import Account, Inventory

STATE_VERSION = 1
FROZEN_RULE = "policy.frozen"


@dataclasses.dataclass(frozen=True, slots=True)
class Trace:
    """One rule considered for an event: its finding (None: nothing found) or why it was skipped."""

    rule: Rule
    finding: Finding | None
    skipped: str = ""


class Engine:
    """Decides posts against the rules and learns each account's normal (see the module notes)."""

    def __init__(self, inventory: Inventory, rules: RuleSet, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self.rules = rules
        self.inventory = inventory
        self.org = OrgState()
        self.campaigns = CampaignIndex()
        self._accounts: dict[str, AccountState] = {}
        self._tz: dict[str, ZoneInfo] = {}
        self._dirty: set[str] = set()
        self._brand = Brand.of(d for a in inventory for d in a.domains)
        self._acks: dict[tuple[str, str], tuple[tuple[str, float, str], ...]] = {}

    # -- configuration -------------------------------------------------------------------
    def set_rules(self, rules: RuleSet) -> None:
        """Swap the rule set (hot reload); the next event uses the new one."""
        self.rules = rules

    def set_acks(self, acks: Iterable[tuple[str, str, str, float, str]]) -> None:
        """Acknowledged findings (rule, account, key, until, by): a finding of that rule on that
        account about that key (a link's domain or host, the client, the author) is left out of
        the score until ``until`` and named in the decision's notes, unless the post is ``by``'s
        own (its author or sender: nobody silences findings on their own posts)."""
        out: dict[tuple[str, str], list[tuple[str, float, str]]] = {}
        for rule, account, key, until, by in acks:
            out.setdefault((rule, account), []).append((key.lower(), until, by.casefold()))
        self._acks = {k: tuple(v) for k, v in out.items()}

    def set_inventory(self, inventory: Inventory) -> None:
        """Swap the inventory (reload): the brand's domains and time zones are worked out anew."""
        self.inventory = inventory
        self._brand = Brand.of(d for a in inventory for d in a.domains)
        self._tz.clear()

    # -- freezing from outside -----------------------------------------------------------
    def freeze(
        self, account_id: str, ts: float, reason: str, event: str = "", until: float | None = None
    ) -> Freeze:
        """Freeze an account (responder lockdown): its gate checks are blocked from now on.

        Without ``until`` the freeze lasts until ``unfreeze``; an existing policy freeze that
        would lift by itself is made permanent.
        """
        self._account(account_id)
        st = self.state(account_id)
        if st.frozen is None:
            st.frozen = Freeze(account_id, ts, event, reason, format_ts(ts), until)
        elif st.frozen.until is not None and (until is None or until > st.frozen.until):
            st.frozen = dataclasses.replace(st.frozen, until=until, reason=f"{st.frozen.reason}; {reason}")
        self._dirty.add(account_id)
        return st.frozen

    def approve(
        self, account_id: str, post_id: str, ts: float, text: str, held_ts: float | None = None
    ) -> None:
        """A person approved a held post (checked at ``held_ts``): its publication (as ``post_id``,
        or found by its text) is reconciled like an allowed gate check's, not judged as posted
        outside the gate, and the post no longer counts as suspicious on the account (no
        escalation from it, no taint on its copies nor on its links)."""
        self._account(account_id)
        st = self.state(account_id)
        st.withheld.pop(post_id, None)
        st.remember_gate(post_id, ts, True, text_key(text), links_key(text))
        if held_ts is not None and any(t == held_ts for t, _ in st.suspicious):
            kept = [x for x in st.suspicious if x[0] != held_ts]
            st.suspicious.clear()
            st.suspicious.extend(kept)
        links = tuple(link.key for link in extract_links(text).links)
        self.campaigns.absolve(signature(text), ts, account_id, links)
        self._dirty.add(account_id)

    def unfreeze(self, account_id: str) -> bool:
        """Lift a freeze; returns whether the account was frozen. Recent suspicion is forgotten."""
        st = self._accounts.get(account_id)
        if st is None or st.frozen is None:
            return False
        st.frozen = None
        st.suspicious.clear()
        self._dirty.add(account_id)
        return True

    def note_suspicious(self, account_id: str, ts: float, score: float) -> None:
        """Something other than a post (a flagged account change) made the account suspicious:
        its next anomalous posts escalate as after a flagged post."""
        self.state(account_id).suspicious.append((ts, score))
        self._dirty.add(account_id)

    def frozen(self, account_id: str) -> Freeze | None:
        """The account's freeze, if it is frozen."""
        st = self._accounts.get(account_id)
        return st.frozen if st else None

    def frozen_accounts(self) -> dict[str, Freeze]:
        """Every frozen account's freeze, by account id."""
        return {k: s.frozen for k, s in self._accounts.items() if s.frozen is not None}

    # -- state -----------------------------------------------------------------------------
    def state(self, account_id: str) -> AccountState:
        """The account's learned state (created empty the first time)."""
        st = self._accounts.get(account_id)
        if st is None:
            st = self._accounts[account_id] = AccountState()
        return st

    def known(self, account_id: str) -> AccountState | None:
        """The account's learned state, if the engine has seen it (never creates one)."""
        return self._accounts.get(account_id)

    def snapshot(self) -> dict[str, Any]:
        """All learned state as plain JSON data (the campaign index is short-lived and left out)."""
        self._dirty.clear()
        return {
            "version": STATE_VERSION,
            "org": self.org.to_state(),
            "accounts": {k: s.to_state() for k, s in self._accounts.items()},
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Load a ``snapshot()``; raises ``EventError`` for data from another version."""
        if data.get("version") != STATE_VERSION:
            raise EventError(f"engine state version {data.get('version')!r} is not {STATE_VERSION}")
        self.org = OrgState.from_state(data.get("org", {}))
        self._accounts = {str(k): AccountState.from_state(v) for k, v in data.get("accounts", {}).items()}
        self._dirty.clear()

    def snapshot_org(self) -> dict[str, Any]:
        """The organisation's learned state alone, as plain JSON data."""
        return {"version": STATE_VERSION, "org": self.org.to_state()}

    def snapshot_account(self, account_id: str) -> dict[str, Any] | None:
        """One account's learned state as plain JSON data (None: never seen)."""
        st = self._accounts.get(account_id)
        return st.to_state() if st else None

    def restore_account(self, account_id: str, data: Mapping[str, Any]) -> None:
        """Load one account's ``snapshot_account``."""
        self._accounts[account_id] = AccountState.from_state(data)

    def drain_dirty(self) -> set[str]:
        """Accounts whose state changed since the last call (persist just those)."""
        out, self._dirty = self._dirty, set()
        return out

    # -- evaluation ------------------------------------------------------------------------
    def _account(self, account_id: str) -> Account:
        a = self.inventory.get(account_id)
        if a is None:
            raise EventError(f"account {account_id!r} is not in the inventory")
        return a

    def zone(self, a: Account) -> ZoneInfo:
        """The account's time zone (cached)."""
        tz = self._tz.get(a.timezone)
        if tz is None:
            tz = self._tz[a.timezone] = ZoneInfo(a.timezone)
        return tz

    def evaluate(self, event: Event, dry: bool = False, trace: list[Trace] | None = None) -> Decision:
        """Decide one event and learn from it.

        ``dry``: decide exactly as now but change nothing (no learning, no freeze kept, the
        gate's memory of approvals untouched); a would-be freeze is still in the decision.
        ``trace`` collects every rule considered and what it found (for ``explain``).
        Raises ``EventError`` for an account the inventory does not hold.
        """
        a = self._account(event.account)
        st = self._state_for(a.id, event.ts, dry)
        approved: tuple[int, int | None] | None = None
        if event.via == "observed":
            if event.post_id in st.withheld:
                if not dry:
                    del st.withheld[event.post_id]
                return Decision(event.id, a.id, event.via, "skipped", 0.0, "info")
            got = st.approved.get(event.post_id) if dry else st.approved.pop(event.post_id, None)
            if got is not None:
                approved = got[1], got[2]
        ctx = Context(
            event, a, st, self.org, self._brand, self.campaigns, self.settings, self.zone(a), approved
        )
        ctx.trace = trace
        ctx.dry = dry
        ctx.acks = self._acks
        rules = self.rules.for_account(a)
        if approved is not None:
            return self._matched(ctx, rules.run_matched)
        fz = self._freeze_in_force(st, event.ts, dry)
        findings, score = self._score(ctx, rules)
        verdict, freeze = self._freeze(ctx, findings, score, fz)
        if not dry:
            self._after(ctx, findings, score, verdict, frozen=fz is not None or freeze is not None)
        return Decision(
            event.id,
            a.id,
            event.via,
            verdict,
            score,
            scoring.severity(score, self.settings.policy),
            tuple(findings),
            freeze=freeze,
            frozen=st.frozen is not None or freeze is not None,
            observed=tuple(ctx.observed),
            would=self._would(ctx, findings, frozen=fz is not None),
            notes=tuple(ctx.notes),
        )

    def _state_for(self, account_id: str, ts: float, dry: bool) -> AccountState:
        """The account's state to judge with; a dry run neither creates nor marks it."""
        if dry:
            return self._accounts.get(account_id) or AccountState()
        st = self.state(account_id)
        self._dirty.add(account_id)
        if st.first_ts == 0.0:
            st.first_ts = ts
        if self.org.first_ts == 0.0:
            self.org.first_ts = ts
        return st

    @staticmethod
    def _freeze_in_force(st: AccountState, ts: float, dry: bool) -> Freeze | None:
        """The account's freeze at ``ts``; one that ran out (without further suspicious activity)
        is lifted."""
        fz = st.frozen
        if fz is not None and fz.until is not None and ts >= fz.until:
            if not dry:
                st.frozen = None
            return None
        return fz

    def _score(self, ctx: Context, rules: AccountRules) -> tuple[list[Finding], float]:
        """Run the rules (those that can fire on this event, or all of them when tracing) and
        combine their findings; the after-phase rules see the score of the others."""
        p = self.settings.policy
        findings: list[Finding] = []
        traced = ctx.trace is not None
        facts = 0 if traced else rules.facts | event_facts(ctx) | self.rules.text_facts(ctx)
        self._run(ctx, rules.run_main if traced else rules.main_for(facts), findings)
        score = scoring.combine(findings, p.group_damping)
        if not rules.after:
            return findings, score
        ctx.partial_score = score
        ctx.findings = tuple(findings)
        after = rules.run_after if traced else rules.after_for(facts | SCORED if score > 0 else facts)
        if after:
            self._run(ctx, after, findings)
            score = scoring.combine(findings, p.group_damping)
        return findings, score

    def _freeze(
        self, ctx: Context, findings: list[Finding], score: float, fz: Freeze | None
    ) -> tuple[str, Freeze | None]:
        """The verdict, and the freeze this event makes (None: none). A frozen account's gate
        checks are blocked (a suspicious post extends a freeze that would lift by itself); a
        score at the freeze threshold freezes the account now."""
        ev, st, p = ctx.event, ctx.state, self.settings.policy
        verdict = scoring.verdict(ev.via, score, p)
        blocked = "block" if ev.via == "gate" else verdict
        if fz is not None:
            if scoring.suspicious(score, p) and fz.until is not None and not ctx.dry:
                st.frozen = dataclasses.replace(fz, until=ev.ts + p.freeze_duration)
            since = fz.ts_text or format_ts(fz.ts)
            findings.append(
                Finding(FROZEN_RULE, "critical", f"account frozen since {since}: {fz.reason}", 0.0)
            )
            return blocked, None
        if not scoring.should_freeze(score, p):
            return verdict, None
        until = ev.ts + p.freeze_duration if p.freeze_duration > 0 else None
        freeze = Freeze(ctx.account.id, ev.ts, ev.id, scoring.freeze_reason(findings, score), ev.iso, until)
        if not ctx.dry:
            st.frozen = freeze
        return blocked, freeze

    def _would(self, ctx: Context, findings: list[Finding], frozen: bool) -> str:
        """What the decision would have been had the rules in observe mode counted."""
        if not ctx.observed:
            return ""
        p = self.settings.policy
        score = scoring.combine([*findings, *ctx.observed], p.group_damping)
        if not frozen and scoring.should_freeze(score, p):
            return "freeze"
        return scoring.verdict(ctx.event.via, score, p)

    def explain(self, event: Event) -> tuple[Decision, dict[str, Any]]:
        """Decide ``event`` as a dry run and say why (see ``sentinel.engine.explain``)."""
        from sentinel.engine.explain import explain

        return explain(self, event)

    @staticmethod
    def _run(ctx: Context, runners: Iterable[Runner], findings: list[Finding]) -> None:
        if ctx.trace is not None:
            Engine._run_traced(ctx, runners, findings, ctx.trace)
            return
        for check, params, exceptions, rule in runners:
            if exceptions is not None and exceptions.excludes_event(ctx):
                continue
            hit = check(ctx, params)
            if hit is not None and not (ctx.acks and ctx.acknowledged(rule.id)):
                f = Finding(rule.id, rule.severity, hit[0], rule.score * hit[1], rule.group, rule.attack)
                (ctx.observed if rule.mode == "observe" else findings).append(f)

    @staticmethod
    def _run_traced(
        ctx: Context, runners: Iterable[Runner], findings: list[Finding], trace: list[Trace]
    ) -> None:
        for check, params, exceptions, rule in runners:
            if exceptions is not None and exceptions.excludes_event(ctx):
                trace.append(Trace(rule, None, "an exception of the rule matches this post"))
                continue
            hit = check(ctx, params)
            f = None
            if hit is not None and ctx.acks and ctx.acknowledged(rule.id):
                trace.append(Trace(rule, None, f"acknowledged: {ctx.notes[-1]}"))
                continue
            if hit is not None:
                f = Finding(rule.id, rule.severity, hit[0], rule.score * hit[1], rule.group, rule.attack)
                (ctx.observed if rule.mode == "observe" else findings).append(f)
            trace.append(Trace(rule, f, ""))

    def _matched(self, ctx: Context, rules: Iterable[Runner]) -> Decision:
        ev = ctx.event
        findings: list[Finding] = []
        self._run(ctx, rules, findings)
        p = self.settings.policy
        score = scoring.combine(findings, p.group_damping)
        if ev.client and ctx.state.frozen is None and not ctx.dry:
            touch(ctx.state.clients, ev.client, ev.ts, AccountState.CLIENT_CAP)
        return Decision(
            ev.id,
            ctx.account.id,
            ev.via,
            scoring.verdict(ev.via, score, p),
            score,
            scoring.severity(score, p),
            tuple(findings),
            frozen=ctx.state.frozen is not None,
            observed=tuple(ctx.observed),
            would=self._would(ctx, findings, frozen=True),
            notes=tuple(ctx.notes),
        )

    def _after(self, ctx: Context, findings: list[Finding], score: float, verdict: str, frozen: bool) -> None:
        """After the decision: remember the post, add it to its campaign clusters and, when it is
        clean and the account not frozen, learn it into the baselines."""
        ev = ctx.event
        author = self.org.author(ev.author) if ev.author else None
        bad = scoring.suspicious(score, self.settings.policy)
        self._remember(ctx, score, verdict, author, bad)
        sig = ctx.signature
        if sig.words >= 3 or ctx.new_link_keys:
            self._join_campaigns(ctx, findings, verdict, author)
        if bad or frozen:
            return
        self._learn_rates(ctx, findings, author)
        self._learn_sources(ctx, author)
        if sig.words >= 3:
            self.org.learn_text(sig.exact, ev.ts)

    def _remember(
        self, ctx: Context, score: float, verdict: str, author: AuthorState | None, bad: bool
    ) -> None:
        """What every post leaves behind, clean or not: rate windows, the account's recent posts
        with foreign links, its suspicious posts and the gate's memory of its checks."""
        ev, st = ctx.event, ctx.state
        st.rate.add(ev.ts)
        self.org.rate.add(ev.ts)
        if ctx.foreign_links:
            st.remember_post(ev.ts, ctx.template, ctx.foreign_domains)
        if author is not None:
            author.rate.add(ev.ts)
        if bad:
            st.suspicious.append((ev.ts, score))
        if ev.via == "gate":
            allowed = verdict == "allow"
            if allowed:
                st.remember_gate(ev.post_id, ev.ts, True, ctx.template, ctx.links_key)
            else:
                st.remember_gate(ev.post_id, ev.ts, False, 0)

    def _join_campaigns(
        self, ctx: Context, findings: list[Finding], verdict: str, author: AuthorState | None
    ) -> None:
        """Add the post to its text's cluster and its new links' clusters. A cluster is tainted by
        a post suspicious on its own merits (not for being a copy), and sanctioned by a clean
        gate check from an author and address this account knows."""
        p = self.settings.policy
        campaign_rules = self.rules.campaign_rules
        own_findings = [f for f in findings if f.rule not in campaign_rules]
        own = scoring.combine(own_findings, p.group_damping)
        suspicious = scoring.suspicious(own, p)
        sanctioned = verdict == "allow" and not suspicious and self._known_source(ctx, author)
        sig = ctx.signature
        cluster = ctx.cluster if sig.words >= 3 else None
        taint = ""
        if suspicious and (scoring.should_freeze(own, p) or cluster is None or not cluster.sanctioned):
            taint = max(own_findings, key=lambda f: f.score).rule
        keys = ctx.new_link_keys
        template = ctx.template if keys else 0
        self.campaigns.add(sig, ctx.event.ts, ctx.account.id, cluster, sanctioned, taint, keys, template)

    @staticmethod
    def _known_source(ctx: Context, author: AuthorState | None) -> bool:
        """A gate check by an author who posted for this account before, from an address of theirs."""
        ev = ctx.event
        return (
            ev.via == "gate"
            and ev.author in ctx.state.authors
            and author is not None
            and (not ev.ip or ev.ip in author.ips)
        )

    def _learn_rates(self, ctx: Context, findings: list[Finding], author: AuthorState | None) -> None:
        """A clean post counts towards the usual rates (not while that rate bursts: a burst is
        not learned as normal), the learned counts and the account's hours."""
        ev, st, org = ctx.event, ctx.state, self.org
        subjects = self.rules.burst_subjects
        bursting = {subjects[f.rule] for f in findings if f.rule in subjects}
        if "account" not in bursting:
            st.rate.record(ev.ts)
        if "org" not in bursting:
            org.rate.record(ev.ts)
        if author is not None:
            if "author" not in bursting:
                author.rate.record(ev.ts)
            author.learned += 1
        st.learned += 1
        st.last_ts = ev.ts
        st.learn_time(ctx.hour_of_week)
        org.learned += 1

    def _learn_sources(self, ctx: Context, author: AuthorState | None) -> None:
        """A clean post's domains, client, author and address become known."""
        ev, st, org, ts = ctx.event, ctx.state, self.org, ctx.event.ts
        for link in ctx.links:
            d = link.domain or link.host
            touch(st.domains, d, ts, AccountState.DOMAIN_CAP)
            touch(org.domains, d, ts, OrgState.DOMAIN_CAP)
        if ev.client:
            touch(st.clients, ev.client, ts, AccountState.CLIENT_CAP)
        if author is not None:
            touch(st.authors, ev.author, ts, AccountState.AUTHOR_CAP)
            if ev.ip:
                touch(author.ips, ev.ip, ts, AuthorState.IP_CAP)
        if ev.ip:
            touch(org.ips, ev.ip, ts, OrgState.IP_CAP)
