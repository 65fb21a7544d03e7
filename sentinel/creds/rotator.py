"""The crash-safe rotation protocol: create, set, test, finish.

For one credential (``accounts/<id>/<key>`` in the KV mount):

1. **create** - read the newest version (one read: data, version and custom_metadata). If
   it is above ``current_version`` a rotation is already pending: reuse it. Otherwise make
   the new secret (Vault's password policy, or the platform for app passwords and OAuth
   tokens) and store it as a new version with check-and-set against the version just read.
   That write *is* the pending marker; nothing else is written.
2. **set** - apply it at the platform (idempotent: a resumed password change first checks
   whether the platform already took it).
3. **test** - log in with the pending secret.
4. **finish** - revoke the old secret at the platform where that is a separate act (an old
   app password), then one metadata merge patch makes the pending version current and the
   old one previous, and sets ``max_versions`` so Vault prunes versions older than previous
   once their grace period is over (see ``CredentialState.finish_patch``).

A fresh password rotation is four Vault round trips (read, generate, write, patch); an app
password or OAuth rotation is three, plus one read of the main password where the platform
needs it. Until the finish patch the old version stays current, and from the pending write
on the new secret is in Vault too, so the secret that works at the platform is always there.
Revoking before the patch means a crash in between is resumed and finished; revoking again
is harmless.

Failures are retried with exponential backoff and jitter (each try resumes from Vault's
state); past ``attempts`` the rotation is *parked* (``state = parked`` in custom_metadata)
and an alert raised, the current credential untouched. A check-and-set conflict is never
retried over: someone else changed the credential, which is reported.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, get_args

import httpx

from sentinel import metrics
from sentinel.creds.kinds import Kind, Manual, Step, kind_of, works
from sentinel.creds.schedule import due_at, in_window, period_of
from sentinel.creds.settings import RotationSettings
from sentinel.creds.state import CredentialState
from sentinel.creds.store import CredentialStore, adapter_credentials
from sentinel.creds.transport import shared_client
from sentinel.errors import SentinelError, VaultConflict, VaultNotFound, VaultPermissionDenied
from sentinel.inventory import Account, CredentialSpec, Inventory
from sentinel.logs import get_logger
from sentinel.platforms import create_adapter
from sentinel.platforms.base import PlatformAdapter
from sentinel.platforms.errors import PlatformNotSupported
from sentinel.redact import register_statuses, scrub
from sentinel.retry import backoff_delay
from sentinel.vault import layout as L
from sentinel.vault.aio import LoopShared
from sentinel.vault.client import VaultClient

log = get_logger("sentinel.creds")
T = TypeVar("T")

Status = Literal[
    "rotated",
    "resumed",
    "not_due",
    "outside_window",
    "manual",
    "missing",
    "dry_run",
    "conflict",
    "parked",
    "failed",
    "cancelled",
    "nothing_pending",
]
register_statuses(get_args(Status))  # {"password": "rotated"} in an audit entry is no secret
AdapterFactory = Callable[[Account, Mapping[str, str]], PlatformAdapter]
AlertSink = Callable[..., None]
AuditSink = Callable[[str, str, str, Mapping[str, Any]], None]
Checkpoint = Callable[[str], None]

OK_STATUSES = frozenset({"rotated", "resumed", "not_due", "outside_window", "dry_run", "cancelled"})


@dataclass
class RotationResult:
    account: str
    credential: str
    kind: str
    status: Status
    detail: str = ""
    version: int | None = None
    previous: int | None = None
    attempts: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "key": self.credential,
            "kind": self.kind,
            "status": self.status,
            "ok": self.ok,
            "detail": scrub(self.detail),
            "version": self.version,
            "previous": self.previous,
            "attempts": self.attempts,
            "seconds": round(self.seconds, 3),
        }


def utcnow() -> datetime:
    return datetime.now(UTC)


class DefaultAdapters:
    """Adapters from the platform registry, all sharing one TLS context (loading the CA
    bundle costs ~20 ms, which would otherwise be paid on every rotation).

    Inside ``session()`` they also share one HTTP client on the running loop, so a batch
    of rotations keeps its connections to a platform open instead of connecting once per
    credential, over the lean transport of ``sentinel.creds.transport``; outside a session
    each adapter has its own httpx transport.
    """

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = dict(options or {})
        self._tls: ssl.SSLContext | None = None
        self._shared: LoopShared[httpx.AsyncClient] = LoopShared(self._new_client, httpx.AsyncClient.aclose)

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        return self._tls

    def __call__(self, account: Account, credentials: Mapping[str, str]) -> PlatformAdapter:
        opts = dict(self.options)
        if "transport" not in opts and "client" not in opts:
            shared = self._shared.current()
            if shared is not None:
                opts["client"] = shared
            else:
                opts["transport"] = httpx.AsyncHTTPTransport(verify=self._context())
        return create_adapter(account.platform, account.id, credentials, **opts)

    def _new_client(self) -> httpx.AsyncClient:
        return shared_client(self._context(), float(self.options.get("timeout", 15.0)))

    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """Share one connection pool among the adapters made inside (nests and overlaps)."""
        if "transport" in self.options or "client" in self.options:
            yield
            return
        async with self._shared.session():
            yield


def default_adapters(options: Mapping[str, Any] | None = None) -> DefaultAdapters:
    return DefaultAdapters(options)


@dataclass
class _Attempt:
    """What one try learnt, for the next try and for parking."""

    state: CredentialState | None = None
    pending: int | None = None
    fresh: bool = False


@dataclass
class Rotator:
    """Rotates credentials of the inventory's accounts; safe to call from many tasks."""

    vault: VaultClient
    inventory: Inventory
    settings: RotationSettings
    password_policy: str
    adapters: AdapterFactory = field(default_factory=default_adapters)
    on_alert: AlertSink | None = None
    audit: AuditSink | None = None
    actor: str = "sentinel"
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    checkpoint: Checkpoint | None = None
    """Called at every step boundary with the step's name (progress, fault injection)."""
    on_result: Callable[[RotationResult], None] | None = None
    on_own_change: Callable[[str, str, str], None] | None = None
    """``(account, field, value)`` before Sentinel adds or removes an item of an account's
    state (``sentinel.watcher.own_changes``)."""

    def __post_init__(self) -> None:
        self.store = CredentialStore(self.vault)
        self._locks: dict[str, asyncio.Lock] = {}
        self._running: set[tuple[str, str]] = set()

    # -- entry points -------------------------------------------------------------------------
    async def force_rotate(self, account: str, reason: str) -> list[RotationResult]:
        """Rotate every rotatable credential of ``account`` now, whatever the schedule (the
        responder calls this after a freeze and after an unfreeze). Raises ``SentinelError``
        when a credential that can be rotated could not be."""
        results = await self.rotate_account(account, force=True, reason=reason)
        bad = [r for r in results if r.status in ("parked", "failed", "conflict")]
        if bad:
            raise SentinelError(
                f"rotation of {account} did not complete: "
                + "; ".join(f"{r.credential}: {r.status} ({scrub(r.detail)})" for r in bad)
            )
        return results

    async def rotate_account(
        self,
        account_id: str,
        *,
        force: bool = False,
        dry_run: bool = False,
        reason: str = "",
        credentials: Sequence[str] | None = None,
    ) -> list[RotationResult]:
        account = self.inventory[account_id]
        specs = [c for c in account.credentials if credentials is None or c.key in credentials]
        return await self._in_order(account, specs, force, dry_run, reason)

    async def _in_order(
        self, account: Account, specs: Sequence[CredentialSpec], force: bool, dry_run: bool, reason: str
    ) -> list[RotationResult]:
        # One account's credentials one after the other, passwords first: rotating an app
        # password needs the main password, which must not change under it.
        ordered = sorted(specs, key=lambda c: c.kind != "password")
        async with self.session():
            return [
                await self.rotate(account, s, force=force, dry_run=dry_run, reason=reason) for s in ordered
            ]

    async def rotate_many(
        self,
        targets: Sequence[tuple[Account, CredentialSpec]],
        *,
        force: bool = False,
        dry_run: bool = False,
        reason: str = "",
    ) -> list[RotationResult]:
        """Rotate ``targets``: up to ``settings.concurrency`` accounts at once, each account's
        credentials in turn. Results come back in the order of ``targets``."""
        gate = asyncio.Semaphore(self.settings.concurrency)
        groups: dict[str, tuple[Account, list[CredentialSpec]]] = {}
        for account, spec in targets:
            groups.setdefault(account.id, (account, []))[1].append(spec)

        async def one(account: Account, specs: list[CredentialSpec]) -> list[RotationResult]:
            async with gate:
                return await self._in_order(account, specs, force, dry_run, reason)

        async with self.session():
            done = await asyncio.gather(*(one(a, specs) for a, specs in groups.values()))
        by_key = {(r.account, r.credential): r for results in done for r in results}
        return [by_key[(a.id, s.key)] for a, s in targets]

    def running(self) -> list[str]:
        return sorted(f"{a}/{k}" for a, k in self._running)

    async def rotate(
        self,
        account: Account,
        spec: CredentialSpec,
        *,
        force: bool = False,
        dry_run: bool = False,
        reason: str = "",
    ) -> RotationResult:
        """Rotate (or resume) one credential. Without ``force`` only a due one is rotated,
        inside the rotation window; a pending one is always resumed."""
        async with self._lock(account.id), self.session():
            self._running.add((account.id, spec.key))
            t0 = time.perf_counter()
            try:
                result = await self._rotate(account, spec, force, dry_run, reason)
            finally:
                self._running.discard((account.id, spec.key))
            result.seconds = time.perf_counter() - t0
        if not dry_run:
            metrics.ROTATIONS.labels(status=result.status, kind=result.kind).inc()
        if self.on_result is not None:
            self.on_result(result)
        # The log's redaction processor scrubs every value; a filtered-out event costs nothing.
        log.info(
            "rotation.result",
            account=account.id,
            key=spec.key,
            status=result.status,
            version=result.version,
            attempts=result.attempts,
            detail=result.detail or None,
        )
        return result

    async def _rotate(
        self, account: Account, spec: CredentialSpec, force: bool, dry_run: bool, reason: str
    ) -> RotationResult:
        kind = kind_of(spec.kind)

        def result(status: Status, detail: str = "", **kw: Any) -> RotationResult:
            return RotationResult(account.id, spec.key, spec.kind, status, detail, **kw)

        if isinstance(kind, Manual):
            return result("manual", kind.why)
        seen = _Attempt()
        last: SentinelError | None = None
        for attempt in range(1, self.settings.attempts + 1):
            try:
                out = await self._attempt(account, spec, kind, force, dry_run, reason, seen)
                out.attempts = attempt
                return out
            except VaultConflict as e:
                return result("conflict", _one_line(e.message), attempts=attempt)
            except PlatformNotSupported as e:
                return result("manual", _one_line(e.message), attempts=attempt)
            except VaultNotFound as e:
                if seen.state is None:
                    return result("missing", _one_line(e.message), attempts=attempt)
                last = e
            except VaultPermissionDenied as e:
                return result("failed", _one_line(e.message), attempts=attempt)
            except SentinelError as e:
                last = e
            except Exception as e:  # a bug or bad data: report it, never take the batch down
                log.error("rotation.error", account=account.id, key=spec.key, error=e.__class__.__name__)
                return result("failed", f"unexpected {e.__class__.__name__} (see the logs)", attempts=attempt)
            log.warning(
                "rotation.retry",
                account=account.id,
                key=spec.key,
                attempt=attempt,
                error=_one_line(last.message),
            )
            if attempt < self.settings.attempts:
                await self.sleep(
                    backoff_delay(attempt, self.settings.backoff, self.settings.backoff_max, self.rng)
                )
        assert last is not None
        return await self._give_up(account, spec, seen, last, reason)

    async def _give_up(
        self, account: Account, spec: CredentialSpec, seen: _Attempt, error: SentinelError, reason: str
    ) -> RotationResult:
        attempts = self.settings.attempts
        why = _one_line(error.message)
        st = seen.state
        status: Status = "failed"
        if st is not None and seen.pending is not None:
            status = "parked"
            try:
                await self._v(self.store.park, st, why, attempts, self.clock())
            except SentinelError as e:
                why += f" (and could not record the parking: {_one_line(e.message)})"
        what = (
            "parked (pending version kept; current credential unchanged)" if status == "parked" else "failed"
        )
        summary = f"Rotation of {account.id}/{spec.key} {what} after {attempts} attempts: {why}"
        self._alert(account, spec, summary, seen.pending, why)
        self._audit(
            "credential.rotation_parked" if status == "parked" else "credential.rotation_failed",
            account,
            spec,
            {"pending_version": seen.pending, "attempts": attempts, "error": why, "reason": reason},
        )
        return RotationResult(
            account.id, spec.key, spec.kind, status, why, version=seen.pending, attempts=attempts
        )

    # -- one try ------------------------------------------------------------------------------
    async def _attempt(
        self,
        account: Account,
        spec: CredentialSpec,
        kind: Kind,
        force: bool,
        dry_run: bool,
        reason: str,
        seen: _Attempt,
    ) -> RotationResult:
        self._check("load")
        loaded = await self.store.aload(account.id, spec.key)
        st = loaded.state
        seen.state = st

        def result(status: Status, detail: str = "", **kw: Any) -> RotationResult:
            return RotationResult(account.id, spec.key, spec.kind, status, detail, **kw)

        now = self.clock()
        if st.pending is None:
            if not force:
                at = due_at(st, period_of(spec, self.settings), self.settings.jitter)
                if at is None or at > now:
                    return result("not_due", f"due {at:%Y-%m-%d %H:%M}Z" if at else "no rotation period")
                if not in_window(self.settings.window, account, now):
                    return result("outside_window", f"window {self.settings.windows}")
            if dry_run:
                return result("dry_run", f"would rotate version {st.current}", version=st.current)
            if not st.recorded:
                await self._v(
                    self.store.record, st, spec.kind, account.platform, period_of(spec, self.settings), now
                )
            current = loaded.data
        else:
            if dry_run:
                return result("dry_run", f"would resume pending version {st.pending}", version=st.pending)
            current = await self.store.aread_version(account.id, spec.key, st.current)
        step = await self._step(account, spec, kind, current, {}, st.pending or st.newest + 1)
        adapter = step.adapter
        try:
            problem = kind.unsupported(adapter)
            if problem:
                return result("manual", problem)
            fresh = st.pending is None
            if fresh:
                self._check("create")
                step.pending = await kind.create(step)
                self._check("created")
                version = await self.store.awrite_pending(account.id, spec.key, step.pending, st.newest)
                step.version = version
            else:
                version = st.newest
                step.pending = dict(loaded.data)
            seen.pending = version
            self._check("stored")
            await kind.apply(step, fresh)
            self._check("applied")
            await kind.test(step)
            self._check("tested")
            await kind.retire(step)
            self._check("retired")
            await self.store.afinish(st, version, self.clock(), self._actor(reason), self.settings.grace)
            self._check("finished")
        finally:
            await adapter.aclose()
        self._audit(
            "credential.rotate",
            account,
            spec,
            {"version": version, "previous": st.current, "resumed": not fresh, "reason": reason},
        )
        status: Status = "rotated" if fresh else "resumed"
        return result(status, reason, version=version, previous=st.current)

    # -- cancel -------------------------------------------------------------------------------
    async def cancel(
        self, account_id: str, actor: str, credentials: Sequence[str] | None = None
    ) -> list[RotationResult]:
        """Abandon pending rotations of an account: the current version stays (written again
        as the newest), the pending one is destroyed and undone at the platform. Refused
        when the platform already took the pending secret and no longer takes the current one
        (then the rotation must be finished instead: ``sentinel rotate ACCOUNT``)."""
        account = self.inventory[account_id]
        out = []
        for spec in account.credentials:
            if credentials is not None and spec.key not in credentials:
                continue
            async with self._lock(account.id):
                out.append(await self._cancel(account, spec, actor))
        return out

    async def _cancel(self, account: Account, spec: CredentialSpec, actor: str) -> RotationResult:
        def result(status: Status, detail: str = "", **kw: Any) -> RotationResult:
            return RotationResult(account.id, spec.key, spec.kind, status, detail, **kw)

        try:
            loaded = await self._v(self.store.load, account.id, spec.key)
        except VaultNotFound as e:
            return result("missing", _one_line(e.message))
        st = loaded.state
        if st.pending is None:
            return result("nothing_pending", f"version {st.current} is current")
        kind = kind_of(spec.kind)
        current = await self._v(self.store.read_version, account.id, spec.key, st.current)
        step = await self._step(account, spec, kind, current, loaded.data, st.pending)
        adapter = step.adapter
        try:
            if not isinstance(kind, Manual) and kind.unsupported(adapter) is None:
                pending_ok = await works(adapter, kind.login(step, step.pending))
                current_ok = await works(adapter, kind.login(step, step.current))
                if pending_ok and not current_ok:
                    return result(
                        "failed",
                        f"the platform already uses pending version {st.pending}: finish the rotation "
                        f"with 'sentinel rotate {account.id}' instead",
                        version=st.pending,
                    )
                await kind.discard(step)
        finally:
            await adapter.aclose()
        version = await self._v(self.store.cancel, st, current, self.clock(), actor)
        self._audit(
            "credential.rotation_cancelled", account, spec, {"pending_version": st.pending, "by": actor}
        )
        return result(
            "cancelled", f"pending version {st.pending} destroyed", version=version, previous=st.current
        )

    # -- helpers ------------------------------------------------------------------------------
    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """Keep Vault and platform connections open across the rotations made inside."""
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(self.vault.session())
            shared = getattr(self.adapters, "session", None)
            if shared is not None:
                await stack.enter_async_context(shared())
            yield

    def _lock(self, account: str) -> asyncio.Lock:
        """One rotation at a time per account: its credentials depend on each other."""
        return self._locks.setdefault(account, asyncio.Lock())

    async def states(self, accounts: Sequence[Account]) -> dict[tuple[str, str], CredentialState | None]:
        """Every credential's state from its metadata (one read each)."""
        out: dict[tuple[str, str], CredentialState | None] = {}
        for account in accounts:
            for spec in account.credentials:
                out[(account.id, spec.key)] = await self._v(self.store.state, account.id, spec.key)
        return out

    async def _step(
        self,
        account: Account,
        spec: CredentialSpec,
        kind: Kind,
        current: Mapping[str, Any],
        pending: Mapping[str, Any],
        version: int,
    ) -> Step:
        """What a kind's platform steps work with; the adapter holds the current credentials
        (and those of the account's other credentials the kind needs)."""
        siblings = await self._siblings(account, spec, kind)
        creds = {**siblings, **adapter_credentials(spec.kind, current)}
        return Step(
            account=account.id,
            key=spec.key,
            adapter=self.adapters(account, creds),
            current=dict(current),
            pending=dict(pending),
            version=version,
            identifier=creds.get("identifier", account.handle),
            generate=self._generate,
            checkpoint=self._check,
            note=lambda name, value: (
                self.on_own_change(account.id, name, value) if self.on_own_change else None
            ),
        )

    async def _siblings(self, account: Account, spec: CredentialSpec, kind: Kind) -> dict[str, str]:
        keys = [c.key for c in account.credentials if c.kind in kind.needs and c.key != spec.key]
        if not keys:
            return {"identifier": account.handle}
        return await self._v(self.store.account_credentials, account, keys)

    async def _generate(self) -> str:
        return await self.vault.agenerate_password(self.password_policy)

    async def _v(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    def _check(self, name: str) -> None:
        if self.checkpoint is not None:
            self.checkpoint(name)

    def _actor(self, reason: str) -> str:
        return f"{self.actor}: {reason}" if reason else self.actor

    def _alert(
        self, account: Account, spec: CredentialSpec, summary: str, pending: int | None, why: str
    ) -> None:
        log.error("rotation.parked" if pending else "rotation.failed", account=account.id, key=spec.key)
        if self.on_alert is None:
            return
        try:
            self.on_alert(
                kind="rotation_failed",
                severity="error",
                summary=scrub(summary),
                accounts=(account.id,),
                details={
                    "key": spec.key,
                    "pending_version": str(pending or ""),
                    "error": scrub(why),
                    "cancel": f"sentinel rotate --cancel {account.id}",
                },
            )
        except Exception as e:  # an alert path failure must never break rotation
            log.error("rotation.alert_failed", error=str(e))

    def _audit(self, action: str, account: Account, spec: CredentialSpec, details: Mapping[str, Any]) -> None:
        if self.audit is None:
            return
        try:
            self.audit(
                self.actor, action, L.credential_path(account.id, spec.key), {"kind": spec.kind, **details}
            )
        except SentinelError as e:
            log.error("rotation.audit_failed", error=e.message)


def _one_line(text: str) -> str:
    return " ".join(scrub(text).split())[:400]
