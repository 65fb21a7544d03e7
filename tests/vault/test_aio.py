"""The event-loop HTTP pool's framing and connection reuse, against a scripted local server.

Vault's behaviour is tested against the real OpenBao in test_client.py; these tests cover
what OpenBao will not do on demand: close an idle keep-alive connection, answer chunked,
answer without a length and close.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import pytest

from sentinel.vault.aio import BadAnswer, ConnectFailed, ConnectionLost, Pool
from sentinel.vault.devserver import DevCA


class Server:
    """Answers each request with the next scripted raw response; counts connections."""

    def __init__(self, answers: list[tuple[bytes, bool]]) -> None:
        self.answers = answers  # (raw response, close the connection after it)
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.requests.append(head + await reader.readexactly(length))
                raw, close = self.answers.pop(0)
                writer.write(raw)
                await writer.drain()
                if close:
                    break
        except asyncio.IncompleteReadError:
            pass
        writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[object]:
    servers: list[asyncio.Server] = []

    async def start(script: Server, tls: ssl.SSLContext | None = None) -> str:
        srv = await asyncio.start_server(script.handle, "127.0.0.1", 0, ssl=tls)
        servers.append(srv)
        port = srv.sockets[0].getsockname()[1]
        return f"{'https' if tls else 'http'}://127.0.0.1:{port}"

    yield start
    for srv in servers:
        srv.close()
        await srv.wait_closed()


def ok(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )


async def test_keep_alive_reuses_one_connection_and_sends_the_body(serve: object) -> None:
    script = Server([(ok(b'{"n": 1}'), False), (ok(b'{"n": 2}'), False)])
    pool = Pool(await serve(script), None, 5.0)  # type: ignore[operator]
    a = await pool.request("POST", "/v1/x", {"X-Vault-Token": "t"}, b'{"a": 1}')
    b = await pool.request("GET", "/v1/y", {})
    await pool.aclose()
    assert (a.status, a.json(), b.json()) == (200, {"n": 1}, {"n": 2})
    assert script.connections == 1
    assert script.requests[0].startswith(b"POST /v1/x HTTP/1.1\r\n")
    assert b"Content-Length: 8\r\n" in script.requests[0] and script.requests[0].endswith(b'{"a": 1}')


async def test_an_idle_connection_closed_by_the_server_is_replaced(serve: object) -> None:
    script = Server([(ok(b'{"n": 1}'), True), (ok(b'{"n": 2}'), False)])
    pool = Pool(await serve(script), None, 5.0)  # type: ignore[operator]
    assert (await pool.request("GET", "/v1/a", {})).json() == {"n": 1}
    assert (await pool.request("GET", "/v1/b", {})).json() == {"n": 2}
    await pool.aclose()
    assert script.connections == 2


async def test_chunked_answers_and_answers_ended_by_close(serve: object) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5\r\n{"n":\r\n3;ext=1\r\n 7}\r\n0\r\nX-Trailer: 1\r\n\r\n'
    )
    until_close = b'HTTP/1.0 200 OK\r\n\r\n{"n": 8}'
    script = Server([(chunked, False), (until_close, True)])
    pool = Pool(await serve(script), None, 5.0)  # type: ignore[operator]
    assert (await pool.request("GET", "/v1/a", {})).json() == {"n": 7}
    assert (await pool.request("GET", "/v1/b", {})).json() == {"n": 8}
    await pool.aclose()


async def test_a_server_that_never_answers_times_out(serve: object) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    srv = await asyncio.start_server(silent, "127.0.0.1", 0)
    pool = Pool(f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}", None, 0.2)
    with pytest.raises(TimeoutError):
        await pool.request("GET", "/v1/a", {})
    await pool.aclose()
    srv.close()
    await srv.wait_closed()


async def test_a_malformed_answer_is_an_os_error_and_the_connection_is_dropped(serve: object) -> None:
    script = Server([(b"NONSENSE\r\n\r\n", False), (ok(b'{"n": 3}'), False)])
    pool = Pool(await serve(script), None, 5.0)  # type: ignore[operator]
    with pytest.raises(BadAnswer, match="malformed answer"):
        await pool.request("GET", "/v1/a", {})
    assert (await pool.request("GET", "/v1/b", {})).json() == {"n": 3}
    await pool.aclose()
    assert script.connections == 2


async def test_max_connections_caps_the_requests_in_flight(serve: object) -> None:
    in_flight = peak = 0

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal in_flight, peak
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                in_flight += 1
                peak = max(peak, in_flight)
                await asyncio.sleep(0.02)
                in_flight -= 1
                writer.write(ok(b"{}"))
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        writer.close()

    srv = await asyncio.start_server(slow, "127.0.0.1", 0)
    pool = Pool(f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}", None, 5.0, max_connections=3)
    answers = await asyncio.gather(*(pool.request("GET", f"/v1/{i}", {}) for i in range(10)))
    await pool.aclose()
    srv.close()
    await srv.wait_closed()
    assert [a.status for a in answers] == [200] * 10
    assert peak == 3


async def test_bytes_after_an_answer_are_never_read_as_the_next_answer(serve: object) -> None:
    # The first answer carries more bytes than its Content-Length says: a smuggled "answer".
    smuggled = ok(b'{"n": 1}') + ok(b'{"n": "not yours"}')
    script = Server([(smuggled, False), (ok(b'{"n": 2}'), False)])
    pool = Pool(await serve(script), None, 5.0)  # type: ignore[operator]
    assert (await pool.request("GET", "/v1/a", {})).json() == {"n": 1}
    await asyncio.sleep(0.05)  # the extra bytes have arrived in the connection's buffer
    assert (await pool.request("GET", "/v1/b", {})).json() == {"n": 2}
    await pool.aclose()
    assert script.connections == 2  # the tainted connection was dropped, not reused


HANG_UP = (b"", True)  # read the request, answer nothing, close


async def test_a_write_is_never_sent_twice(serve: object) -> None:
    # The server reads the POST on the kept-alive connection and hangs up without answering:
    # it may have written to its storage, so sending the POST again could write twice.
    script = Server([(ok(b"{}"), False), HANG_UP, (ok(b'{"again": true}'), False)])
    pool = Pool(await serve(script), None, 5.0)  # type: ignore[operator]
    await pool.request("GET", "/v1/a", {})
    with pytest.raises(ConnectionLost):
        await pool.request("POST", "/v1/kv/data/x", {}, b'{"data": {}}')
    await pool.aclose()
    assert [r.split(b" ", 1)[0] for r in script.requests] == [b"GET", b"POST"]
    assert script.connections == 1


async def test_a_read_left_unanswered_is_sent_once_more(serve: object) -> None:
    script = Server([(ok(b"{}"), False), HANG_UP, (ok(b'{"n": 2}'), False)])
    pool = Pool(await serve(script), None, 5.0)  # type: ignore[operator]
    await pool.request("GET", "/v1/a", {})
    assert (await pool.request("GET", "/v1/b", {})).json() == {"n": 2}
    await pool.aclose()
    assert [r.split(b"\r\n", 1)[0] for r in script.requests] == [
        b"GET /v1/a HTTP/1.1",
        b"GET /v1/b HTTP/1.1",
        b"GET /v1/b HTTP/1.1",
    ]
    assert script.connections == 2


def tls_server(ca: DevCA, tmp_path: object) -> ssl.SSLContext:
    from pathlib import Path

    d = Path(str(tmp_path))
    cert, key = ca.issue_server("127.0.0.1")
    (d / "cert.pem").write_bytes(cert)
    (d / "key.pem").write_bytes(key)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(d / "cert.pem", d / "key.pem")
    return ctx


async def test_tls_with_the_servers_ca_and_a_refusal_with_another(serve: object, tmp_path: object) -> None:
    ca, other = DevCA.create(), DevCA.create("another CA")
    script = Server([(ok(b'{"n": 1}'), False), (ok(b'{"n": 2}'), False)])
    addr = await serve(script, tls_server(ca, tmp_path))  # type: ignore[operator]
    trusting = ssl.create_default_context(cadata=ca.cert_pem.decode())
    pool = Pool(addr, trusting, 5.0)
    assert [(await pool.request("GET", f"/v1/{i}", {})).json() for i in (1, 2)] == [{"n": 1}, {"n": 2}]
    await pool.aclose()
    assert script.connections == 1  # kept alive over TLS
    wrong = Pool(addr, ssl.create_default_context(cadata=other.cert_pem.decode()), 5.0)
    with pytest.raises(ConnectFailed, match="TLS certificate is not trusted"):
        await wrong.request("GET", "/v1/3", {})
    await wrong.aclose()
    assert len(script.requests) == 2
