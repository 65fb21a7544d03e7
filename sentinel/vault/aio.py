"""Vault calls from the event loop: a keep-alive HTTP/1.1 pool framed by ``h11``.

The rotation hot path makes four Vault calls per credential. Through hvac each costs a
thread hop (hvac is synchronous) and ~0.4-0.6 ms of CPU in requests; ``Pool`` sends the
same JSON requests from the event loop, on asyncio's public transports (TLS included)
with h11 (the HTTP/1.1 state machine under httpcore and httpx) reading and writing every
message. Only Vault (one origin the operator configures) is spoken to this way; platforms
on the open internet go through httpx (see ``sentinel.creds.transport``).

Reuse is safe by construction: every byte the server sends goes to the connection's h11
state machine as it arrives, so a connection that was closed, or that holds bytes after
its answer ended (which must never be read as the next request's answer), is dropped
before a request is written to it. A request whose bytes went out and got no answer is
sent once more only when it is a read (``IDEMPOTENT``): a Vault write runs at most once.

A pool belongs to one event loop (``LoopShared`` keeps one per loop, opened by the first
session and closed by the last). Errors are raised as ``OSError`` subclasses
(``ConnectFailed``: nothing was sent; ``BadAnswer``: the answer is not HTTP/1.x;
``ConnectionLost``: the connection ended before the answer did) or ``TimeoutError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast
from urllib.parse import urlsplit

import h11

R = TypeVar("R")

MAX_IDLE = 32
"""Idle connections kept per pool (more than the rotator's concurrency)."""

IDEMPOTENT = frozenset({"GET", "HEAD"})
"""Sent once more on a new connection when the first ended before answering (a read
changes nothing at the server); every other method is sent at most once."""


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


class ConnectFailed(OSError):
    """No connection could be opened, TLS included (nothing was sent)."""


class BadAnswer(OSError):
    """The server's answer is not HTTP/1.x."""


class ConnectionLost(OSError):
    """The connection ended before its answer did: the request may have reached the server."""


class _Conn(asyncio.Protocol):
    """One connection: asyncio's transport below, h11 above, fed as bytes arrive."""

    def __init__(self) -> None:
        self.h11 = h11.Connection(h11.CLIENT)
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.gone = asyncio.Event()
        self._wake = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        if not self.lost:
            self.h11.receive_data(data)
            self._wake.set()

    def eof_received(self) -> bool | None:
        self._ended()
        return None  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended()
        self.gone.set()

    def _ended(self) -> None:
        if not self.lost:
            self.lost = True
            self.h11.receive_data(b"")
            self._wake.set()

    def reusable(self) -> bool:
        """Idle, open, and nothing arrived since its last answer ended."""
        unread, closed = self.h11.trailing_data
        return (
            not self.lost
            and not closed
            and not unread
            and self.h11.our_state is h11.IDLE
            and self.transport is not None
            and not self.transport.is_closing()
        )

    async def exchange(self, request: h11.Request, body: bytes | None) -> Answer:
        assert self.transport is not None
        out = self.h11.send(request) or b""
        if body:
            out += self.h11.send(h11.Data(data=body)) or b""
        self.transport.write(out + (self.h11.send(h11.EndOfMessage()) or b""))
        status, fields, chunks = 0, [], []
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                self._wake.clear()
                await self._wake.wait()
            elif isinstance(event, h11.Response):
                status = event.status_code
                fields = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers.raw_items()]
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return Answer(status, {k.lower(): v for k, v in fields}, b"".join(chunks), tuple(fields))
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionLost("the connection ended before the answer did")
            # InformationalResponse (1xx): the final answer follows

    def finish(self) -> bool:
        """After an answer: whether the connection may carry another request."""
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
            return self.reusable()
        return False

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Pool:
    """Keep-alive connections to one origin (a Vault address), for the loop that created
    the pool."""

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
        """Send one request and read its answer. ``Host`` and ``Content-Length`` are added
        unless ``headers`` has them."""
        pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        names = {k.lower() for k, _ in pairs}
        if "host" not in names:
            pairs.insert(0, ("Host", self.host_header))
        if "content-length" not in names and (body is not None or method in ("POST", "PUT", "PATCH")):
            pairs.append(("Content-Length", str(len(body or b""))))
        try:
            request = h11.Request(method=method, target=path, headers=pairs)
        except h11.LocalProtocolError as e:
            raise ValueError(f"cannot send this request: {e}") from None
        async with asyncio.timeout(self.timeout):
            if self._slots is None:
                return await self._send(request, body)
            async with self._slots:
                return await self._send(request, body)

    async def _send(self, request: h11.Request, body: bytes | None) -> Answer:
        try:
            return await self._once(request, body)
        except ConnectionLost:
            if request.method.decode() not in IDEMPOTENT:
                raise  # the server may have acted on it: a write is never sent twice
            return await self._once(request, body)

    async def _once(self, request: h11.Request, body: bytes | None) -> Answer:
        conn = await self._get()
        try:
            answer = await conn.exchange(request, body)
        except h11.RemoteProtocolError as e:
            self._drop(conn)
            if conn.lost:  # h11's words for a connection that ended before its answer did
                raise ConnectionLost("the connection ended before the answer did") from None
            raise BadAnswer(f"malformed answer: not HTTP/1.x ({e})") from None
        except BaseException:
            self._drop(conn)
            raise
        self._busy.discard(conn)
        if conn.finish() and not self.closed and len(self._idle) < MAX_IDLE:
            self._idle.append(conn)
        else:
            conn.close()
        return answer

    async def _get(self) -> _Conn:
        while self._idle:
            conn = self._idle.pop()
            if conn.reusable():
                self._busy.add(conn)
                return conn
            conn.close()  # closed, or bytes arrived that no request asked for: never reuse
        try:
            _, conn = await self.loop.create_connection(
                _Conn, self.host, self.port, ssl=self.ssl, server_hostname=self.host if self.ssl else None
            )
        except OSError as e:
            why = tls_refusal(e) or e.__class__.__name__
            raise ConnectFailed(f"cannot connect to {self.host}:{self.port}: {why}") from None
        self._busy.add(conn)
        return conn

    def _drop(self, conn: _Conn) -> None:
        self._busy.discard(conn)
        conn.close()

    async def aclose(self) -> None:
        self.closed = True
        conns = self._idle + list(self._busy)
        self._idle.clear()
        self._busy.clear()
        for conn in conns:
            conn.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.timeout):
                await asyncio.gather(*(conn.gone.wait() for conn in conns))


def tls_refusal(e: BaseException) -> str | None:
    """Why TLS refused the server, when an exception (or one it wraps: ``__cause__``,
    ``__context__``, ``args``, urllib3's ``reason``) is a certificate verification failure."""
    seen: set[int] = set()
    todo: list[object] = [e]
    while todo:
        x = todo.pop()
        if not isinstance(x, BaseException) or id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, ssl.SSLCertVerificationError):
            return f"Vault's TLS certificate is not trusted ({x.verify_message}); check [vault] ca_cert"
        todo += [x.__cause__, x.__context__, getattr(x, "reason", None), *x.args]
    return None


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
