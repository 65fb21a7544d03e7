from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Message

from sentinel.api.hosts import AllowedHosts, HostGuard


async def hello(request: object) -> PlainTextResponse:
    return PlainTextResponse("hello")


APP = Starlette(routes=[Route("/", hello)])


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost", True),
        ("localhost:1234", True),
        ("sentinel.internal:8470", True),
        ("sentinel.internal:8471", False),
        ("sentinel.internal", False),
        ("evil.example", False),
        ("evil.example:8470", False),
        ("", False),
    ],
)
def test_allows(host: str, allowed: bool) -> None:
    hosts = AllowedHosts.of(["localhost", "sentinel.internal:8470"])
    assert hosts.allows(host) is allowed


async def test_a_refusal_names_the_host_and_never_reaches_the_app() -> None:
    guard = HostGuard(APP, AllowedHosts.of(["localhost"]))
    long_host = "a" * 300 + ".example"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://localhost") as c:
        assert (await c.get("/")).text == "hello"
        refused = await c.get("/", headers={"Host": long_host})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "host_not_allowed" and error["host"] == long_host[:100] + "..."
    assert refused.headers["cache-control"] == "no-store"


async def test_websockets_are_closed_for_a_foreign_host() -> None:
    reached: list[str] = []

    async def app(scope: object, receive: object, send: object) -> None:
        reached.append("app")

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws", "headers": [(b"host", b"evil.example")]}
    await HostGuard(app, AllowedHosts.of(["localhost"]))(scope, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}] and reached == []
