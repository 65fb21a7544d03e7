"""DNS rebinding against the served API: a page on ``evil.example`` re-points its own name at
127.0.0.1, so the responder's browser sends the page's requests to the daemon with
``Host: evil.example`` and lets the page read the answers. Before the Host allow-list the
daemon served its metrics, its OpenAPI document, the console and (with a token the page
got hold of) the gate to any Host.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentinel.config import ApiSettings
from tests.api.conftest import World
from tests.api.served import ServedApi

CHECK = {"account": "acct-a", "text": "a normal post", "dry_run": True}
ROUTES = [("GET", "/metrics"), ("GET", "/openapi.json"), ("GET", "/console/signin"), ("POST", "/v1/check")]


@pytest.fixture(scope="module")
def served(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    with ServedApi(world, tmp_path_factory.mktemp("rebinding")) as api:
        yield api


def send(world: World, api: ServedApi, method: str, path: str, host: str) -> httpx.Response:
    """The request as the rebound page sends it: to the daemon's socket, with the page's Host."""
    headers = {"Host": host, **world.auth("op-trial")}
    body = CHECK if method == "POST" else None
    return httpx.request(method, f"{api.handle.url}{path}", json=body, headers=headers, timeout=10)


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example", "localhost."]
)
def test_a_foreign_host_gets_400_and_no_data(
    world: World, served: ServedApi, method: str, path: str, host: str
) -> None:
    resp = send(world, served, method, path, host.format(port=served.port))
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"] == "application/json"
    error = resp.json()["error"]
    assert error["code"] == "host_not_allowed"
    assert error["host"] == host.format(port=served.port)
    assert "allowed_hosts" in error["message"]
    assert set(resp.json()) == {"error"}
    assert "set-cookie" not in resp.headers
    for leak in ("sentinel_", "openapi", "<html", "verdict", "nonce"):
        assert leak not in resp.text


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:{port}", "127.0.0.1"]
)
def test_the_daemons_own_names_are_served(
    world: World, served: ServedApi, method: str, path: str, host: str
) -> None:
    resp = send(world, served, method, path, host.format(port=served.port))
    assert resp.status_code == 200, resp.text


def test_a_request_without_host_is_refused(served: ServedApi) -> None:
    with socket.create_connection((served.host, served.port), timeout=10) as sock:
        sock.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"host_not_allowed" in body and b"sentinel_" not in body


def test_an_allow_list_replaces_the_default(world: World, tmp_path: Path) -> None:
    settings = ApiSettings(allowed_hosts=("sentinel.internal:8470",))
    with ServedApi(world, tmp_path, settings) as api:
        assert send(world, api, "GET", "/metrics", "sentinel.internal:8470").status_code == 200
        for host in ("sentinel.internal:9999", f"127.0.0.1:{api.port}", "evil.example"):
            assert send(world, api, "GET", "/metrics", host).status_code == 400, host


def test_star_serves_any_host_only_when_chosen(world: World, tmp_path: Path) -> None:
    with ServedApi(world, tmp_path, ApiSettings(allowed_hosts=("*",))) as api:
        assert send(world, api, "GET", "/openapi.json", "evil.example").status_code == 200


def test_public_https_url_makes_cookies_secure_behind_a_proxy(world: World, tmp_path: Path) -> None:
    """A TLS-terminating proxy speaks plain HTTP to the daemon; the browser must still never
    send the session cookie over plain HTTP."""
    settings = ApiSettings(public_url="https://sentinel.example.com/")
    with ServedApi(world, tmp_path, settings) as api:
        resp = send(world, api, "GET", "/console/signin", "sentinel.example.com")
        assert resp.status_code == 200, resp.text
        assert "secure" in resp.headers["set-cookie"].lower().split("; ")
        assert send(world, api, "GET", "/console/signin", "evil.example").status_code == 400


def test_plain_http_without_public_url_keeps_cookies_plain(world: World, served: ServedApi) -> None:
    resp = send(world, served, "GET", "/console/signin", f"localhost:{served.port}")
    assert "secure" not in resp.headers["set-cookie"].lower().split("; ")


class SeenScope:
    """An ASGI layer inside the server: what client address and scheme the app is handed."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["client"][0], scope["scheme"]))
        await self.app(scope, receive, send)


FORGED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


@pytest.mark.parametrize(
    ("proxies", "seen"), [((), ("127.0.0.1", "http")), (("127.0.0.0/8",), ("203.0.113.9", "https"))]
)
def test_forwarded_headers_are_believed_only_from_trusted_proxies(
    world: World, tmp_path: Path, proxies: tuple[str, ...], seen: tuple[str, str]
) -> None:
    """uvicorn believes X-Forwarded-* from any local process by default: a local user could
    pose as any client address to the rules and make the console think TLS reached it."""
    layers: list[SeenScope] = []

    def wrap(app: Any) -> SeenScope:
        layers.append(SeenScope(app))
        return layers[0]

    with ServedApi(world, tmp_path, ApiSettings(trusted_proxies=proxies), wrap=wrap) as api:
        resp = httpx.get(f"{api.handle.url}/console/signin", headers=FORGED, timeout=10)
        assert resp.status_code == 200
    assert layers[0].seen == [seen]
    assert ("secure" in resp.headers["set-cookie"].lower().split("; ")) is (seen[1] == "https")
