"""The client that a rotation batch's adapters share (sentinel.creds.transport,
``DefaultAdapters``): against the sandbox platform over real HTTP, plus a scripted server
for what the sandbox does not do (cookies)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from sentinel.creds.rotator import DefaultAdapters
from sentinel.creds.transport import shared_client
from sentinel.inventory import Account
from sentinel.net import free_port
from sentinel.platforms.errors import PlatformAuthFailed, PlatformUnavailable
from tests.creds.conftest import CredsEnv


async def test_adapters_in_a_session_share_one_client_and_keep_connections(env: CredsEnv) -> None:
    account, first = env.sandbox_account(("password",))
    factory = DefaultAdapters({"base_url": env.sandbox_url})
    async with factory.session():
        a = factory(account, {"identifier": account.handle, "password": first["password"]})
        b = factory(account, {"identifier": account.handle, "password": "wrong-password-123"})
        shared = factory._shared.current()
        assert shared is not None and a.http._client is shared and b.http._client is shared  # type: ignore[attr-defined]
        for _ in range(3):
            identity = await a.verify()
            assert identity.handle == account.handle
        with pytest.raises(PlatformAuthFailed, match="HTTP 401"):
            await b.verify()
        await a.aclose()
        await b.aclose()
        pool = shared._transport._pool  # type: ignore[attr-defined]
        assert len(pool.connections) == 1  # one connection did all of it
    assert factory._shared.current() is None and shared.is_closed
    outside = factory(account, {"identifier": account.handle, "password": first["password"]})
    assert outside.http._client is not shared  # type: ignore[attr-defined]
    await outside.verify()
    await outside.aclose()


async def test_a_shared_client_keeps_no_cookie_from_one_account_for_another() -> None:
    seen: list[str] = []
    handlers: list[asyncio.Task[None]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.append(task)
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            cookie = [ln for ln in head.decode().split("\r\n") if ln.lower().startswith("cookie:")]
            seen.append(cookie[0] if cookie else "")
            writer.write(
                b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=account-a; Path=/\r\nContent-Length: 2\r\n\r\n{}"
            )
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    factory = DefaultAdapters({"base_url": base})
    async with factory.session():
        shared = factory._shared.current()
        assert shared is not None
        await shared.get(f"{base}/as-account-a")
        await shared.get(f"{base}/as-account-b")
    await asyncio.wait_for(asyncio.gather(*handlers), 5)  # the client closed its connection
    server.close()
    await server.wait_closed()
    assert seen == ["", ""]


async def test_a_platform_that_is_down_is_unavailable_after_the_client_retries() -> None:
    account = Account("acct-x", "sandbox", "x", "UTC", "gated")
    factory = DefaultAdapters({"base_url": f"http://127.0.0.1:{free_port()}", "sleep": _no_sleep})
    async with factory.session():
        adapter = factory(account, {"identifier": "x", "password": "pw-123456"})
        with pytest.raises(PlatformUnavailable, match="cannot connect"):
            await adapter.verify()


async def test_the_shared_client_caps_its_connections(env: CredsEnv) -> None:
    account, first = env.sandbox_account(("password",))
    async with shared_client(httpx.create_ssl_context(), 5.0, max_connections=2) as client:
        factory = DefaultAdapters({"base_url": env.sandbox_url, "client": client})
        adapters = [
            factory(account, {"identifier": account.handle, "password": first["password"]}) for _ in range(6)
        ]
        await asyncio.gather(*(a.verify() for a in adapters))
        assert len(client._transport._pool.connections) <= 2  # type: ignore[attr-defined]
        assert client.headers["user-agent"] == "sentinel-social" and not client.follow_redirects


async def _no_sleep(seconds: float) -> None:
    return None
