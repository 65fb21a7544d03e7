"""The watcher's push sources: which accounts a stream covers, and what a push does.

``PushSources`` opens one Bluesky event stream per PDS and one sandbox stream per sandbox
server that host a watched account, one Mastodon user stream per Mastodon account, and
knows which accounts Meta's and X's webhooks name (by the platform id in their credential).
It wires every source the same way: a change to an account's posts wakes its reconcile
(``Watcher.wake``), a change to its identity or profile is handed to ``on_account`` (the
account-state snapshot, where one runs), and a stream coming up or going down switches
its accounts between the stream floor and the platform's poll interval
(``Watcher.set_streamed``). Webhooks (``sentinel.api.hooks``) call ``wake`` directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from sentinel import metrics
from sentinel.errors import SentinelError
from sentinel.logs import get_logger
from sentinel.platforms.base import PlatformAdapter
from sentinel.watcher.bluesky_stream import BlueskyStream, did_of, service_of
from sentinel.watcher.mastodon_stream import MastodonStream
from sentinel.watcher.sandbox_stream import SandboxStream
from sentinel.watcher.streams import ACCOUNT, POSTS, Change, PushStream, StreamCursors
from sentinel.watcher.watcher import Watcher

log = get_logger("sentinel.watcher.push")

OnAccount = Callable[[Change], None]
HOOK_IDS = {"facebook": ("meta", "page_id"), "instagram": ("meta", "ig_user_id"), "x": ("x", "user_id")}
"""Platform -> (webhook, the credential field holding the id deliveries name)."""


class PushSources:
    def __init__(
        self,
        watcher: Watcher,
        *,
        floor: float = 300.0,
        on_account: OnAccount | None = None,
        max_backoff: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.watcher = watcher
        self.floor = floor
        self.on_account = on_account
        self.max_backoff = max_backoff
        self.cursors = StreamCursors(watcher.store)
        self.bluesky: dict[str, BlueskyStream] = {}
        self.mastodon: dict[str, MastodonStream] = {}
        self.sandbox: dict[str, SandboxStream] = {}
        self.transport = transport
        self._retired: list[MastodonStream] = []
        self.changes = 0
        self.hooked: dict[str, dict[str, PlatformAdapter]] = {}
        """Webhook name -> account -> adapter (whose credential names the platform id)."""
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def add(self, account: str, adapter: PlatformAdapter) -> bool:
        """Follow ``account`` on its platform's stream or webhook, where there is one."""
        hook = HOOK_IDS.get(adapter.info.platform)
        if hook is not None:
            self.hooked.setdefault(hook[0], {})[account] = adapter
            return True
        if adapter.info.platform == "mastodon":
            self._add_mastodon(account, adapter)
            return True
        if adapter.info.platform == "sandbox":
            self._add_sandbox(account, adapter)
            return True
        if adapter.info.platform != "bluesky":
            return False
        try:
            did = await did_of(adapter)
        except SentinelError as e:
            log.warning("watcher.stream_skipped", account=account, error=e.message)
            return False
        service = service_of(adapter)
        stream = self.bluesky.get(service)
        if stream is None:
            stream = BlueskyStream(
                self.cursors, service, self.change, self.live, max_backoff=self.max_backoff
            )
            self.bluesky[service] = stream
            self._tasks[stream.source] = asyncio.create_task(stream.run(), name=f"stream {stream.source}")
        stream.watch(did, account)
        return True

    def _add_mastodon(self, account: str, adapter: PlatformAdapter) -> None:
        creds: Mapping[str, str] = getattr(adapter, "credentials", {})
        service = creds.get("streaming") or creds.get("service", "")
        stream = MastodonStream(
            account,
            service,
            lambda: creds.get("access_token", ""),
            lambda: creds.get("account_id", ""),
            lambda post_id: self.watcher.has_seen(account, post_id),
            self.change,
            self.live,
            transport=self.transport,
            max_backoff=self.max_backoff,
        )
        self.mastodon[account] = stream
        self._tasks[stream.source] = asyncio.create_task(stream.run(), name=f"stream {stream.source}")

    def _add_sandbox(self, account: str, adapter: PlatformAdapter) -> None:
        service = str(getattr(adapter, "service", ""))
        stream = self.sandbox.get(service)
        if stream is None:
            client = httpx.AsyncClient(transport=self.transport, timeout=httpx.Timeout(10.0, read=60.0))
            stream = SandboxStream(
                self.cursors, service, self.change, self.live, client=client, max_backoff=self.max_backoff
            )
            self.sandbox[service] = stream
            self._tasks[stream.source] = asyncio.create_task(stream.run(), name=f"stream {stream.source}")
        creds: Mapping[str, str] = getattr(adapter, "credentials", {})
        stream.watch(creds.get("identifier", ""), account)

    def wake_ids(self, hook: str, ids: Sequence[str]) -> list[str]:
        """Wake the accounts whose platform id a verified webhook named; the accounts woken.

        The id is read from the credential when the delivery comes (X's user id is learnt
        at the first poll)."""
        wanted = set(ids)
        woken = []
        for account, adapter in self.hooked.get(hook, {}).items():
            creds: Mapping[str, str] = getattr(adapter, "credentials", {})
            if creds.get(HOOK_IDS[adapter.info.platform][1]) in wanted and self.watcher.wake(account):
                woken.append(account)
                metrics.WATCHER_PUSHES.labels(source=hook, kind=POSTS).inc()
        return sorted(woken)

    def remove(self, account: str) -> None:
        gone = self.mastodon.pop(account, None)
        if gone is not None:
            gone.stop()
            task = self._tasks.get(gone.source)
            if task is not None:
                task.cancel()
            self._retired.append(gone)
        for accounts in self.hooked.values():
            accounts.pop(account, None)
        for stream in [*self.bluesky.values(), *self.sandbox.values()]:
            stream.unwatch(account)

    def change(self, change: Change) -> None:
        self.changes += 1
        metrics.WATCHER_PUSHES.labels(source=change.source.partition(":")[0], kind=change.kind).inc()
        log.info(
            "watcher.pushed", account=change.account, kind=change.kind, what=change.what, source=change.source
        )
        if change.kind == POSTS:
            self.watcher.wake(change.account)
        elif change.kind == ACCOUNT and self.on_account is not None:
            self.on_account(change)

    def live(self, account: str, up: bool) -> None:
        self.watcher.set_streamed(account, up, self.floor)

    def streams(self) -> list[PushStream]:
        return [*self.bluesky.values(), *self.mastodon.values(), *self.sandbox.values()]

    async def stop(self) -> None:
        for stream in self.streams():
            stream.stop()
        for task in self._tasks.values():
            task.cancel()  # a connection may be waiting for its next event
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        for stream in [*self.streams(), *self._retired]:
            await stream.aclose()

    def status(self) -> dict[str, dict[str, Any]]:
        return {
            s.source: {
                "live": s.live,
                "accounts": len(s.accounts),
                "frames": s.frames,
                "failures": s.failures,
            }
            for s in self.streams()
        }
