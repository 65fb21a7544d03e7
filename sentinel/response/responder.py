"""Freeze, lockdown and unfreeze: cut an attacker off everywhere, and keep the record.

A freeze runs these steps per account, each idempotent and recorded in the store:

1. ``gate``      every post for the account is blocked (memory and store), for all the
                 selected accounts at once, before anything slower starts;
2. ``vault``     the freeze policy denies the account's secrets and capabilities to its
                 operators, and (blast radius) a named operator's Vault entity is
                 disabled, which ends every token of theirs;
3. ``sessions``  the platform's sessions, app passwords and tokens are revoked;
4. ``rotate``    the credentials are rotated (forced), so whatever the attacker holds dies;
5. ``evidence``  the offending posts, stored in the incident when the freeze began (so a
                 restart loses none), are optionally deleted at the platform
                 (``delete_offending``, limited by account and by rule);
6. ``lock``      the account is locked or deactivated at the platform where it can be;
7. ``record``    the incident is extended, an alert raised, an audit entry written.

Rotation and deletion run *before* the platform lock, not after: most platforms refuse
credential changes and deletions on a locked or deactivated account, and the sessions
step has already cut the attacker off by then. What a platform's API cannot do becomes a ``todo`` with the exact
manual step, carried in the alert; a step that fails is retried with backoff, reported
per account, and resumed after a restart. A freeze is never reported complete when it is
not.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from sentinel import metrics
from sentinel.errors import PlatformError, SentinelError, VaultNotFound
from sentinel.inventory import Account, Inventory
from sentinel.logs import get_logger
from sentinel.platforms.base import Capability, PlatformAdapter
from sentinel.platforms.errors import PlatformNotSupported
from sentinel.response.containment import VaultContainment
from sentinel.response.store import AUTOMATIC, FINISHED, FreezeRecord, ResponseStore
from sentinel.retry import RetryPolicy
from sentinel.watcher.account_state import appeared_since_good
from sentinel.watcher.own_changes import OwnChanges

log = get_logger("sentinel.response")


class GateControl(Protocol):
    """The gate (the engine in the daemon): blocks every post of a frozen account."""

    def block(self, account: str, reason: str) -> None: ...
    def unblock(self, account: str) -> None: ...


class Rotation(Protocol):
    async def force_rotate(self, account: str, reason: str) -> Any: ...


AdapterFactory = Callable[[Account], Awaitable[PlatformAdapter]]
AlertSink = Callable[..., None]
AuditSink = Callable[[str, str, str, Mapping[str, Any]], None]


class StepTodo(SentinelError):
    """The platform cannot do this step: a person must (the message says how)."""


@dataclass
class Evidence:
    """An offending post, stored in the incident before anything deletes it."""

    account: str
    post_id: str
    text: str
    ts: str = ""
    client: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    rules: tuple[str, ...] = ()
    """The rules whose findings flagged the post (``delete_offending_rules`` matches them)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.extra,
            "account": self.account,
            "post_id": self.post_id,
            "text": self.text,
            "ts": self.ts,
            "client": self.client,
            "rules": list(self.rules),
        }


@dataclass
class LockdownReport:
    accounts: list[FreezeRecord]
    incident: int | None
    gate_seconds: float
    total_seconds: float
    already_frozen: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No step failed (manual to-dos may remain: see ``complete``)."""
        return all(s.status != "failed" for r in self.accounts for s in r.steps)

    @property
    def complete(self) -> bool:
        return all(r.complete for r in self.accounts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "complete": self.complete,
            "incident": self.incident,
            "gate_seconds": round(self.gate_seconds, 6),
            "total_seconds": round(self.total_seconds, 3),
            "already_frozen": self.already_frozen,
            "accounts": [r.to_dict() for r in self.accounts],
        }


@dataclass
class ResponderSettings:
    attempts: int = 4
    backoff: float = 0.5
    backoff_max: float = 8.0
    concurrency: int = 16
    delete_offending: bool = False
    delete_offending_accounts: tuple[str, ...] = ()
    """Account ids or globs whose offending posts are deleted (empty: every account)."""
    delete_offending_rules: tuple[str, ...] = ()
    """Rule ids or globs: delete a post only when one of these flagged it (empty: any)."""

    def deletes(self, account: str, rules: Sequence[str]) -> str:
        """Why an offending post is kept ("" when it is to be deleted)."""
        if not self.delete_offending:
            return "deletion is off"
        if self.delete_offending_accounts and not any(
            fnmatch.fnmatchcase(account, g) for g in self.delete_offending_accounts
        ):
            return "deletion is off for this account"
        if self.delete_offending_rules and not any(
            fnmatch.fnmatchcase(r, g) for r in rules for g in self.delete_offending_rules
        ):
            return "no rule that deletes flagged it"
        return ""


@dataclass(frozen=True)
class _StepRun:
    """What one freeze step of one account works with."""

    rec: FreezeRecord
    account: Account | None
    operator: str
    denied: frozenset[str]
    """The accounts the batch's freeze-policy write denies already."""

    def known(self) -> Account:
        """The account from the inventory; a step needing it is left to a person otherwise."""
        if self.account is None:
            raise StepTodo(f"account {self.rec.account!r} is not in the inventory any more")
        return self.account


