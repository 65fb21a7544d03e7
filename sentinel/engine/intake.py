"""The engine's intake: every kind of event the engine judges, as the dicts the sources produce.

``Intake(engine).feed(raw)`` takes one decoded JSON object, exactly as ``sentinel replay``
reads it and as the daemon's sources hand it over:

* a post event (gate check or observed post): judged by ``Engine.evaluate``;
* an account event (``"kind": "account"``, see ``sentinel.engine.account_events``) from the
  account watcher's snapshot diffs;
* a Vault audit entry (has ``type`` and ``request``, see ``sentinel.engine.vault_events``)
  as the file audit device writes it. Each request is decided once: on its response entry;
  a request entry whose response has not come within ``pending_timeout`` (event time) is
  decided on its own, and ``flush()`` decides whatever is still waiting (end of a replay).

It returns the decisions made (possibly none, for a request entry; possibly several, when
waiting requests time out). A post gets a ``Decision``; an account event or a Vault request
a ``Judgement`` (``ok`` or ``flagged``), which carries the freezes it caused (an account event
may freeze its account before any post) and, for a Vault request whose score reaches the
freeze score, a ``Contain`` of the identity: the caller's Vault entity (a token without an
entity is its own identity, by accessor), never a name from the request. Containing freezes
the accounts whose credentials the identity read within ``contain_lookback`` when
``contain_freezes = "read"``, and each account it reads within that long afterwards; after
that the episode is over (the identity is disabled, or a person re-enabled it) and its
requests are judged afresh.
Sentinel's own requests (``self``) and account changes (``own_*``) are its work and never
judged. At most ``identity_cap`` identities are remembered (a flood of entity-less tokens
forgets the least recently seen first, never a contained one). The daemon's guard (``sentinel.post_guard``) hands its sources' dicts to the same
``feed`` and acts on the freezes and containments it returns.

Like the engine, the intake is pure: time comes with the events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sentinel.engine import scoring
from sentinel.engine.account_events import AccountEvent, is_account_event, parse_account_event
from sentinel.engine.detectors.account import PRIVILEGED
from sentinel.engine.engine import Engine
from sentinel.engine.events import Decision, EventError, Finding, Freeze, Severity, format_ts, parse_event
from sentinel.engine.rules import Runner
from sentinel.engine.state import touch
from sentinel.engine.takeover_context import AccountContext, VaultContext
from sentinel.engine.takeover_settings import TakeoverSettings
from sentinel.engine.takeover_state import REMOVED, ChangeState, IdentityState
from sentinel.engine.vault_events import VaultRequest, is_audit_entry, parse_audit_entry

STATE_VERSION = 1
CONTAINED_RULE = "policy.contained"
_DECIDED_CAP = 200_000
IDENTITY_CAP = 20_000
"""Vault identities whose baselines are kept: past it, the one seen longest ago that is not
contained is forgotten (every entity-less token is an identity of its own, so their number
has no other bound)."""


@dataclass(frozen=True, slots=True)
class Contain:
    """An identity the policy would contain (disable its Vault entity), and why."""

    identity: str
    display_name: str
    ts: float
    event: str
    reason: str
    accounts: tuple[str, ...] = ()
    """The accounts whose credentials it read within the lookback (to freeze and rotate)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "contain",
            "identity": self.identity,
            "ts": format_ts(self.ts),
            "event": self.event,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Judgement:
    """The decision on an account event or a Vault request (verdict ``ok`` or ``flagged``)."""

    event: str
    account: str | None
    kind: Literal["account", "vault"]
    verdict: str
    score: float
    severity: Severity
    findings: tuple[Finding, ...] = ()
    freezes: tuple[Freeze, ...] = ()
    contain: Contain | None = None
    identity: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "decision",
            "event": self.event,
            "account": self.account,
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in self.findings],
        }

    def records(self) -> list[dict[str, Any]]:
        """The replay lines: the decision, then its freezes, then the containment."""
        out = [self.to_dict(), *(f.to_dict() for f in self.freezes)]
        if self.contain is not None:
            out.append(self.contain.to_dict())
        return out


Outcome = Decision | Judgement


