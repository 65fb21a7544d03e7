"""Follow the sandbox platform's event stream (``GET /api/stream``, server-sent events).

Shaped like Bluesky's repository stream: one stream per sandbox server for every account it
hosts, filtered to the watched handles; each event's ``seq`` is the cursor, kept in the
state store so a restart resumes after it. Every ``post`` or ``delete`` of a watched
account wakes its reconcile. For the demo and ``bench/watcher.py``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx

from sentinel.logs import get_logger
from sentinel.watcher.mastodon_stream import bounded_lines, server_events
from sentinel.watcher.streams import POSTS, Change, CursorStream, OnChange, OnLive, StreamCursors

log = get_logger("sentinel.watcher.sandbox_stream")


class SandboxStream(CursorStream):
    errors = (httpx.HTTPError, ValueError, KeyError, TypeError)

    def __init__(
        self,
        cursors: StreamCursors,
        service: str,
        on_change: OnChange,
        on_live: OnLive,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        read_timeout: float = 60.0,
        max_backoff: float = 60.0,
    ) -> None:
        self.service = service.rstrip("/")
        super().__init__(cursors, f"sandbox:{self.service}", on_change, on_live, max_backoff, clock)
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=read_timeout))

    def handle(self, kind: str, data: str) -> None:
        self.frames += 1
        try:
            body = json.loads(data)
        except RecursionError:
            raise ValueError("a stream event nests deeper than the JSON decoder goes") from None
        if not isinstance(body, dict):
            raise ValueError("a stream event is not a JSON object")
        account = self.accounts.get(str(body.get("account", "")))
        if account is not None:
            self.on_change(Change(account, POSTS, f"{kind} {body.get('post_id', '')}", self.source))
        self.advance(int(body["seq"]), account is not None)

    async def _follow(self) -> None:
        cursor = self.cursor()
        params = {"cursor": cursor} if cursor else {}
        async with self._client.stream("GET", self.service + "/api/stream", params=params) as response:
            response.raise_for_status()
            self._set_live(True)
            async for event in server_events(bounded_lines(response.aiter_text())):
                if event.event in ("post", "delete"):
                    self.handle(event.event, event.data)

    async def aclose(self) -> None:
        await self._client.aclose()
