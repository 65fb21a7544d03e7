"""The watcher as a daemon service: every active account's timeline, into the guard."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from sentinel.errors import SentinelError
from sentinel.logs import get_logger
from sentinel.response.service import VaultAdapters
from sentinel.watcher.ledger import PublishedLedger
from sentinel.watcher.push import PushSources
from sentinel.watcher.watcher import WatchedAccount, Watcher

if TYPE_CHECKING:
    from sentinel.daemon import App
    from sentinel.post_guard import Guard

log = get_logger("sentinel.watcher")


class WatcherService:
    name = "watcher"

    def __init__(self) -> None:
        self.watcher: Watcher | None = None
        self.adapters: VaultAdapters | None = None
        self.push: PushSources | None = None
        self._task: asyncio.Task[None] | None = None
        self.skipped: dict[str, str] = {}

    async def start(self, app: App) -> None:
        guard: Guard = app.extras["guard"]
        ledger = PublishedLedger(app.store, window=app.config.watcher.reconcile_window)
        guard.ledger = ledger
        s = app.config.watcher
        self.watcher = Watcher(
            app.store,
            [],
            guard.observe,
            ledger=ledger,
            intervals={k: float(v) for k, v in s.intervals.items()},
            max_backoff=s.max_backoff,
            concurrency=s.concurrency,
            since=float(int(time.time()) - 1),  # platform timestamps have whole seconds
            slow=lambda account: guard.engine is not None and guard.engine.frozen(account) is not None,
        )
        if s.streams:
            self.push = PushSources(self.watcher, floor=float(s.stream_poll_interval))
            app.extras["push"] = self.push
        if app.vault is None or not app.vault_ok:
            log.warning("watcher.no_vault", note="accounts are added once Vault is reachable")
        else:
            await self.vault_back(app)
        self._task = asyncio.create_task(self.watcher.run())

    async def vault_back(self, app: App) -> None:
        """Vault is usable (at start, or again): watch every active account not watched yet,
        those Vault could not give credentials for before included."""
        if self.watcher is None or app.vault is None:
            return
        if self.adapters is None:
            self.adapters = VaultAdapters(app.vault)
        if await self._add_missing(app):
            log.info("watcher.started", accounts=len(self.watcher.state), skipped=len(self.skipped))

    async def _add_missing(self, app: App) -> int:
        """Add the active accounts not watched yet; how many were added."""
        assert self.watcher is not None and self.adapters is not None
        added = 0
        for account in app.inventory.active:
            if account.id in self.watcher.state:
                continue
            try:
                adapter = await self.adapters(account)
            except SentinelError as e:
                self.skipped[account.id] = e.message
                log.warning("watcher.account_skipped", account=account.id, error=e.message)
                continue
            self.skipped.pop(account.id, None)
            self.watcher.add(WatchedAccount(account.id, adapter, gated=account.gated))
            if self.push is not None:
                await self.push.add(account.id, adapter)
            added += 1
        return added

    async def stop(self) -> None:
        if self.push is not None:
            await self.push.stop()
        if self.watcher is not None:
            self.watcher.stop()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=10)
        if self.adapters is not None:
            await self.adapters.aclose()

    async def reload(self, app: App) -> None:
        if self.watcher is None or self.adapters is None:
            return
        wanted = {a.id for a in app.inventory.active}
        for watched in list(self.watcher.state):
            if watched not in wanted:
                self.watcher.remove(watched)
                if self.push is not None:
                    self.push.remove(watched)
        await self._add_missing(app)

    def status(self) -> dict[str, Any]:
        if self.watcher is None:
            return {}
        st = self.watcher.status()
        return {
            "accounts": len(st),
            "failing": sorted(a for a, s in st.items() if s["errors"]),
            "skipped": self.skipped,
            "events": sum(s["events"] for s in st.values()),
            "streams": self.push.status() if self.push is not None else {},
        }