class Intake:
    """The engine's one door for replay and the daemon: posts, account events and Vault audit
    entries in (``feed``), decisions, freezes and containments out; it keeps the account-change
    and Vault-identity baselines beside the engine's."""

    def __init__(
        self,
        engine: Engine,
        settings: TakeoverSettings | None = None,
        kv_mount: str = "sentinel",
        identity_cap: int = IDENTITY_CAP,
    ) -> None:
        self.engine = engine
        self.identity_cap = identity_cap
        self.settings = settings or engine.settings.takeover
        self.kv_mount = kv_mount.strip("/")
        """The KV v2 mount holding the credentials (``[vault] kv_mount``)."""
        self.changes = ChangeState()
        self.identities: dict[str, IdentityState] = {}
        self._pending: dict[str, VaultRequest] = {}
        self._decided: dict[str, None] = {}
        self._self_entities: dict[str, str] = {}
        self._windows: tuple[int, tuple[int, ...]] = (0, ())

    # -- the entry point -----------------------------------------------------------------
    def feed(self, raw: Any) -> list[Outcome]:
        """Judge one event dict (post, account event or audit entry); ``EventError`` names
        the field of a malformed one. Returns the decisions made, oldest first."""
        if not isinstance(raw, Mapping):
            raise EventError("an event must be a JSON object")
        if is_account_event(raw):
            ev = parse_account_event(raw)
            out: list[Outcome] = list(self.expire(ev.ts))
            out.append(self.account_event(ev))
            return out
        if is_audit_entry(raw):
            entry = parse_audit_entry(raw, self.kv_mount)
            out = list(self.expire(entry.request.ts))
            got = self._entry(entry.type, entry.request)
            if got is not None:
                out.append(got)
            return out
        event = parse_event(raw)
        out = list(self.expire(event.ts))
        out.append(self.engine.evaluate(event))
        return out

    def expire(self, now: float) -> list[Judgement]:
        """Decide request entries whose response has not come within ``pending_timeout``."""
        out = []
        cut = now - self.settings.pending_timeout
        while self._pending:
            rid, req = next(iter(self._pending.items()))
            if req.ts > cut:
                break
            del self._pending[rid]
            out.append(self._decide(req))
        return out

    def flush(self) -> list[Judgement]:
        """Decide every request still waiting for its response (the end of a replay)."""
        return self.expire(float("inf"))

    # -- Vault requests --------------------------------------------------------------------
    def _entry(self, kind: str, req: VaultRequest) -> Judgement | None:
        if req.id in self._decided:
            return None
        if kind == "request":
            self._pending.setdefault(req.id, req)
            return None
        first = self._pending.pop(req.id, None)
        if first is not None and not req.identity and first.identity:
            req = first
        return self._decide(req)

    def is_self(self, req: VaultRequest) -> bool:
        """Sentinel's own identity: by entity id, or by display name bound to an identity (entity,
        else the audit device's HMAC of the token accessor). The daemon binds its own token at
        start (``bind_self``); only when nothing is bound (an offline replay) is the first
        identity seen with the name bound. Another token with the same display name is not
        Sentinel."""
        selves = self.settings.self
        if req.entity_id and req.entity_id in selves:
            return True
        if req.display_name and req.display_name in selves:
            bound = self._self_entities.setdefault(req.display_name, req.identity)
            return bound == req.identity
        return False

    def bind_self(self, display_name: str, identity: str) -> None:
        """Bind Sentinel's display name to its identity (its entity id, or ``accessor:`` and the
        audit device's HMAC of its token accessor), e.g. when the daemon's token is re-issued."""
        self._self_entities[display_name] = identity

    def is_admin(self, req: VaultRequest) -> bool:
        """A named administrator (entity id), a holder of an administrator policy, or the root
        token (whose use ``vault.root-token`` flags on its own)."""
        g = self.settings
        if req.entity_id and req.entity_id in g.admins:
            return True
        return req.root or (bool(g.admin_policies) and any(p in g.admin_policies for p in req.policies))

    def _peak_windows(self) -> tuple[int, ...]:
        rules = self.engine.rules
        if self._windows[0] != id(rules):
            ws = {
                int(r.params["window"]) for _, _, _, r in rules.vault if r.detector.name == "vault_mass_read"
            }
            self._windows = (id(rules), tuple(sorted(ws)))
        return self._windows[1]

    def _decide(self, req: VaultRequest) -> Judgement:
        self._decided[req.id] = None
        if len(self._decided) > _DECIDED_CAP:
            del self._decided[next(iter(self._decided))]
        account, key = req.account, req.identity
        if self.is_self(req) or not key:
            return Judgement(req.id, account, "vault", "ok", 0.0, "info", identity=key)
        ident = self._identity(req, key)
        inventoried = account is not None and self.engine.inventory.get(account) is not None
        frozen = self._active_freeze(account, req.ts) if inventoried and account else None
        ctx = VaultContext(req, ident, self.settings, self.engine.settings, self.is_admin(req), frozen)
        findings: list[Finding] = []
        _run(ctx, self.engine.rules.vault, findings)
        p = self.engine.settings.policy
        score = scoring.combine(findings, p.group_damping)
        if ident.contained is not None:
            contain, freezes = None, self._contained(req, ident, findings, inventoried)
        elif scoring.should_freeze(score, p):
            contain, freezes = self._contain(req, key, ident, findings, score)
        else:
            contain, freezes = None, []
        self._remember(req, ident, ctx, scoring.suspicious(score, p))
        return self._judgement(req.id, account, "vault", findings, score, freezes, contain, key)

    def _identity(self, req: VaultRequest, key: str) -> IdentityState:
        """The identity's state, its windows trimmed to ``req``'s time; a containment episode
        long past is over (the identity was disabled, or re-enabled by a person)."""
        g = self.settings
        ident = self.identities.pop(key, None)  # and back at the end: most recently seen last
        if ident is None:
            ident = IdentityState(display_name=req.display_name, first_ts=req.ts)
            self._forget_identities()
        self.identities[key] = ident
        ident.trim(req.ts, g.contain_lookback)
        if ident.contained is not None and req.ts - ident.contained > g.contain_lookback:
            ident.contained = None
        return ident

    def _until(self, ts: float) -> float | None:
        p = self.engine.settings.policy
        return ts + p.freeze_duration if p.freeze_duration > 0 else None

    def _contained(
        self, req: VaultRequest, ident: IdentityState, findings: list[Finding], inventoried: bool
    ) -> list[Freeze]:
        """A request of an identity already contained: said so, and a credential it reads in the
        episode freezes that account (``contain_freezes = "read"``)."""
        g, who = self.settings, req.display_name or req.identity
        assert ident.contained is not None
        findings.append(
            Finding(
                CONTAINED_RULE,
                "critical",
                f"identity {who} contained since {format_ts(ident.contained)}",
                0.0,
            )
        )
        recent = req.ts - ident.contained <= g.contain_lookback
        account = req.account
        if recent and req.credential_read and inventoried and account and g.contain_freezes == "read":
            reason = f"credentials read by contained identity {who}"
            return self._freeze(account, req.ts, reason, req.id, self._until(req.ts))
        return []

    def _contain(
        self, req: VaultRequest, key: str, ident: IdentityState, findings: list[Finding], score: float
    ) -> tuple[Contain, list[Freeze]]:
        """Contain the identity now; with ``contain_freezes = "read"`` every inventoried account
        whose credentials it read in the lookback (this one included) is frozen."""
        g, who = self.settings, req.display_name or key
        ident.contained = req.ts
        read = ident.distinct_since(req.ts - g.contain_lookback)
        if req.credential_read and req.account:
            read.add(req.account)
        reason = scoring.freeze_reason(findings, score)
        contain = Contain(key, req.display_name, req.ts, req.id, reason, tuple(sorted(read)))
        freezes: list[Freeze] = []
        if g.contain_freezes == "read":
            for acc in sorted(read):
                if self.engine.inventory.get(acc) is not None:
                    freezes += self._freeze(
                        acc,
                        req.ts,
                        f"credentials read by contained identity {who}",
                        req.id,
                        self._until(req.ts),
                    )
        return contain, freezes

    def _remember(self, req: VaultRequest, ident: IdentityState, ctx: VaultContext, suspicious: bool) -> None:
        """What the request leaves in the identity's windows; an unsuspicious credential read of
        an identity not contained is learned into its habits."""
        account = req.account
        if req.credential_read and account:
            ident.reads.append((req.ts, account))
        if req.denied:
            ident.denied.append(req.ts)
        if req.credential_read and account and ident.contained is None and not suspicious:
            ident.learn_read(req.ts, ctx.hour, req.remote_address, account, self._peak_windows())

    def _forget_identities(self) -> None:
        """Make room for one more identity: forget the least recently seen that is not contained."""
        if len(self.identities) < self.identity_cap:
            return
        for key, ident in self.identities.items():
            if ident.contained is None:
                del self.identities[key]
                return

    # -- account events --------------------------------------------------------------------
    def account_event(self, ev: AccountEvent) -> Judgement:
        """Judge a change to an account (a snapshot diff); ``EventError`` for an unknown account."""
        a = self.engine.inventory.get(ev.account)
        if a is None:
            raise EventError(f"account event: account {ev.account!r} is not in the inventory")
        st, p = self.changes, self.engine.settings.policy
        if st.first_ts == 0.0:
            st.first_ts = ev.ts
        if ev.own(self.settings):
            return Judgement(ev.id, a.id, "account", "ok", 0.0, "info")
        ctx = AccountContext(ev, a, st, self.engine.state(a.id), self.engine.settings, self.engine.zone(a))
        findings: list[Finding] = []
        _run(ctx, self.engine.rules.for_account_events(a), findings)
        score = scoring.combine(findings, p.group_damping)
        freezes: list[Freeze] = []
        if scoring.should_freeze(score, p):
            until = ev.ts + p.freeze_duration if p.freeze_duration > 0 else None
            freezes = self._freeze(a.id, ev.ts, scoring.freeze_reason(findings, score), ev.id, until)
        ctx.recent.append((ev.ts, REMOVED + ev.field if ev.removed else ev.field))
        st.learned += 1
        if scoring.suspicious(score, p):
            self.engine.note_suspicious(a.id, ev.ts, score)
        elif ev.ip and ev.field in PRIVILEGED and not ev.removed:
            touch(st.sources, ev.ip, ev.ts, ChangeState.SOURCE_CAP)
        return self._judgement(ev.id, a.id, "account", findings, score, freezes)

    def _judgement(
        self,
        event: str,
        account: str | None,
        kind: Literal["account", "vault"],
        findings: list[Finding],
        score: float,
        freezes: list[Freeze],
        contain: Contain | None = None,
        identity: str = "",
    ) -> Judgement:
        p = self.engine.settings.policy
        verdict = scoring.verdict("observed", score, p)
        severity = scoring.severity(score, p)
        return Judgement(
            event, account, kind, verdict, score, severity, tuple(findings), tuple(freezes), contain, identity
        )

    # -- freezing --------------------------------------------------------------------------
    def _active_freeze(self, account: str, ts: float) -> Freeze | None:
        fz = self.engine.frozen(account)
        if fz is not None and fz.until is not None and ts >= fz.until:
            self.engine.unfreeze(account)  # it ran out without further suspicious activity
            return None
        return fz

    def _freeze(
        self, account: str, ts: float, reason: str, event: str, until: float | None = None
    ) -> list[Freeze]:
        """Freeze the account unless it already is; the new freeze, if any."""
        if self._active_freeze(account, ts) is not None:
            return []
        return [self.engine.freeze(account, ts, reason, event, until)]

    # -- state -----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """What the intake learned, as plain JSON data (requests awaiting a response are left out)."""
        return {
            "version": STATE_VERSION,
            "changes": self.changes.to_state(),
            "identities": {k: v.to_state() for k, v in self.identities.items()},
            "self_entities": dict(self._self_entities),
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Load a ``snapshot()``; raises ``EventError`` for data from another version."""
        if data.get("version") != STATE_VERSION:
            raise EventError(f"intake state version {data.get('version')!r} is not {STATE_VERSION}")
        self.changes = ChangeState.from_state(data.get("changes", {}))
        self.identities = {str(k): IdentityState.from_state(v) for k, v in data.get("identities", {}).items()}
        self._self_entities = {str(k): str(v) for k, v in data.get("self_entities", {}).items()}


def _run(ctx: AccountContext | VaultContext, runners: tuple[Runner, ...], findings: list[Finding]) -> None:
    for check, params, _exceptions, rule in runners:
        hit = check(ctx, params)  # type: ignore[arg-type]
        if hit is not None:
            findings.append(Finding(rule.id, rule.severity, hit[0], rule.score * hit[1], rule.group))
