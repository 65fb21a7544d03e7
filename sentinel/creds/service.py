"""The rotator as a daemon service: scheduled rotations, resume after restart, forced ones.

``RotationService`` follows the daemon's ``Service`` protocol (``start``, ``stop``,
``reload``, ``status``). At start it registers itself as ``app.extras["rotator"]`` (the
responder calls ``force_rotate(account, reason)`` after a freeze and after an unfreeze) and
runs a loop: every ``scan_interval`` it plans from the credentials' states (a full re-read
of Vault's metadata every ``rescan``, and right after each rotation for that credential),
resumes pending rotations first, then rotates what is due inside the window, at most
``concurrency`` accounts at once. Parked rotations wait for a person (``sentinel rotate``
resumes, ``sentinel rotate --cancel`` abandons) or a forced rotation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sentinel.creds.rotator import RotationResult, Rotator, default_adapters, utcnow
from sentinel.creds.schedule import Due, plan
from sentinel.creds.state import CredentialState
from sentinel.errors import SentinelError
from sentinel.logs import get_logger
from sentinel.watcher.own_changes import OwnChanges

if TYPE_CHECKING:
    from sentinel.cli.context import Context
    from sentinel.daemon import App

log = get_logger("sentinel.creds")


class RotationService:
    name = "rotation"

    def __init__(self, adapter_options: Mapping[str, Any] | None = None) -> None:
        self.adapter_options = dict(adapter_options or {})
        self.rotator: Rotator | None = None
        self.app: App | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._states: dict[tuple[str, str], CredentialState | None] = {}
        self._scanned = 0.0
        self._plan: list[Due] = []
        self._last: dict[str, dict[str, Any]] = {}
        self.passes = 0

    # -- Service protocol -------------------------------------------------------------------
    async def start(self, app: App) -> None:
        """Register with the app and start the loop; the rotator itself is made once Vault is
        there (the daemon keeps running while Vault is down)."""
        self.app = app
        app.extras["rotator"] = self
        self._ensure_rotator()
        self._task = asyncio.create_task(self._loop(), name="rotation-scheduler")

    def _ensure_rotator(self) -> Rotator | None:
        app = self.app
        if self.rotator is not None or app is None or app.vault is None:
            return self.rotator

        def alert(**kw: Any) -> None:
            kind, severity, summary = kw.pop("kind"), kw.pop("severity"), kw.pop("summary")
            app.raise_alert(kind, severity, summary, **kw)

        def audit(actor: str, action: str, target: str, details: Mapping[str, Any]) -> None:
            if app.audit is not None:  # held in memory while the store cannot take it
                app.audit.record(actor, action, target, details)

        self.rotator = Rotator(
            vault=app.vault,
            inventory=app.inventory,
            settings=app.config.rotation,
            password_policy=app.config.vault.password_policy,
            adapters=default_adapters(self.adapter_options),
            on_alert=alert,
            audit=audit,
            on_result=self._remember,
            on_own_change=OwnChanges(app.store).note,
        )
        return self.rotator

    async def stop(self) -> None:
        """Stop scheduling; a rotation in flight is cancelled where it stands (it resumes at
        the next start: every step is safe to repeat)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def reload(self, app: App) -> None:
        self.app = app
        if self.rotator is not None:
            self.rotator.inventory = app.inventory
            self.rotator.settings = app.config.rotation
            self.rotator.password_policy = app.config.vault.password_policy
        self._scanned = 0.0  # re-read every state on the next pass
        self._wake.set()

    def status(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for d in self._plan:
            counts[d.reason] = counts.get(d.reason, 0) + 1
        return {
            "passes": self.passes,
            "running": self.rotator.running() if self.rotator else [],
            "plan": counts,
            "last": dict(list(self._last.items())[-10:]),
        }

    # -- what the responder and the API call ------------------------------------------------
    async def force_rotate(self, account: str, reason: str) -> list[RotationResult]:
        """Rotate every credential of ``account`` now (after a freeze, after an unfreeze);
        raises ``SentinelError`` if one could not be rotated."""
        return await self._need().force_rotate(account, reason)

    async def cancel(self, account: str, actor: str) -> list[RotationResult]:
        return await self._need().cancel(account, actor)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """Keep Vault and platform connections open across several rotations (the responder
        holds one for a whole lockdown)."""
        rotator = self._ensure_rotator()
        if rotator is None:
            yield
            return
        async with rotator.session():
            yield

    def _need(self) -> Rotator:
        rotator = self._ensure_rotator()
        if rotator is None:
            raise SentinelError("credentials cannot be rotated: Vault is not connected")
        return rotator

    def wake(self) -> None:
        """Plan again now (after a reload, or when something changed in Vault)."""
        self._wake.set()

    # -- the loop ---------------------------------------------------------------------------
    async def _loop(self) -> None:
        while True:
            try:
                await self.run_pass()
            except asyncio.CancelledError:
                raise
            except SentinelError as e:
                log.error("rotation.pass_failed", error=e.message)
                if self.app is not None:
                    self.app.record_error("rotation", e.message)
            interval = self.app.config.rotation.scan_interval if self.app else 60.0
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            except TimeoutError:
                pass
            self._wake.clear()

    async def run_pass(self) -> list[RotationResult]:
        """One planning pass: refresh states when stale, then resume and rotate what is runnable."""
        app, rotator = self.app, self._ensure_rotator()
        assert app is not None
        self.passes += 1
        if not app.vault_ok or rotator is None:
            return []
        settings = app.config.rotation
        accounts = app.inventory.active
        if time.monotonic() - self._scanned >= settings.rescan or not self._states:
            self._states = await rotator.states(accounts)
            self._scanned = time.monotonic()
        self._plan = plan(accounts, self._states, settings, utcnow())
        runnable = [
            d for d in self._plan if d.reason == "pending" or (settings.enabled and d.reason == "due")
        ]
        if not runnable:
            return []
        by_id = {a.id: a for a in accounts}
        targets = []
        for d in runnable:
            account = by_id[d.account]
            spec = next(c for c in account.credentials if c.key == d.credential)
            targets.append((account, spec))
        results = await rotator.rotate_many(targets, force=False, reason="scheduled")
        for account, spec in targets:
            self._states[(account.id, spec.key)] = await asyncio.to_thread(
                rotator.store.state, account.id, spec.key
            )
        return results

    def _remember(self, result: RotationResult) -> None:
        key = f"{result.account}/{result.credential}"
        self._last.pop(key, None)
        self._last[key] = {"status": result.status, "version": result.version, "at": time.time()}


def cli_rotation(ctx: Context) -> Rotator:
    """A rotator for a CLI command (``sentinel rotate``, ``sentinel lockdown``): Sentinel's own
    Vault token, the audit trail and, where the alerts package offers one, the alert outbox."""
    from sentinel.audit import AuditTrail
    from sentinel.audit_keys import audit_keystore

    trail = AuditTrail(ctx.store, audit_keystore(ctx.config, ctx.vault))

    def audit(actor: str, action: str, target: str, details: Mapping[str, Any]) -> None:
        trail.append(actor, action, target, details)

    return Rotator(
        vault=ctx.vault,
        inventory=ctx.inventory,
        settings=ctx.config.rotation,
        password_policy=ctx.config.vault.password_policy,
        on_alert=ctx.alert_sink(),
        audit=audit,
        on_own_change=OwnChanges(ctx.store).note,
    )
