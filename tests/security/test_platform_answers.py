"""Attacks through a platform's answers to the watcher's polls (X API v2's documented shapes on
httpx.MockTransport: X cannot run here): a redirect elsewhere, a body that never ends or
never stops dripping, a compressed bomb, JSON nested past the decoder. Each ends the call as
a platform error naming what happened; none is read as an empty answer, holds the poll or
its memory, or escapes as an exception no caller expects."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator

import httpx
import pytest

from sentinel.platforms import PlatformRejected, PlatformUnavailable, create_adapter
from sentinel.platforms.base import PlatformAdapter
from sentinel.retry import RetryPolicy
from tests.platforms.mockapi import MockApi, no_sleep
from tests.platforms.test_x import API, CREDS

TWEETS = f"{API}/2/users/{CREDS['user_id']}/tweets"


def x_adapter(api: MockApi) -> PlatformAdapter:
    return create_adapter("x", "x1", CREDS, transport=api.transport, sleep=no_sleep)


async def test_a_redirect_to_another_host_is_a_failure_not_an_empty_timeline() -> None:
    api = MockApi().on(
        "GET",
        TWEETS,
        httpx.Response(302, headers={"location": "https://evil.example/2/tweets?token=x-access-old-123"}),
    )
    async with x_adapter(api) as x:
        with pytest.raises(PlatformUnavailable) as raised:
            await x.list_posts("1800000000000000001")
    assert raised.value.message.endswith("-> HTTP 302: redirected to evil.example, not followed")
    assert "token" not in raised.value.message
    assert [r.url.host for r in api.requests] == ["api.x.com"]


async def test_a_body_longer_than_any_answer_is_not_read_even_compressed() -> None:
    bomb = gzip.compress(b" " * (64 << 20), compresslevel=9)  # 64 MiB in about 64 KiB
    api = MockApi().on("GET", TWEETS, httpx.Response(200, headers={"content-encoding": "gzip"}, content=bomb))
    async with x_adapter(api) as x:
        with pytest.raises(PlatformUnavailable, match=f"answer longer than {8 << 20} bytes, not read"):
            await x.list_posts("1800000000000000001")
    assert len(api.requests) == 1  # not retried: the same answer would come again


async def test_a_body_that_drips_forever_ends_the_attempt_at_the_deadline() -> None:
    release = asyncio.Event()

    async def drip() -> AsyncIterator[bytes]:
        yield b'{"data": ['
        await release.wait()  # the next byte never comes
        yield b"]}"

    api = MockApi().on("GET", TWEETS, lambda _: httpx.Response(200, content=drip()))
    async with x_adapter(api) as x:
        x.http.deadline = 0.2
        x.http.policy = RetryPolicy(attempts=1)
        try:
            with pytest.raises(PlatformUnavailable, match=r"no whole answer within 0\.2 s"):
                await asyncio.wait_for(x.list_posts("1800000000000000001"), 30)
        finally:
            release.set()


@pytest.mark.parametrize("status", [200, 500])
async def test_json_nested_past_the_decoder_is_not_json(status: int) -> None:
    api = MockApi().on("GET", TWEETS, httpx.Response(status, content=b"[" * 100_000))
    async with x_adapter(api) as x:
        with pytest.raises(PlatformRejected if status == 200 else PlatformUnavailable) as raised:
            await x.list_posts("1800000000000000001")
    assert f"HTTP {status}" in raised.value.message
