"""The rotation batch's platform transport (sentinel.creds.transport) and the shared client
of ``DefaultAdapters``: against the sandbox platform over real HTTP, plus a scripted
server for what the sandbox does not do (compressed answers)."""

from __future__ import annotations

import asyncio
import gzip
import json

import httpx
import pytest

from sentinel.creds.protocol import DefaultAdapters
from sentinel.creds.transport import PooledTransport
from sentinel.inventory import Account
from sentinel.platforms.errors import PlatformAuthFailed, PlatformUnavailable
from sentinel.vault.devserver import free_port
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
        transport = shared._transport
        assert isinstance(transport, PooledTransport)
        [pool] = transport._pools.values()
        assert len(pool._idle) == 1  # one connection did all of it
    assert factory._shared.current() is None and shared.is_closed
    outside = factory(account, {"identifier": account.handle, "password": first["password"]})
    assert outside.http._client is not shared  # type: ignore[attr-defined]
    await outside.verify()
    await outside.aclose()


async def test_a_shared_client_keeps_no_cookie_from_one_account_for_another() -> None:
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    factory = DefaultAdapters({"base_url": base})
    async with factory.session():
        shared = factory._shared.current()
        assert shared is not None
        await shared.get(f"{base}/as-account-a")
        await shared.get(f"{base}/as-account-b")
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


async def test_compressed_answers_are_decoded_and_headers_kept() -> None:
    body = gzip.compress(json.dumps({"ok": True}).encode())

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with httpx.AsyncClient(transport=PooledTransport(httpx.create_ssl_context(), 5.0)) as client:
        r = await client.get(f"http://127.0.0.1:{port}/x")
    server.close()
    await server.wait_closed()
    assert r.json() == {"ok": True}
    assert r.headers.get_list("set-cookie") == ["a=1", "b=2"]


async def _no_sleep(seconds: float) -> None:
    return None
