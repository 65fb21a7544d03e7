"""Every adapter can share one connection pool (a lockdown of 180 accounts opens one, not 180)."""

from __future__ import annotations

import httpx
import pytest

from sentinel.platforms import create_adapter, platforms
from sentinel.platforms.http import HttpClient


@pytest.mark.parametrize("platform", platforms())
async def test_adapter_accepts_a_shared_client(platform: str) -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, json={})))
    adapter = create_adapter(
        platform, "acct", {"identifier": "h", "access_token": "tok-123456"}, client=client
    )
    http = getattr(adapter, "http", None)
    assert isinstance(http, HttpClient) and http._client is client
    await adapter.aclose()
    assert not client.is_closed  # the pool belongs to whoever shared it
    await client.aclose()


async def test_shared_client_keeps_each_accounts_default_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    http = HttpClient(
        "linkedin",
        "acct",
        "https://api.example.test/rest",
        client=client,
        headers={"LinkedIn-Version": "202401"},
    )
    await http.request("GET", "/posts")
    assert str(seen[0].url) == "https://api.example.test/rest/posts"
    assert seen[0].headers["LinkedIn-Version"] == "202401"
    await client.aclose()
