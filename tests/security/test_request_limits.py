"""Oversized, deeply nested, badly encoded, slow and idle requests against the served API.

The attacker holds a valid token with only Vault's ``default`` policy: enough to pass
authentication, nothing more. Before the limits, two 250 MB bodies read whole before
authorization took the daemon to 1.1 GB; deep nesting and a lone surrogate gave 500; an idle
or half-sent connection stayed open forever.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentinel.api.openapi import document
from sentinel.config import ApiSettings
from sentinel.settings import Duration
from tests.api.conftest import World
from tests.api.served import ServedApi

LIMIT = 64 * 1024
CHUNK = 16 * 1024
READ_SLACK = 512 * 1024
"""What the server may have read past the limit when it stops: one socket read (asyncio reads
at most 256 KiB at a time) and what h11 already buffered."""

JSON_ROUTES = [
    (method.upper(), path)
    for path, ops in document()["paths"].items()
    for method, op in ops.items()
    if "requestBody" in op and not path.startswith("/v1/hooks/")
]
"""Webhooks are left out: their body is checked against the platform's signature before it is
decoded, so an unsigned bad body is a 403 (tests/security/test_webhooks.py sends signed ones)."""


class CountingApp:
    """An ASGI layer outside the app: counts the body bytes the server hands it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.body_bytes = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            message = await receive()
            self.body_bytes += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@pytest.fixture(scope="module")
def counting() -> CountingApp:
    return CountingApp(None)


@pytest.fixture(scope="module")
def served(
    world: World, tmp_path_factory: pytest.TempPathFactory, counting: CountingApp
) -> Iterator[ServedApi]:
    def wrap(app: Any) -> CountingApp:
        counting.app = app
        return counting

    settings = ApiSettings(max_body_bytes=LIMIT, read_timeout=Duration(1.0), idle_timeout=Duration(1.0))
    with ServedApi(world, tmp_path_factory.mktemp("limits"), settings, wrap=wrap) as api:
        yield api


