"""A small HTTP/1.1 keep-alive pool on asyncio streams, for calls from the event loop.

The rotation hot path makes four Vault calls per credential. Through hvac each costs a
thread hop (hvac is synchronous) and ~0.4-0.6 ms of CPU in requests; this pool sends the
same JSON requests from the event loop at about a tenth of that. Only Vault (one origin
the operator configures) is spoken to this way; platforms on the open internet go through
httpx's own transport (see ``sentinel.creds.transport``).

It speaks only what those APIs need: one request at a time per connection, bodies with
``Content-Length``, answers framed by ``Content-Length``, chunked encoding or the end of
the connection. Idle connections are reused. A reused connection that ends before a
single byte of the answer arrived is one the server closed while it was idle: the request
goes once more on a new connection (as urllib3 and browsers do).

A pool belongs to one event loop (``LoopShared`` keeps one per loop, opened by the first
session and closed by the last). Errors are raised as ``OSError`` subclasses,
``TimeoutError`` or ``asyncio.IncompleteReadError``; the callers translate them.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast
from urllib.parse import urlsplit

R = TypeVar("R")

MAX_IDLE = 32
"""Idle connections kept per pool (more than the rotator's concurrency)."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    """Lower-cased names (the last of repeated ones)."""
    body: bytes
    raw_headers: tuple[tuple[str, str], ...] = ()
    """As received, in order, repeats kept."""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used = False

    def close(self) -> None:
        self.writer.close()


class StaleConnection(OSError):
    """A reused connection was closed by the server before it answered anything."""


class ConnectFailed(OSError):
    """No connection could be opened (nothing was sent)."""


class BadAnswer(OSError):
    """The server's answer is not HTTP/1.x as this pool reads it."""


class Pool:
    """Keep-alive connections to one origin (a Vault address, a platform host), for the
    loop that created the pool."""

    def __init__(
        self,
        addr: str,
        ssl_context: ssl.SSLContext | None,
        timeout: float,
        max_connections: int | None = None,
    ) -> None:
        """``timeout``: for the whole request (waiting for a connection included);
        ``max_connections``: at most that many requests in flight (the others wait)."""
        u = urlsplit(addr)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"unsupported address {addr!r}")
        self.host = u.hostname
        self.port = u.port or (443 if u.scheme == "https" else 80)
        self.ssl = (ssl_context or ssl.create_default_context()) if u.scheme == "https" else None
        self.host_header = u.netloc.rsplit("@", 1)[-1]
        self.timeout = timeout
        self.loop = asyncio.get_running_loop()
        self._idle: list[_Conn] = []
        self._busy: set[_Conn] = set()
        self._slots = asyncio.Semaphore(max_connections) if max_connections else None
        self.closed = False

    async def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | Sequence[tuple[str, str]],
        body: bytes | None = None,
    ) -> Answer:
        """Send one request and read its answer (one retry on a stale idle connection).
        ``Host`` and ``Content-Length`` are added unless ``headers`` has them."""
        pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        names = {k.lower() for k, _ in pairs}
        head = [f"{method} {path} HTTP/1.1"]
        if "host" not in names:
            head.append(f"Host: {self.host_header}")
        head += [f"{k}: {v}" for k, v in pairs]
        if "content-length" not in names and (body is not None or method in ("POST", "PUT", "PATCH")):
            head.append(f"Content-Length: {len(body or b'')}")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body or b"")
        async with asyncio.timeout(self.timeout):
            if self._slots is None:
                return await self._send(raw, method)
            async with self._slots:
                return await self._send(raw, method)

    async def _send(self, raw: bytes, method: str) -> Answer:
        while True:
            conn = await self._get()
            try:
                answer, keep = await self._exchange(conn, raw, method)
            except StaleConnection:
                self._drop(conn)
                continue
            except BaseException:
                self._drop(conn)
                raise
            if keep and not self.closed:
                self._busy.discard(conn)
                conn.used = True
                if len(self._idle) < MAX_IDLE:
                    self._idle.append(conn)
                else:
                    conn.close()
            else:
                self._drop(conn)
            return answer

    async def _get(self) -> _Conn:
        while self._idle:
            conn = self._idle.pop()
            if conn.reader.at_eof() or conn.writer.is_closing() or _unread(conn.reader):
                conn.close()  # closed, or bytes arrived that no request asked for: never reuse
                continue
            self._busy.add(conn)
            return conn
        try:
            reader, writer = await asyncio.open_connection(
                self.host, self.port, ssl=self.ssl, server_hostname=self.host if self.ssl else None
            )
        except OSError as e:
            raise ConnectFailed(f"cannot connect to {self.host}:{self.port}: {e.__class__.__name__}") from e
        conn = _Conn(reader, writer)
        self._busy.add(conn)
        return conn

    def _drop(self, conn: _Conn) -> None:
        self._busy.discard(conn)
        conn.close()

    async def _exchange(self, conn: _Conn, raw: bytes, method: str) -> tuple[Answer, bool]:
        conn.writer.write(raw)
        try:
            await conn.writer.drain()
            head = await conn.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as e:
            partial = getattr(e, "partial", b"")
            if conn.used and not partial:
                raise StaleConnection("idle connection closed by the server") from None
            raise
        except asyncio.LimitOverrunError:
            raise BadAnswer("answer headers too long") from None
        try:
            return await self._answer(conn, head, method)
        except (ValueError, IndexError, asyncio.LimitOverrunError) as e:
            raise BadAnswer(f"malformed answer: {e.__class__.__name__}") from None

    async def _answer(self, conn: _Conn, head: bytes, method: str) -> tuple[Answer, bool]:
        lines = head.decode("latin-1").split("\r\n")
        version, status_text = lines[0].split(" ", 2)[:2]
        status = int(status_text)
        if not version.startswith("HTTP/1.") or status < 200:
            raise ValueError(f"unexpected status line {lines[0][:40]!r}")
        headers: dict[str, str] = {}
        fields: list[tuple[str, str]] = []
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                fields.append((k.strip(), v.strip()))
                headers[k.strip().lower()] = v.strip()
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = await _read_chunked(conn.reader)
        elif "content-length" in headers:
            body = await conn.reader.readexactly(int(headers["content-length"]))
        else:
            body = await conn.reader.read()
            keep = False
        return Answer(status, headers, body, tuple(fields)), keep

    async def aclose(self) -> None:
        self.closed = True
        conns = self._idle + list(self._busy)
        self._idle.clear()
        self._busy.clear()
        for conn in conns:
            conn.close()
        for conn in conns:
            try:
                await conn.writer.wait_closed()
            except (OSError, ssl.SSLError):
                pass


