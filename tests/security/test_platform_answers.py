"""Attacks through a platform's answers to the watcher's polls (X API v2's and YouTube's
documented shapes on httpx.MockTransport: they cannot run here): a redirect elsewhere, a body
that never ends or never stops dripping, a compressed bomb, JSON nested past the decoder, a
post dated in the future. Each ends the call as a platform error naming what happened, or is
judged without moving the watcher's cursor past later posts; none is read as an empty
answer, holds the poll or its memory, or escapes as an exception no caller expects."""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentinel.platforms import PlatformRejected, PlatformUnavailable, create_adapter
from sentinel.platforms.base import PlatformAdapter, Post, page_since
from sentinel.platforms.timefmt import utc_z
from sentinel.retry import RetryPolicy
from sentinel.store import Store
from sentinel.watcher import WatchedAccount, Watcher
from tests.platforms.mockapi import MockApi, no_sleep
from tests.platforms.test_x import API, CREDS
from tests.platforms.test_youtube import API as YT
from tests.platforms.test_youtube import CREDS as YT_CREDS
from tests.watcher.accounts import Sink

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


def video(vid: str, published: str) -> dict[str, Any]:
    return {
        "snippet": {"title": vid, "description": "", "publishedAt": published},
        "contentDetails": {"videoId": vid, "videoPublishedAt": published},
    }


async def test_a_post_dated_in_the_future_does_not_hide_later_posts(tmp_path: Path) -> None:
    """YouTube's documented shapes; the same page logic serves Meta and LinkedIn."""
    api = MockApi().on(
        "GET",
        f"{YT}/channels",
        httpx.Response(
            200,
            json={"items": [{"id": "UCabc", "contentDetails": {"relatedPlaylists": {"uploads": "UUabc"}}}]},
        ),
    )
    now = utc_z(time.time())
    api.on(
        "GET",
        f"{YT}/playlistItems",
        httpx.Response(200, json={"items": [video("old", "2026-01-01T10:00:00Z")]}),
        httpx.Response(200, json={"items": [video("future", "2099-01-01T00:00:00Z"), video("new", now)]}),
        httpx.Response(
            200,
            json={"items": [video("future", "2099-01-01T00:00:00Z"), video("scam", utc_z(time.time() + 1))]},
        ),
    )
    sink = Sink()
    async with create_adapter("youtube", "yt", dict(YT_CREDS), transport=api.transport, sleep=no_sleep) as yt:
        w = Watcher(Store(tmp_path / "s.sqlite3"), [WatchedAccount("yt", yt)], sink, spread=False)
        await w.poll_once("yt")
        assert await w.poll_once("yt") == 2  # the planted post is judged
        assert w.cursor("yt") == now
        assert await w.poll_once("yt") == 1
    assert [e["post_id"] for e in sink.events] == ["youtube:new", "youtube:future", "youtube:scam"]


def test_a_cursor_already_in_the_future_lists_the_newest_posts_again() -> None:
    posts = [Post(post_id=str(i), text="", created_at=f"2026-01-0{i}T00:00:00Z") for i in range(1, 4)]
    page = page_since(posts, "2099-01-01T00:00:00Z", limit=2)
    assert [p.post_id for p in page.posts] == ["2", "3"] and page.cursor == "2026-01-03T00:00:00Z"
