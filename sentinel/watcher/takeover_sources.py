"""The takeover sources as a daemon service: account-state snapshots and Vault's audit log.

Both hand their dicts — account events from ``AccountStateWatcher`` and raw audit entries
from ``AuditLogTailer`` — to one sink, the guard's ``takeover_event``, in the shapes
``sentinel replay`` reads. The audit log is tailed when ``[vault] audit_log`` names it;
every active account whose platform shows its state is snapshotted every ``[watcher]
account_state_interval``, and at once when the watcher's streams report a change to its
profile or identity (``PushSources.on_account``). Adapters read their credentials from Vault; when a platform
refuses them (a rotation changed them since) the adapter is made again from Vault once.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from sentinel.errors import SentinelError
from sentinel.logs import get_logger
from sentinel.platforms.base import PlatformAdapter
from sentinel.response.service import VaultAdapters
from sentinel.vault.audit_log import AuditLogTailer, ProblemHook
from sentinel.watcher.account_state import AccountStateWatcher, Reconnect
from sentinel.watcher.push import PushSources
from sentinel.watcher.streams import Change

if TYPE_CHECKING:
    from sentinel.daemon import App
    from sentinel.inventory import Account

log = get_logger("sentinel.watcher.takeover_sources")


class TakeoverSources:
    name = "takeover_sources"

    def __init__(self) -> None:
        self.accounts: AccountStateWatcher | None = None
        self.tailer: AuditLogTailer | None = None
        self.adapters: VaultAdapters | None = None
        self.push: PushSources | None = None
        self.skipped: dict[str, str] = {}
        self._tail: asyncio.Task[None] | None = None

    async def start(self, app: App) -> None:
        sink = app.extras["guard"].takeover_event
        if app.config.vault.audit_log is not None:
            self.tailer = AuditLogTailer(
                app.config.vault.audit_log, app.store, sink, on_problem=self._audit_problem(app)
            )
            self._tail = asyncio.create_task(self.tailer.run(), name="vault-audit-log")
        s = app.config.watcher
        self.accounts = AccountStateWatcher(
            app.store,
            sink,
            interval=float(s.account_state_interval),
            jitter=s.account_state_jitter,
            reconnect=self._reconnect(app),
        )
        if app.vault is None or not app.vault_ok:
            log.warning("takeover_sources.no_vault", note="account snapshots start once Vault is reachable")
        else:
            self.adapters = VaultAdapters(app.vault)
            for account in app.inventory.active:
                await self._add(account)
        await self.accounts.run()
        self.push = app.extras.get("push")
        if self.push is not None:
            self.push.on_account = self._pushed
        log.info(
            "takeover_sources.started",
            accounts=len(self.accounts.state),
            audit_log=str(app.config.vault.audit_log or ""),
        )

    @staticmethod
    def _audit_problem(app: App) -> ProblemHook:
        """Alert while Vault's audit log cannot be read (resolved when it is read again), and for
        each entry too long to judge."""

        def report(kind: str, message: str | None) -> None:
            if kind == "oversized":
                app.raise_alert(
                    "vault_audit_oversized",
                    "high",
                    f"Vault audit log: {message}",
                    dedup_key="vault_audit_oversized",  # one incident however many
                )
                return
            key = "vault_audit_unreadable"
            if message is None:
                app.raise_alert(key, "info", "Vault's audit log is read again.", dedup_key=key, resolved=True)
                return
            app.raise_alert(
                key,
                "high",
                f"Vault's audit log is not being read, so credential reads go unjudged: {message}.",
                dedup_key=key,
            )

        return report

    def _pushed(self, change: Change) -> None:
        if self.accounts is not None:
            self.accounts.poke(change.account)

    def _reconnect(self, app: App) -> Reconnect:
        async def again(account_id: str) -> PlatformAdapter | None:
            account = app.inventory.get(account_id)
            if account is None or self.adapters is None:
                return None
            return await self.adapters(account)

        return again

    async def _add(self, account: Account) -> None:
        assert self.accounts is not None and self.adapters is not None
        try:
            adapter = await self.adapters(account)
        except SentinelError as e:
            self.skipped[account.id] = e.message
            log.warning("takeover_sources.account_skipped", account=account.id, error=e.message)
            return
        if not self.accounts.add(account.id, adapter):
            await adapter.aclose()

    async def stop(self) -> None:
        if self.push is not None:
            self.push.on_account = None
        if self.accounts is not None:
            await self.accounts.stop()
            for watched in self.accounts.state.values():
                await watched.adapter.aclose()
        if self.tailer is not None:
            self.tailer.stop()
        if self._tail is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._tail, timeout=10)
        if self.adapters is not None:
            await self.adapters.aclose()

    async def reload(self, app: App) -> None:
        if self.accounts is None or self.adapters is None:
            return
        wanted = {a.id: a for a in app.inventory.active}
        for gone in set(self.accounts.state) - set(wanted):
            self.accounts.remove(gone)
        for account_id, account in wanted.items():
            if account_id not in self.accounts.state:
                await self._add(account)

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"skipped": self.skipped}
        if self.accounts is not None:
            st = self.accounts.status()
            out["accounts"] = len(st)
            out["failing"] = sorted(a for a, s in st.items() if s["errors"])
            out["account_events"] = sum(s["events"] for s in st.values())
        if self.tailer is not None:
            out["audit_log"] = self.tailer.status()
        return out