def connect(api: ServedApi, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection((api.host, api.port), timeout=timeout)
    return sock


def head(path: str, token: str, extra: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\n{extra}\r\n"
    ).encode()


def start_check(api: ServedApi, world: World, framing: str) -> socket.socket:
    """A connection on which a POST /v1/check with the default-policy token has begun."""
    sock = connect(api)
    sock.sendall(head("/v1/check", world.tokens["op-nobody"], framing))
    return sock


def answer(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    status, body = status_and_body(read_until_closed(sock))
    sock.close()
    return status, body


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass  # the server closed with our unread bytes in its buffer: what it sent came first
    return data


def status_and_body(raw: bytes) -> tuple[int, dict[str, Any]]:
    head_part, _, body = raw.partition(b"\r\n\r\n")
    return int(head_part.split(b" ", 2)[1]), json.loads(body)


def test_a_declared_oversized_body_is_refused_before_a_byte_of_it_is_read(
    served: ServedApi, world: World, counting: CountingApp
) -> None:
    before = counting.body_bytes
    status, body = answer(start_check(served, world, "Content-Length: 262144000\r\n"))
    assert status == 413
    assert body["error"]["code"] == "body_too_large"
    assert body["error"]["limit"] == LIMIT
    assert counting.body_bytes == before


def test_a_chunked_body_is_cut_off_as_soon_as_it_passes_the_limit(
    served: ServedApi, world: World, counting: CountingApp
) -> None:
    before = counting.body_bytes
    sock = start_check(served, world, "Transfer-Encoding: chunked\r\n")
    piece = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
    sent = 0
    try:
        # Send until the server answers (readable) or 64 MiB have gone: it must answer long before.
        while sent < 64 << 20 and not select.select([sock], [], [], 0)[0]:
            sock.sendall(piece)
            sent += CHUNK
    except (BrokenPipeError, ConnectionResetError):
        pass
    status, body = answer(sock)
    assert status == 413, body
    assert body["error"]["code"] == "body_too_large"
    assert counting.body_bytes - before <= LIMIT + READ_SLACK
    assert sent < 64 << 20  # answered before the whole body was sent (the rest sat in socket buffers)


def test_a_body_within_the_limit_reaches_authorization(served: ServedApi, world: World) -> None:
    text = "x" * (LIMIT - 100)
    resp = httpx.post(
        f"{served.handle.url}/v1/check",
        json={"account": "acct-a", "text": text},
        headers=world.auth("op-nobody"),
    )
    assert resp.status_code in (400, 403), resp.text  # refused for what it is, not for its size
    assert resp.json()["error"]["code"] != "body_too_large"


BAD_BODIES = {
    "nested": (b'{"text": ' + b"[" * 40 + b"]" * 40 + b"}", "deeper than 32 levels"),
    "deeply-nested": (b"[" * 60000, "deeper than 32 levels"),
    "lone-surrogate": (b'{"account": "acct-a", "text": "\\ud800"}', "lone surrogate"),
    "invalid-utf8": (b'{"account": "acct-a", "text": "\xff\xfe"}', "not valid UTF-8"),
    "encoded-surrogate": (b'{"account": "acct-a", "text": "\xed\xa0\x80"}', "not valid UTF-8"),
}


@pytest.fixture(scope="module")
def held_id(served: ServedApi, world: World) -> str:
    resp = httpx.post(
        f"{served.handle.url}/v1/check",
        json={"account": "acct-a", "text": "HOLDME"},
        headers=world.auth("op-all"),
    )
    return str(resp.json()["held_id"])


@pytest.mark.parametrize("kind", list(BAD_BODIES))
@pytest.mark.parametrize(("method", "path"), JSON_ROUTES, ids=[f"{m} {p}" for m, p in JSON_ROUTES])
def test_every_json_route_answers_bad_bodies_with_400_naming_the_problem(
    served: ServedApi, world: World, held_id: str, method: str, path: str, kind: str
) -> None:
    raw, problem = BAD_BODIES[kind]
    # A caller allowed everything, on things that exist: the body is what each route refuses.
    url = served.handle.url + path.replace("{account}", "acct-a").replace("{held}", held_id).replace(
        "{incident}", "1"
    )
    resp = httpx.request(
        method, url, content=raw, headers={**world.auth("op-all"), "Content-Type": "application/json"}
    )
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == "invalid_request"
    assert problem in error["message"]
    if kind == "lone-surrogate":
        assert error["field"] == "text"


def test_a_legitimate_check_still_passes(served: ServedApi, world: World) -> None:
    resp = httpx.post(
        f"{served.handle.url}/v1/check",
        json={"account": "acct-a", "text": "A calm, ordinary post. ✓"},
        headers=world.auth("op-all"),
    )
    assert resp.status_code == 200, resp.text


def assert_closed_by_server(sock: socket.socket) -> None:
    """The server closes the connection: the socket reads EOF (the socket's timeout fails the test)."""
    sock.settimeout(10.0)
    assert read_until_closed(sock) == b""
    sock.close()


def test_an_idle_connection_is_closed(served: ServedApi) -> None:
    assert_closed_by_server(connect(served))


def test_half_sent_headers_are_closed(served: ServedApi, world: World) -> None:
    sock = connect(served)
    sock.sendall(b"POST /v1/check HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ")
    assert_closed_by_server(sock)


def test_a_half_sent_body_is_closed(served: ServedApi, world: World) -> None:
    sock = start_check(served, world, "Content-Length: 100\r\n")
    sock.sendall(b'{"account": ')
    assert_closed_by_server(sock)


def test_dribbled_headers_do_not_keep_the_connection_open(served: ServedApi) -> None:
    sock = connect(served)
    for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 10_000:
        if select.select([sock], [], [], 0.05)[0]:
            break  # the server closed it (EOF) while we were still sending headers
        sock.send(bytes([byte]))
    else:
        pytest.fail("the server read 10 000 dribbled header bytes without closing the connection")
    assert_closed_by_server(sock)


def test_a_kept_alive_connection_is_closed_when_idle(served: ServedApi) -> None:
    conn = http.client.HTTPConnection(served.host, served.port, timeout=10)
    conn.request("GET", "/healthz")
    resp = conn.getresponse()
    assert resp.status == 200
    resp.read()
    assert conn.sock is not None
    assert_closed_by_server(conn.sock)


def test_requests_over_the_connection_cap_are_answered_503(world: World, tmp_path: Path) -> None:
    settings = ApiSettings(max_connections=3, read_timeout=Duration(60.0))
    with ServedApi(world, tmp_path, settings) as api:
        ok = httpx.get(f"{api.handle.url}/healthz")
        assert ok.status_code == 200
        idle = [connect(api), connect(api)]
        for sock in idle:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")  # half-sent: held open
        conn = http.client.HTTPConnection(api.host, api.port, timeout=10)
        conn.connect()
        while api.connections() < 3:
            select.select([], [], [], 0.01)
        conn.request("GET", "/healthz")
        assert conn.getresponse().status == 503
        conn.close()
        for sock in idle:
            sock.close()
