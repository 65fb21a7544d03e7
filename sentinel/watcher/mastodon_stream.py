"""Follow a Mastodon account's user stream (``GET /api/v1/streaming/user``, server-sent events).

One stream per account credential (the user stream is the token's own): ``event: update``
and ``event: status.update`` carry a status as JSON in ``data:``, ``event: delete`` a status
id, ``event: notification`` and others are not the account's posts. A status written by the
account itself (``status.account.id`` is the credential's ``account_id``; any status while
that id is not known yet) wakes its reconcile, and so does the deletion of a post the
watcher has seen on it; statuses of the people it follows (the home timeline shares the
stream) do not. Mastodon sends a heartbeat comment every few seconds, so a stream silent
for ``read_timeout`` seconds is taken as lost: the account falls back to polling, and the
stream is opened again with backoff (each connection reconciles once).

A hostile or broken server cannot hold memory: a line is never buffered past ``MAX_LINE``
characters, nor an event's data past ``MAX_LINE`` in all (either drops the connection, to be
opened again with backoff), and a status nested past the JSON decoder is not a status.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

from sentinel.logs import get_logger
from sentinel.redact import register_secret
from sentinel.watcher.streams import POSTS, Change, OnChange, OnLive, PushStream

log = get_logger("sentinel.watcher.mastodon_stream")

PATH = "/api/v1/streaming/user"
READ_TIMEOUT = 60.0
MAX_LINE = 1 << 20
_EOL = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class ServerEvent:
    event: str
    data: str


async def bounded_lines(text: AsyncIterator[str]) -> AsyncIterator[str]:
    """The lines of a decoded event stream (each ended by CRLF, LF or CR), holding at most
    ``MAX_LINE`` characters of an unfinished one: ``ValueError`` past that."""
    pending = ""
    async for chunk in text:
        pending += chunk
        start = 0
        for end in _EOL.finditer(pending):
            if end.group() == "\r" and end.end() == len(pending):
                break  # perhaps half a CRLF: the next chunk tells
            yield pending[start : end.start()]
            start = end.end()
        pending = pending[start:]
        if len(pending) > MAX_LINE:
            raise ValueError("an event-stream line is longer than 1 MiB")
    if pending:
        yield pending.removesuffix("\r")


async def server_events(lines: AsyncIterator[str]) -> AsyncIterator[ServerEvent]:
    """The events of a ``text/event-stream`` (comments, ids and retry hints are skipped);
    ``ValueError`` for a line or an event's data longer than ``MAX_LINE``."""
    event, data = "", list[str]()
    size = 0
    async for line in lines:
        if len(line) > MAX_LINE:
            raise ValueError("an event-stream line is longer than 1 MiB")
        if not line:
            if data:
                yield ServerEvent(event or "message", "\n".join(data))
            event, data, size = "", [], 0
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            size += len(value) + 1
            if size > MAX_LINE:
                raise ValueError("an event's data is longer than 1 MiB")
            data.append(value)


def change_of(event: ServerEvent, own_id: str, seen: Callable[[str], bool]) -> str | None:
    """What a user-stream event says about the account's own posts (``None``: nothing)."""
    if event.event in ("update", "status.update"):
        try:
            status = json.loads(event.data)
        except (ValueError, RecursionError):
            return None
        author = str(((status.get("account") or {}) if isinstance(status, dict) else {}).get("id", ""))
        if own_id and author != own_id:
            return None
        return f"{event.event} {status.get('id', '') if isinstance(status, dict) else ''}"
    if event.event == "delete" and seen(event.data.strip()):
        return f"delete {event.data.strip()}"
    return None


class MastodonStream(PushStream):
    """One account's user stream, handing its own posts' changes to ``on_change``."""

    errors = (httpx.HTTPError, ValueError)

    def __init__(
        self,
        account: str,
        service: str,
        token: Callable[[], str],
        own_id: Callable[[], str],
        seen: Callable[[str], bool],
        on_change: OnChange,
        on_live: OnLive,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        read_timeout: float = READ_TIMEOUT,
        max_backoff: float = 60.0,
    ) -> None:
        self.service = service.rstrip("/")
        super().__init__(f"mastodon:{self.service}:{account}", on_change, on_live, max_backoff)
        self.account = account
        self.watch(account, account)
        self.token = token
        self.own_id = own_id
        self.seen = seen
        self._client = httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(10.0, read=read_timeout), follow_redirects=False
        )

    async def _follow(self) -> None:
        token = self.token()
        register_secret(token)
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        async with self._client.stream("GET", self.service + PATH, headers=headers) as response:
            response.raise_for_status()
            self._set_live(True)
            log.info("watcher.stream_up", source=self.source)
            async for event in server_events(bounded_lines(response.aiter_text())):
                self.frames += 1
                what = change_of(event, self.own_id(), self.seen)
                if what is not None:
                    self.on_change(Change(self.account, POSTS, what, self.source))

    async def aclose(self) -> None:
        await self._client.aclose()