def _unread(reader: asyncio.StreamReader) -> bool:
    """Whether the server sent bytes after the last answer ended. Reading them as the next
    request's answer would hand one request another's answer; such a connection is dropped."""
    return bool(getattr(reader, "_buffer", b""))


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


class LoopShared(Generic[R]):
    """One resource per running event loop, opened by the first ``session()`` on that loop
    and closed when the last one leaves (sessions nest and overlap), so nothing bound to a
    loop outlives it."""

    def __init__(self, open: Callable[[], R], close: Callable[[R], Awaitable[None]]) -> None:
        self._open = open
        self._close = close
        self._by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}

    def current(self) -> R | None:
        """The running loop's resource, or None outside a session (or outside a loop)."""
        try:
            entry = self._by_loop.get(asyncio.get_running_loop())
        except RuntimeError:
            return None
        return cast("R", entry[0]) if entry is not None else None

    @property
    def active(self) -> int:
        return len(self._by_loop)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[R]:
        loop = asyncio.get_running_loop()
        entry = self._by_loop.get(loop)
        if entry is None:
            entry = self._by_loop[loop] = [self._open(), 0]
        entry[1] += 1
        try:
            yield cast("R", entry[0])
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                if self._by_loop.get(loop) is entry:
                    del self._by_loop[loop]
                await self._close(cast("R", entry[0]))