class Responder:
    def __init__(
        self,
        inventory: Inventory,
        store: ResponseStore,
        gate: GateControl,
        containment: VaultContainment | None,
        adapters: AdapterFactory | None,
        rotation: Rotation | None = None,
        alert: AlertSink | None = None,
        audit: AuditSink | None = None,
        settings: ResponderSettings | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.inventory = inventory
        self.store = store
        self.gate = gate
        self.containment = containment
        self.adapters = adapters
        self.rotation = rotation
        self.alert = alert
        self.audit = audit
        self.settings = settings or ResponderSettings()
        self.sleep = sleep
        self.on_progress: Callable[[str, str, str, str], None] | None = None
        self._open: dict[str, PlatformAdapter] = {}
        # One freeze policy for every account: read-the-frozen-set-and-write happens under
        # this lock, so concurrent lockdowns (and unfreezes) never write a stale set.
        self._policy_lock = asyncio.Lock()

    async def aclose(self) -> None:
        """Close open platform sessions and the adapters' connection pool."""
        for adapter in list(self._open.values()):
            await adapter.aclose()
        self._open.clear()
        close = getattr(self.adapters, "aclose", None)
        if close is not None:
            await close()

    # -- freeze ------------------------------------------------------------------------------
    async def lock(
        self,
        accounts: Sequence[str],
        reason: str,
        actor: str,
        automatic: bool = False,
        operator: str = "",
        evidence: Sequence[Evidence] = (),
        findings: Sequence[Mapping[str, Any]] = (),
        actor_id: str = "",
        what: str = "",
        campaign: str = "",
    ) -> LockdownReport:
        """Freeze ``accounts`` (a lockdown when several): gate first for all, then the rest.

        ``actor`` is the responder's name and ``actor_id`` their Vault identity key
        (``sentinel.identity``), which the two-person unfreeze rule compares. ``what`` titles
        an automatic freeze's incident by what happened ("out-of-band post on brand-x");
        automatic freezes of one ``campaign`` (the same post on several accounts) share one
        incident, titled by how many accounts it reached."""
        t0 = time.perf_counter()
        for a in accounts:
            self.inventory[a]  # unknown ids fail before anything changes
        for a in accounts:
            self.gate.block(a, reason)
        fresh = self.store.mark_frozen(
            accounts, STEPS, reason, actor, automatic, operator=operator, done=("gate",), actor_id=actor_id
        )
        gate_seconds = time.perf_counter() - t0
        metrics.FREEZES.labels(trigger="automatic" if automatic else "responder").inc(len(fresh))
        already = [a for a in accounts if a not in fresh]
        short = reason.split(";", maxsplit=1)[0].split(": ", 1)[-1] if automatic else reason
        title = f"{AUTOMATIC if automatic else 'Lockdown'}: {(what if automatic and what else short)[:120]}"
        incident = self.store.open_incident(
            title,
            list(accounts),
            window=900.0,
            automatic=automatic,
            campaign=campaign,
            campaign_title=f"{AUTOMATIC}: same post on {{n}} accounts" if campaign else "",
        )
        self._record_freeze(incident, fresh, reason, actor, findings, evidence)
        if self.audit:
            self.audit(
                actor,
                "freeze" if len(accounts) == 1 else "lockdown",
                ",".join(accounts),
                {"reason": reason, "automatic": automatic, "operator": operator, "incident": incident},
            )
        log.warning(
            "freeze.gate_blocked", accounts=len(accounts), seconds=round(gate_seconds, 6), actor=actor
        )
        await self._run_all([self.store.get(a) for a in fresh], operator)
        if operator and not fresh:
            await self._contain_operator(operator, already)
        records = [r for r in (self.store.get(a) for a in accounts) if r is not None]
        report = LockdownReport(records, incident, gate_seconds, time.perf_counter() - t0, already)
        return report

    def _record_freeze(
        self,
        incident: int,
        fresh: Sequence[str],
        reason: str,
        actor: str,
        findings: Sequence[Mapping[str, Any]],
        evidence: Sequence[Evidence],
    ) -> None:
        """The incident learns of the freshly frozen accounts, the findings and the offending
        posts, before any step runs: a restart loses none of it."""
        self.store.set_incident(fresh, incident)
        for a in fresh:
            self.store.add_event(
                incident, "action", actor, {"step": "gate", "status": "done", "reason": reason}, a
            )
        for f in findings:
            self.store.add_event(incident, "finding", "sentinel", dict(f), str(f.get("account", "")))
        for e in evidence:
            self.store.add_event(incident, "post", "sentinel", e.to_dict(), e.account)

    async def _contain_operator(self, operator: str, accounts: Sequence[str]) -> None:
        """Disable ``operator``'s entity when every account they reach was frozen already (a
        blast radius whose lures froze all of it): no fresh freeze's vault step would."""
        if self.containment is None:
            return
        self.store.set_operator(accounts, operator)
        try:
            entity = await asyncio.to_thread(self.containment.set_operator_disabled, operator, True)
        except VaultNotFound:
            log.error("freeze.operator_not_contained", operator=operator, reason="no such Vault entity")
            return
        log.warning("freeze.operator_disabled", operator=operator, entity=entity)

    async def resume(self) -> list[FreezeRecord]:
        """Finish the steps of freezes a restart interrupted."""
        pending = self.store.unfinished()
        for rec in pending:
            self.gate.block(rec.account, rec.reason)
        if pending:
            log.warning("freeze.resuming", accounts=[r.account for r in pending])
            await self._run_all(pending, "")
        return [r for r in (self.store.get(p.account) for p in pending) if r is not None]

    async def _run_all(
        self,
        records: Sequence[FreezeRecord | None],
        operator: str,
    ) -> None:
        todo = [r for r in records if r is not None]
        sem = asyncio.Semaphore(self.settings.concurrency)
        async with AsyncExitStack() as stack:
            # Vault and platform connections stay open for the whole batch.
            if self.containment is not None:
                await stack.enter_async_context(self.containment.vault.session())
            shared = getattr(self.rotation, "session", None)
            if shared is not None:
                await stack.enter_async_context(shared())
            batch = getattr(self.adapters, "batch", None)
            if batch is not None:
                stack.enter_context(batch())
            denied = await self._deny_batch(todo)

            async def one(rec: FreezeRecord) -> None:
                async with sem:
                    account = self.inventory.get(rec.account)
                    try:
                        for step in rec.steps:
                            if step.status not in FINISHED:
                                await self._attempt(rec, step.step, account, operator, denied)
                    finally:
                        adapter = self._open.pop(rec.account, None)
                        if adapter is not None:
                            await adapter.aclose()

            await asyncio.gather(*(one(r) for r in todo))

    async def _deny_batch(self, records: Sequence[FreezeRecord]) -> frozenset[str]:
        """Write the freeze policy once for the whole batch (every account in it is marked
        frozen in the store by now); return the accounts it denies. Each account's vault
        step then only records it. Should this write fail, each step writes the policy
        itself, with its own retries."""
        if self.containment is None or not any(
            s.step == "vault" and s.status not in FINISHED for r in records for s in r.steps
        ):
            return frozenset()
        try:
            return await self._write_policy()
        except SentinelError as e:
            log.warning("freeze.policy_batch_failed", error=e.message)
            return frozenset()

    async def _write_policy(self) -> frozenset[str]:
        """Rewrite the freeze policy from the store's frozen set; return that set."""
        assert self.containment is not None
        async with self._policy_lock:
            return frozenset(await asyncio.to_thread(self.containment.write_freeze_policy))

    async def _attempt(
        self,
        rec: FreezeRecord,
        step: str,
        account: Account | None,
        operator: str,
        denied: frozenset[str],
    ) -> tuple[str, str]:
        """Run one step with bounded retries (``sentinel.retry``'s policy); record every attempt.

        A platform error is not retried here: the HTTP client under the step has already
        retried it (honouring ``Retry-After``), and stacking our attempts on its own would
        multiply the calls; the daemon resumes the step later instead.
        """
        policy = RetryPolicy(self.settings.attempts, self.settings.backoff, self.settings.backoff_max)
        detail = ""
        for attempt in range(1, policy.attempts + 1):
            retried_below = False
            try:
                status, detail = await self._step(rec, step, account, operator, denied)
            except StepTodo as e:
                status, detail = "todo", e.message
            except PlatformError as e:
                status, detail, retried_below = "failed", e.message, True
            except SentinelError as e:
                status, detail = "failed", e.message
            except (OSError, TimeoutError) as e:
                status, detail = "failed", f"{e.__class__.__name__}: {e}"
            self.store.set_step(rec.account, step, status, detail, attempts=attempt)
            self._progress(rec.account, step, status, detail)
            if status != "failed":
                if rec.incident is not None:
                    self.store.add_event(
                        rec.incident,
                        "action",
                        "sentinel",
                        {"step": step, "status": status, "detail": detail},
                        rec.account,
                    )
                return status, detail
            log.warning("freeze.step_failed", account=rec.account, step=step, attempt=attempt, error=detail)
            if retried_below:
                break
            if attempt < policy.attempts:
                await self.sleep(policy.delay(attempt))
        if rec.incident is not None:
            self.store.add_event(
                rec.incident,
                "action",
                "sentinel",
                {"step": step, "status": "failed", "detail": detail},
                rec.account,
            )
        return "failed", detail

    def _progress(self, account: str, step: str, status: str, detail: str) -> None:
        if self.on_progress:
            self.on_progress(account, step, status, detail)

    async def _with_adapter(self, account: Account) -> PlatformAdapter:
        """One adapter (one platform session) per account for all the steps of a run."""
        if self.adapters is None:
            raise StepTodo("no platform adapter configured: do it by hand at the platform")
        adapter = self._open.get(account.id)
        if adapter is None:
            adapter = self._open[account.id] = await self.adapters(account)
        return adapter

    async def _step(
        self,
        rec: FreezeRecord,
        step: str,
        account: Account | None,
        operator: str,
        denied: frozenset[str],
    ) -> tuple[str, str]:
        handler = self._STEP_HANDLERS.get(step)
        if handler is None:
            raise StepTodo(f"unknown step {step!r}")
        return await handler(self, _StepRun(rec, account, operator, denied))

    async def _gate_step(self, run: _StepRun) -> tuple[str, str]:
        self.gate.block(run.rec.account, run.rec.reason)
        return "done", "posts blocked at the gate"

    async def _vault_step(self, run: _StepRun) -> tuple[str, str]:
        if self.containment is None:
            raise StepTodo("Vault not configured: deny the account's secrets by hand")
        denied = run.denied
        if run.rec.account not in denied:  # the batch's policy write failed or predates this freeze
            denied = await self._write_policy()
        detail = f"secrets denied to operators ({len(denied)} frozen)"
        op = run.operator or run.rec.operator
        if op:
            try:
                entity = await asyncio.to_thread(self.containment.set_operator_disabled, op, True)
            except VaultNotFound:
                raise StepTodo(
                    f"{detail}; no Vault identity entity is named {op}: end their logins by hand"
                ) from None
            detail += f"; operator {op} disabled in Vault (entity {entity})"
        return "done", detail

    async def _sessions_step(self, run: _StepRun) -> tuple[str, str]:
        return await self._platform(run.known(), self._revoke_sessions)

    async def _rotate_step(self, run: _StepRun) -> tuple[str, str]:
        account = run.known()
        if self.rotation is None:
            raise StepTodo("no rotator running: rotate the credentials by hand (sentinel rotate)")
        results = await self.rotation.force_rotate(account.id, f"freeze: {run.rec.reason}")
        stale = self._open.pop(account.id, None)  # it logged in with the credentials just replaced
        if stale is not None:
            await stale.aclose()
        return rotation_outcome(results)

    async def _evidence_step(self, run: _StepRun) -> tuple[str, str]:
        account, rec = run.known(), run.rec
        stored = self.store.posts(rec.incident, rec.account) if rec.incident is not None else []
        if not stored:
            return "skipped", "no offending posts given"
        kept = {
            str(p.get("post_id", "")): self.settings.deletes(account.id, p.get("rules") or ()) for p in stored
        }
        doomed = [pid for pid, why in kept.items() if pid and not why]
        if not doomed:
            reasons = "; ".join(sorted({why for why in kept.values() if why})) or "no post id"
            return "skipped", f"{len(stored)} post(s) kept as evidence ({reasons})"

        async def delete(adapter: PlatformAdapter) -> str:
            for pid in doomed:
                await adapter.delete_post(pid)  # a post already gone counts as deleted
            left = len(stored) - len(doomed)
            return f"{len(doomed)} post(s) stored as evidence, then deleted" + (
                f"; {left} kept" if left else ""
            )

        return await self._platform(account, delete)

    async def _lock_step(self, run: _StepRun) -> tuple[str, str]:
        return await self._platform(run.known(), self._lock)

    async def _record_step(self, run: _StepRun) -> tuple[str, str]:
        run.known()
        rec = self.store.get(run.rec.account) or run.rec
        summary = {s.step: s.status for s in rec.steps if s.step != "record"}
        if self.alert:
            self._freeze_alert(rec, summary)
        if self.audit:
            self.audit("sentinel", "freeze.steps", rec.account, {"steps": summary, "incident": rec.incident})
        return "done", "incident, alert and audit entry written"

    def _freeze_alert(self, rec: FreezeRecord, summary: Mapping[str, str]) -> None:
        """The critical ``freeze`` alert: the steps, what is left for a person, the evidence."""
        assert self.alert is not None
        events = (self.store.incident(rec.incident) or {}).get("events", []) if rec.incident else []
        mine = [e for e in events if e["account"] == rec.account]
        found = [e["data"] for e in mine if e["kind"] == "finding"]
        posts = [str(e["data"].get("text", "")) for e in mine if e["kind"] == "post"]
        self.alert(
            kind="freeze",
            severity="critical",
            summary=f"{rec.account} frozen: {rec.reason}",
            accounts=[rec.account],
            steps=dict(summary),
            todo=[s.detail for s in rec.steps if s.status == "todo"],
            failed=[f"{s.step}: {s.detail}" for s in rec.steps if s.status == "failed"],
            incident=rec.incident,
            automatic=rec.automatic,
            findings=[f"{f.get('rule', '')}: {f.get('detail', '')}" for f in found][:8],
            post_excerpt=posts[0] if posts else "",
            tags=sorted({str(t) for f in found for t in f.get("attack", [])}),
        )

    _STEP_HANDLERS: ClassVar[Mapping[str, Callable[[Responder, _StepRun], Awaitable[tuple[str, str]]]]] = {
        "gate": _gate_step,
        "vault": _vault_step,
        "sessions": _sessions_step,
        "rotate": _rotate_step,
        "evidence": _evidence_step,
        "lock": _lock_step,
        "record": _record_step,
    }
    """What each freeze step does, in order, by the name the store records."""

    async def _platform(
        self, account: Account, action: Callable[[PlatformAdapter], Awaitable[str]]
    ) -> tuple[str, str]:
        adapter = await self._with_adapter(account)
        try:
            return "done", await action(adapter)
        except PlatformNotSupported as e:
            raise StepTodo(e.message) from None
        except SentinelError:
            # A failed call may leave a stale session behind: the next attempt starts afresh.
            stale = self._open.pop(account.id, None)
            if stale is not None:
                await stale.aclose()
            raise

    async def _revoke_sessions(self, adapter: PlatformAdapter) -> str:
        done: list[str] = []
        info = adapter.info
        keep = getattr(adapter, "credentials", {}).get("app_password_name", "")
        if info.supports(Capability.APP_PASSWORDS):
            for app in await adapter.list_app_passwords():
                if app.name != keep:
                    OwnChanges(self.store.store).note(adapter.account, "app_password", app.name)
                    await adapter.revoke_app_password(app.name)
                    done.append(f"app password {app.name} revoked")
        if info.supports(Capability.REVOKE_SESSIONS):
            await adapter.revoke_sessions()
            done.append("sessions revoked")
        elif info.supports(Capability.REVOKE_TOKEN):
            await adapter.revoke_token()
            done.append("token revoked")
        # what the account gained since its last known-good snapshot and no API removes
        appeared, since = appeared_since_good(self.store.store, adapter.account)
        manual = [
            f"{name.replace('_', ' ')} {item!r}"
            for name, items in appeared.items()
            if name != "app_password" or not info.supports(Capability.APP_PASSWORDS)
            for item in items
        ]
        if manual:
            if not done and not info.supports(Capability.REVOKE_SESSIONS):
                done.append(f"by hand: {info.manual.get(Capability.REVOKE_SESSIONS, 'end every session')}")
            done.append(
                f"by hand, new since the last known-good snapshot ({since}): remove {', '.join(manual)}"
            )
            raise StepTodo("; ".join(done))
        if not done:
            info.require(Capability.REVOKE_SESSIONS, adapter.account)
        return "; ".join(done)

    async def _lock(self, adapter: PlatformAdapter) -> str:
        adapter.info.require(Capability.LOCK_ACCOUNT, adapter.account)
        await adapter.lock()
        return "account locked at the platform"

    # -- unfreeze -------------------------------------------------------------------------------
    async def unfreeze(
        self, account: str, reason: str, actor: str, verified_step_up: bool, actor_id: str = ""
    ) -> FreezeRecord:
        """Lift a freeze. The caller has checked the ``unfreeze`` capability and the TOTP code.

        Two-person rule: whoever froze the account by hand cannot unfreeze it, by Vault
        identity (``actor_id``: every login of one entity is one person) or by name."""
        rec = self.store.get(account)
        if rec is None or not rec.frozen:
            raise SentinelError(f"account {account!r} is not frozen")
        if not verified_step_up:
            raise SentinelError("unfreeze needs a valid TOTP code from the responder")
        if not rec.automatic and (rec.actor == actor or (actor_id and rec.actor_id == actor_id)):
            raise SentinelError(
                f"two-person rule: {actor} froze {account} and cannot unfreeze it; ask another responder"
            )
        self.store.mark_unfrozen(account)
        notes: list[str] = []
        if self.containment is not None:
            await self._write_policy()
        if rec.operator and not self.store.frozen():
            # Sentinel's token may only disable entities (a stolen one must not undo an
            # administrator's disabling): giving the operator their login back is a person's act.
            notes.append(
                f"Vault entity {rec.operator!r} stays disabled: an administrator re-enables it "
                "(identity/entity/id/<id> disabled=false) once the operator's devices are clean"
            )
        acct = self.inventory.get(account)
        if acct is not None and self.adapters is not None:
            try:
                await self._platform(acct, self._unlock)
            except (StepTodo, SentinelError) as e:
                notes.append(f"unlock: {e}")
            finally:
                adapter = self._open.pop(account, None)
                if adapter is not None:
                    await adapter.aclose()
        if self.rotation is not None:
            await self.rotation.force_rotate(account, f"unfreeze: {reason}")
        now = self.store.get(account)
        if now is None or not now.frozen:  # not frozen again meanwhile (a new freeze keeps its block)
            self.gate.unblock(account)
        if rec.incident is not None:
            self.store.add_event(
                rec.incident, "action", actor, {"step": "unfreeze", "reason": reason, "notes": notes}, account
            )
            self.store.close_incident_if_clear(rec.incident)
        if self.audit:
            self.audit(actor, "unfreeze", account, {"reason": reason, "incident": rec.incident})
        if self.alert:
            self.alert(
                kind="unfreeze",
                severity="info",
                summary=f"{account} unfrozen by {actor}: {reason}",
                accounts=[account],
                incident=rec.incident,
                resolved=True,
                **({"todo": notes} if notes else {}),
            )
        out = self.store.get(account)
        assert out is not None
        return out

    async def _unlock(self, adapter: PlatformAdapter) -> str:
        if adapter.info.supports(Capability.LOCK_ACCOUNT):
            await adapter.unlock()
            return "unlocked"
        return "nothing to unlock"


STEPS: tuple[str, ...] = tuple(Responder._STEP_HANDLERS)
"""The freeze steps in the order they run (the module docstring says what each does)."""


def rotation_outcome(results: Any) -> tuple[str, str]:
    """The rotate step's status from what the rotator did for each credential."""
    done = [r for r in results or () if getattr(r, "status", "") in ("rotated", "resumed")]
    manual = [r for r in results or () if getattr(r, "status", "") == "manual"]
    if not done and not manual:
        raise StepTodo("no rotatable credential is listed for this account: change its credentials by hand")
    detail = f"{len(done)} credential(s) rotated; the new secrets are readable only by responders"
    if manual:
        names = ", ".join(getattr(r, "credential", "?") for r in manual)
        raise StepTodo(f"{detail}; by hand at the platform: {names} (no API to change them)")
    return "done", detail


def select_accounts(
    inventory: Inventory,
    ids: Sequence[str] = (),
    tags: Sequence[str] = (),
    platforms: Sequence[str] = (),
    operators: Sequence[str] = (),
    everything: bool = False,
) -> list[str]:
    return [a.id for a in inventory.select(ids, tags, platforms, operators, everything) if not a.retired]
