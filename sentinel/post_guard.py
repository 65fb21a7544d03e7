"""The daemon's guard: the detection engine behind the gate, the broker and the watcher.

Every post — a gate check from a publishing tool, a broker publish, a post the watcher saw
on a platform — goes through ``Guard.check``: the engine decides, the account's activity is
noted, and when the freeze policy fires the responder is started on the account at once
(the gate is blocked in memory before ``check`` returns). Learned baselines are written to
the store every few seconds (only the accounts that changed) and on stop, and read back
on start, so a restart neither forgets each account's normal nor re-learns it. Rule files
are watched: a valid change takes effect within two seconds; an invalid one keeps the
previous rules in force, is logged with file, line and field, and raises an alert.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sentinel import metrics
from sentinel.acks import AckStore, engine_acks
from sentinel.activity import ActivityBuffer
from sentinel.engine.engine import Engine
from sentinel.engine.events import Decision, Event, EventError, format_ts, parse_event, parse_ts
from sentinel.engine.intake import Contain, Intake, Judgement
from sentinel.engine.links import links_key
from sentinel.engine.loader import RuleSetError, load_rules
from sentinel.engine.rule_reload import RuleWatcher
from sentinel.engine.rules import RuleSet
from sentinel.engine.similarity import text_key
from sentinel.engine.takeover_settings import TakeoverSettings
from sentinel.errors import SentinelError, StoreError
from sentinel.identity import is_authenticated_name
from sentinel.inventory import Inventory
from sentinel.logs import get_logger
from sentinel.response.reach import inventory_only, reach_for
from sentinel.response.responder import Evidence
from sentinel.response.store import ResponseStore
from sentinel.rulestats import COMPONENT as STATS_COMPONENT
from sentinel.rulestats import MIGRATIONS as STATS_MIGRATIONS
from sentinel.rulestats import RuleStats
from sentinel.store import Store
from sentinel.watcher.ledger import PublishedLedger

if TYPE_CHECKING:
    from sentinel.daemon import App
    from sentinel.vault.client import TokenInfo

log = get_logger("sentinel.post_guard")
ORG_KEY = "__org__"
TAKEOVER_KEY = "__takeover__"
PERSIST_SECONDS = 5.0
SYNC_SECONDS = 0.5

MIGRATIONS = [
    """
    CREATE TABLE engine_state (
        account TEXT PRIMARY KEY,
        data    TEXT NOT NULL,
        updated TEXT NOT NULL
    )
    """,
]


def restore_baselines(engine: Engine, store: Store, inventory: Inventory) -> int:
    """Load the baselines the daemon stored into ``engine``; return how many accounts."""
    store.migrate("engine", MIGRATIONS)
    rows = store.query("SELECT account, data FROM engine_state")
    for row in rows:
        try:
            data = json.loads(row["data"])
            if row["account"] == ORG_KEY:
                engine.restore({"version": data.get("version"), "org": data.get("org", {}), "accounts": {}})
            elif inventory.get(row["account"]) is not None:
                engine.restore_account(row["account"], data)
        except (SentinelError, ValueError, KeyError, TypeError) as e:
            log.error("guard.state_unreadable", account=row["account"], error=str(e))
    if rows:
        log.info("guard.baselines_restored", accounts=len(rows) - 1)
    return max(0, len(rows) - 1)


class Guard:
    name = "guard"

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.intake: Intake | None = None
        self.app: App | None = None
        self._intake_dirty = False
        self._own_token: TokenInfo | None = None
        self.watcher: RuleWatcher | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._persist: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unrecorded: list[tuple[list[str], str, dict[str, Any]]] = []
        """Automatic freezes the store could not record: (accounts, reason, the lock's arguments)."""
        self.checked: dict[str, int] = {}
        self.rules_loaded = False
        self._local: set[str] = set()
        self.ledger: PublishedLedger | None = None
        self._platform_ids: dict[tuple[str, str], tuple[str, float]] = {}
        self._by_operator: dict[str, list[tuple[float, str]]] = {}
        self._contained: set[str] = set()
        self.activity = ActivityBuffer()
        self.stats = RuleStats()
        self.acks: AckStore | None = None
        self.takeover_events: dict[str, int] = {}

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self, app: App) -> None:
        self.app = app
        self._loop = asyncio.get_running_loop()
        app.store.migrate("engine", MIGRATIONS)
        app.store.migrate(STATS_COMPONENT, STATS_MIGRATIONS)
        dirs = app.config.sentinel.all_rules_dirs
        rules = load_rules(dirs)
        self.rules_loaded = True
        engine = Engine(app.inventory, rules, app.config.engine)
        self._restore(engine)
        self.engine = engine
        self.acks = AckStore(app.store)
        self.sync_acks()
        takeover = await self._with_own_token(app.config.engine.takeover)
        self.intake = self._restore_intake(Intake(engine, takeover, app.config.vault.kv_mount))
        await self._bind_own_token()
        frozen = ResponseStore(app.store).frozen()
        now = time.time()
        for account in frozen:
            if app.inventory.get(account) is not None:
                engine.freeze(account, now, "frozen (restored at start)")
        self.watcher = RuleWatcher(
            dirs, on_reload=self._on_reload, on_error=self._on_rule_error, current=rules
        )
        if dirs:
            self.watcher.start()
        self._persist = asyncio.create_task(self._persist_loop())
        app.extras["guard"] = self
        log.info("guard.started", rules=len(rules), accounts=len(app.inventory), frozen=len(frozen))

    async def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        if self._persist is not None:
            self._persist.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        self.save()

    async def reload(self, app: App) -> None:
        self.app = app
        if self.engine is not None:
            self.engine.set_inventory(app.inventory)
        if self.intake is not None:
            self.intake.settings = await self._with_own_token(app.config.engine.takeover)
            await self._bind_own_token()
        if self.watcher is not None:
            self.watcher.reload()

    def status(self) -> dict[str, Any]:
        return {
            "rules": len(self.engine.rules) if self.engine else 0,
            "checked": dict(self.checked),
            "frozen": sorted(self.engine.frozen_accounts()) if self.engine else [],
            "rule_reloads": self.watcher.reloads if self.watcher else 0,
            "rule_reload_failures": self.watcher.failures if self.watcher else 0,
            "takeover_events": dict(self.takeover_events),
        }

    # -- rules (called from the watcher's thread) ----------------------------------------------
    def _on_reload(self, rules: RuleSet) -> None:
        if self._loop is not None and self.engine is not None:
            self._loop.call_soon_threadsafe(self.engine.set_rules, rules)

    def _on_rule_error(self, error: RuleSetError) -> None:
        if self._loop is None or self.app is None:
            return
        app = self.app
        summary = f"Rule files rejected, previous rules kept: {error.message}"
        self._loop.call_soon_threadsafe(lambda: app.raise_alert("rule_file_error", "high", summary))

    # -- the gate ---------------------------------------------------------------------------------
    async def takeover_event(self, raw: Mapping[str, Any]) -> None:
        """An account event (``"kind": "account"``) or a raw Vault audit entry from the takeover
        sources (``sentinel.watcher.takeover_sources``): counted (``takeover_events`` in
        ``status``, the metric ``sentinel_takeover_events_total``) and judged by ``takeover``; a
        malformed one is logged and dropped (a source never stops on it)."""
        kind = "account" if raw.get("kind") == "account" else "vault" if "request" in raw else "other"
        self.takeover_events[kind] = self.takeover_events.get(kind, 0) + 1
        metrics.TAKEOVER_EVENTS.labels(kind=kind).inc()
        try:
            self.takeover(raw)
        except SentinelError as e:
            log.error("guard.takeover_rejected", kind=kind, error=e.message)

    def block(self, account: str, reason: str) -> None:
        """GateControl for the responder: from now on every post of ``account`` is blocked."""
        if self.engine is not None and self.app is not None and self.app.inventory.get(account):
            self.engine.freeze(account, time.time(), reason)
            self._local.add(account)  # until the store shows it, sync must not undo it

    def unblock(self, account: str) -> None:
        if self.engine is not None:
            self.engine.unfreeze(account)
        self._local.discard(account)

    def check(self, raw: Mapping[str, Any]) -> Decision:
        """Decide one event (gate check or observed post) given as a replay-format mapping.

        A gate check without a ``post_id`` gets ``gate:<id>``; when it is allowed, the
        post it approves is expected on the platform (by text, within the reconcile
        window) and recorded in the published ledger.
        """
        if self.engine is None or self.app is None:
            raise SentinelError("the guard is not running")
        data = dict(raw)
        if data.get("via") == "gate" and not data.get("post_id"):
            data["post_id"] = f"gate:{data.get('id', '')}"
        event = parse_event(data)
        decision = self.check_event(event)
        if event.via == "gate" and decision.verdict == "allow":
            self._expect(event)
        return decision

    def _expect(self, event: Event) -> None:
        # The engine remembers the approval (by post id and text, in its persisted state);
        # the ledger lets the watcher label what it sees.
        if self.ledger is not None:
            self.ledger.record(event.account, event.text, ts=event.ts, source="gate")

    def approve(self, account: str, post_id: str, ts: float, text: str, held_ts: float | None = None) -> None:
        """A person approved a held post: expect it on the platform like an allowed gate check."""
        if self.engine is None:
            raise SentinelError("the guard is not running")
        self.engine.approve(account, post_id, ts, text, held_ts)

    def published(self, account: str, gate_post_id: str, platform_post_id: str, text: str) -> None:
        """The broker published an approved post: its platform id now names it."""
        self._platform_ids[(account, platform_post_id)] = (gate_post_id, time.time())
        if self.ledger is not None:
            self.ledger.record(account, text, post_id=platform_post_id, source="broker")

    async def observe(self, raw: Mapping[str, Any]) -> None:
        """A post the watcher saw on a platform: reconcile it with the gate, then decide."""
        data = {k: raw[k] for k in ("id", "ts", "account", "via", "text", "client", "post_id") if k in raw}
        account, platform_id = str(data["account"]), str(data["post_id"])
        native = platform_id.split(":", 1)[-1]
        by_id = self._platform_ids.pop((account, platform_id), None) or self._platform_ids.pop(
            (account, native), None
        )
        gate_id = by_id[0] if by_id else None
        if gate_id is None:
            gate_id = self._claim(account, str(data["text"]), str(data["ts"]))
        if gate_id is not None:
            data["post_id"] = gate_id
        try:
            self.check(data)
        except SentinelError as e:
            log.error("guard.observed_rejected", account=account, error=e.message)

    def forget_broker_ids(self, now: float) -> None:
        """Drop broker post ids whose post never showed up (bounded memory)."""
        window = self.app.config.watcher.reconcile_window if self.app else 900.0
        for pid, (_, ts) in list(self._platform_ids.items()):
            if ts < now - 2 * window:
                del self._platform_ids[pid]

    def _claim(self, account: str, text: str, ts: str) -> str | None:
        """The allowed gate check this observed post carries, by text and links, nearest in time.

        Read from the engine's own (persisted) record of approvals, so a post approved just
        before a restart is still recognised after it. The words and the links must both be
        the approved ones (links by where they lead, ``links_key``; the adapters expand the
        platform's own wrapped links): the approved copy with another link is out-of-band.
        """
        if self.engine is None or self.app is None or self.app.inventory.get(account) is None:
            return None
        window = self.app.config.watcher.reconcile_window
        key, links, when = text_key(text), links_key(text), parse_ts(ts)
        candidates = [
            (abs(t - when), pid)
            for pid, (t, k, lk) in self.engine.state(account).approved.items()
            if k == key and lk in (links, None) and abs(t - when) <= window
        ]
        return min(candidates)[1] if candidates else None

    def check_event(self, event: Event) -> Decision:
        assert self.engine is not None and self.app is not None
        decision = self.engine.evaluate(event)
        self.checked[decision.verdict] = self.checked.get(decision.verdict, 0) + 1
        self.stats.note(decision, event.ts)
        if decision.observed:
            log.info(
                "guard.observed",
                account=event.account,
                event_id=event.id,
                would=decision.would,
                verdict=decision.verdict,
                rules=[f.rule for f in decision.observed],
            )
        if decision.published:
            self.activity.note(event.account, format_ts(event.ts))
        if decision.freeze is not None:
            self._freeze(event, decision)
        elif decision.verdict in ("hold", "block", "flagged"):
            log.warning(
                "guard.suspicious",
                account=event.account,
                event_id=event.id,
                verdict=decision.verdict,
                findings=[f.rule for f in decision.findings],
            )
        return decision

    def _freeze(self, event: Event, decision: Decision) -> None:
        assert self.app is not None and decision.freeze is not None
        reason = decision.freeze.reason
        log.error("guard.freeze", account=event.account, event_id=event.id, reason=reason)
        self.block(event.account, reason)  # permanent until a person unfreezes
        responder = self.app.extras.get("responder")
        if responder is None:
            self.app.raise_alert(
                "freeze",
                "critical",
                f"{event.account} frozen: {reason}",
                accounts=[event.account],
                tags=sorted({t for f in decision.findings for t in f.attack}),
            )
            return
        evidence = []
        if event.via == "observed" or decision.verdict == "allow":
            evidence.append(
                Evidence(
                    event.account,
                    event.post_id,
                    event.text,
                    format_ts(event.ts),
                    event.client,
                    rules=tuple(f.rule for f in decision.findings),
                )
            )
        findings = [{**f.record(), "account": event.account, "event": event.id} for f in decision.findings]
        top = max(decision.findings, key=lambda f: f.score)
        what = f"{top.rule.rsplit('.', 1)[-1].replace('-', ' ')} post on {event.account}"
        self._run(
            self._lock(
                responder,
                [event.account],
                reason,
                evidence=evidence,
                findings=findings,
                what=what,
                campaign=f"{text_key(event.text):016x}",
            )
        )
        if is_authenticated_name(event.caller):  # never on a name the request merely asserted
            self._blast_radius(event.caller, event.account, event.ts, responder)

    def _blast_radius(self, operator: str, account: str, ts: float, responder: Any) -> None:
        """Several accounts frozen on one operator's posts: contain everything they reach.

        The accounts the inventory gives the operator are blocked at the gate at once; what
        their Vault policies grant besides is computed off the event loop
        (``sentinel.response.reach``), then everything is frozen together.
        """
        assert self.app is not None
        s = self.app.config.response
        if s.blast_radius == "off" or operator in self._contained:
            return
        recent = [(t, a) for t, a in self._by_operator.get(operator, []) if t >= ts - s.blast_radius_window]
        recent.append((ts, account))
        self._by_operator[operator] = recent
        if len({a for _, a in recent}) < s.blast_radius_accounts:
            return
        self._contained.add(operator)
        reason = f"blast radius: posts by {operator} froze {len({a for _, a in recent})} accounts"
        if s.blast_radius == "freeze":
            for a in self.app.inventory.reach().get(operator, []):
                self.block(a, reason)  # never waits for Vault
        self._run(self._contain(operator, reason, responder))

    async def _contain(self, operator: str, reason: str, responder: Any) -> None:
        assert self.app is not None
        app, mode = self.app, self.app.config.response.blast_radius
        try:
            found = await asyncio.to_thread(reach_for, app.vault, app.inventory, operator, app.config)
        except Exception as e:  # the freeze goes on with what the inventory knows
            found = inventory_only(app.inventory, operator, f"reach failed ({e.__class__.__name__}: {e})")
        reach = [a for a in found.accounts if app.inventory.get(a)]
        log.error(
            "guard.blast_radius",
            operator=operator,
            reach=len(reach),
            owned=len(found.owned),
            vault=found.vault,
            warnings=list(found.warnings),
            mode=mode,
        )
        details = {
            "command": f"sentinel lockdown --operator {operator} --reason '{reason}'",
            **found.details(),
        }
        alert = {
            "accounts": reach,
            "details": details,
            "todo": [f"reach may be larger, check by hand: {w}" for w in found.warnings],
        }
        summary = f"{reason}; {found.summary()}"
        if mode == "alert" or not reach:
            app.raise_alert("blast_radius", "critical", summary, **alert)
            return
        if found.warnings:  # containment may be incomplete: a person must look
            app.raise_alert("blast_radius", "critical", summary, **alert)
        for a in reach:
            self.block(a, reason)
        await self._lock(responder, reach, reason, operator=operator)

    # -- account events and Vault audit entries -------------------------------------------------------
    def takeover(self, raw: Mapping[str, Any]) -> list[Judgement]:
        """Judge an account event or a raw Vault audit entry from the takeover sources.

        The dict is exactly what ``sentinel replay`` reads; it goes through the engine's intake
        (``Intake.feed``), so the daemon and replay decide alike. A freeze is handed to the
        responder like a post's (an account can be frozen before any post); a containment
        raises a critical alert, disables the identity's Vault entity (a token without one is
        left to a person: the audit log shows only its HMAC'd accessor) and freezes the
        accounts whose credentials it read, which rotates them.
        """
        if self.intake is None or self.app is None:
            raise SentinelError("the guard is not running")
        if raw.get("kind") != "account" and "request" not in raw:
            raise EventError("not an account event or a Vault audit entry (posts go through check)")
        out = [o for o in self.intake.feed(raw) if isinstance(o, Judgement)]
        self._intake_dirty = True
        for j in out:
            self._act(j)
        return out

    async def _with_own_token(self, takeover: TakeoverSettings) -> TakeoverSettings:
        """``[engine.takeover] self`` plus Sentinel's own token, looked up in Vault: its entity id,
        else its display name (which the intake binds to the first token it sees with it)."""
        assert self.app is not None
        if self.app.vault is None:
            return takeover
        try:
            info = await asyncio.to_thread(self.app.vault.lookup_self)
        except SentinelError as e:
            log.warning("guard.own_token_unknown", error=e.message)
            return takeover
        self._own_token = info
        mine = info.entity_id or info.display_name  # as the audit log shows it (token-sentinel-daemon)
        if not mine or mine in takeover.self:
            return takeover
        return dataclasses.replace(takeover, self=(*takeover.self, mine))

    async def _bind_own_token(self) -> None:
        """Bind Sentinel's display name to its own token as the audit log writes it: the audit
        device's HMAC of its accessor. Without it the intake would take the first token seen
        with that display name for Sentinel — and anyone may create a token with that name."""
        assert self.app is not None
        info, settings = self._own_token, self.app.config.vault
        if info is None or info.entity_id or not info.display_name or self.intake is None:
            return
        if settings.audit_log is None or self.app.vault is None:
            return
        try:
            hashed = await asyncio.to_thread(self.app.vault.audit_hash, settings.audit_device, info.accessor)
        except SentinelError as e:
            log.warning(
                "guard.own_token_unbound",
                device=settings.audit_device,
                error=e.message,
                hint="grant the daemon 'update' on sys/audit-hash/<device> (policies apply) and set "
                "[vault] audit_device; until then the first token seen with Sentinel's display name "
                "is taken for Sentinel",
            )
            return
        self.intake.bind_self(info.display_name, f"accessor:{hashed}")
        self._intake_dirty = True
        log.info("guard.own_token_bound", display_name=info.display_name, device=settings.audit_device)

    def _act(self, j: Judgement) -> None:
        assert self.app is not None
        self.checked[j.verdict] = self.checked.get(j.verdict, 0) + 1
        if j.verdict == "flagged":
            log.warning(
                "guard.suspicious",
                kind=j.kind,
                account=j.account,
                event_id=j.event,
                findings=[f.rule for f in j.findings],
            )
        if j.contain is not None:
            self._run(self._contain_identity(j.contain))
        if not j.freezes:
            return
        accounts = [fz.account for fz in j.freezes]
        reason = j.freezes[0].reason
        log.error("guard.freeze", accounts=accounts, event_id=j.event, reason=reason)
        for a in accounts:
            self.block(a, reason)  # permanent until a person unfreezes
        responder = self.app.extras.get("responder")
        if responder is None:
            self.app.raise_alert(
                "freeze", "critical", f"{', '.join(accounts)} frozen: {reason}", accounts=accounts
            )
            return
        findings = [{**f.record(), "account": j.account, "event": j.event} for f in j.findings]
        self._run(self._lock(responder, accounts, reason, findings=findings))

    def expire_pending(self, now: float) -> list[Judgement]:
        """Decide the audit request entries whose response has not come (a quiet log never
        brings the next entry that would decide them)."""
        if self.intake is None:
            return []
        out = self.intake.expire(now)
        for j in out:
            self._act(j)
        return out

    async def _contain_identity(self, c: Contain) -> None:
        assert self.app is not None
        who = c.display_name or c.identity
        log.error("guard.contain", identity=c.identity, display_name=c.display_name, event_id=c.event)
        summary = f"Vault identity {who} contained: {c.reason}"
        todo = []
        if c.identity.startswith("accessor:"):
            todo.append(f"revoke the token of {who} by hand: it has no entity to disable")
        elif self.app.vault is None:
            todo.append(f"disable Vault entity {c.identity} by hand: Sentinel has no Vault connection")
        else:
            try:
                await asyncio.to_thread(self.app.vault.entity_set_disabled, c.identity, True)
            except SentinelError as e:
                todo.append(f"disable Vault entity {c.identity} by hand: {e.message}")
        self.app.raise_alert("contain", "critical", summary, accounts=list(c.accounts), todo=todo)

    async def _lock(self, responder: Any, accounts: Sequence[str], reason: str, **how: Any) -> None:
        """The responder's automatic freeze of ``accounts``. One the store cannot record (a full
        disk, a database another process locked) is tried again once the store can be written
        (``retry_unrecorded``): until then the gate blocks the accounts from memory, and a
        freeze left unrecorded would be lost with its steps (revoke, rotate, lock) at a restart."""
        try:
            await responder.lock(accounts, reason, "sentinel", automatic=True, **how)
        except StoreError as e:
            log.error("guard.freeze_store_failed", accounts=list(accounts), error=e.message)
            self._unrecorded.append((list(accounts), reason, how))

    def retry_unrecorded(self) -> int:
        """Hand the freezes the store could not record to the responder again; return how many."""
        if self.app is None or not self._unrecorded or not self.app.store_ok:
            return 0  # while the daemon's heartbeat finds the store unwritable, nothing is tried
        responder = self.app.extras.get("responder")
        if responder is None:
            return 0
        waiting, self._unrecorded = self._unrecorded, []
        for accounts, reason, how in waiting:
            log.warning("guard.freeze_store_retried", accounts=accounts)
            self._run(self._lock(responder, accounts, reason, **how))
        return len(waiting)

    def _run(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- persistence --------------------------------------------------------------------------------
    def _restore_intake(self, intake: Intake) -> Intake:
        assert self.app is not None
        rows = self.app.store.query("SELECT data FROM engine_state WHERE account = ?", (TAKEOVER_KEY,))
        for row in rows:
            try:
                intake.restore(json.loads(row["data"]))
            except (SentinelError, ValueError, KeyError, TypeError) as e:
                log.error("guard.state_unreadable", account=TAKEOVER_KEY, error=str(e))
        return intake

    def _restore(self, engine: Engine) -> None:
        assert self.app is not None
        restore_baselines(engine, self.app.store, self.app.inventory)

    def save(self) -> int:
        """Write the baselines of accounts that changed (and posting activity); return how many."""
        if self.engine is None or self.app is None:
            return 0
        self.activity.flush(self.app.store)
        self.stats.flush(self.app.store)
        dirty = self.engine.drain_dirty()
        takeover = self.intake is not None and self._intake_dirty
        if not dirty and not takeover:
            return 0
        stamp = format_ts(time.time())
        rows = [(ORG_KEY, json.dumps(self.engine.snapshot_org()), stamp)]
        if takeover and self.intake is not None:
            rows.append((TAKEOVER_KEY, json.dumps(self.intake.snapshot()), stamp))
            self._intake_dirty = False
        for account in dirty:
            snap = self.engine.snapshot_account(account)
            if snap is not None:
                rows.append((account, json.dumps(snap), stamp))
        with self.app.store.transaction() as db:
            db.executemany(
                "INSERT INTO engine_state(account, data, updated) VALUES(?, ?, ?) "
                "ON CONFLICT(account) DO UPDATE SET data = excluded.data, updated = excluded.updated",
                rows,
            )
        return len(rows) - 1 - takeover

    def sync_acks(self) -> int:
        """Follow acknowledgements added, revoked or expired (``sentinel rules ack``)."""
        if self.engine is None or self.acks is None:
            return 0
        active = engine_acks(self.acks)
        self.engine.set_acks(active)
        return len(active)

    def sync_freezes(self) -> tuple[list[str], list[str]]:
        """Follow freezes and unfreezes made by other processes (``sentinel lockdown``)."""
        if self.engine is None or self.app is None:
            return [], []
        wanted = {a for a in ResponseStore(self.app.store).frozen() if self.app.inventory.get(a) is not None}
        have = set(self.engine.frozen_accounts())
        self._local -= wanted
        added = sorted(wanted - have)
        for account in added:
            self.engine.freeze(account, time.time(), "frozen by a responder")
        removed = []
        for account in sorted(have - wanted):
            freeze = self.engine.frozen(account)
            if freeze is not None and freeze.until is None and account not in self._local:
                self.engine.unfreeze(account)
                removed.append(account)
        if added or removed:
            log.warning("guard.freezes_synced", frozen=added, unfrozen=removed)
        return added, removed

    async def _persist_loop(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(SYNC_SECONDS)
            ticks += 1
            try:
                self.retry_unrecorded()
                self.sync_freezes()
                self.sync_acks()
                self.expire_pending(time.time())
                if ticks * SYNC_SECONDS >= PERSIST_SECONDS:
                    ticks = 0
                    self.save()
                    self.forget_broker_ids(time.time())
            except SentinelError as e:
                log.error("guard.save_failed", error=e.message)
