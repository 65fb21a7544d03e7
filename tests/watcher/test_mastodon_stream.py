"""Mastodon's user stream on its documented shapes (server-sent events through
httpx.MockTransport): the account's own statuses wake its reconcile, others' do not, a lost
stream falls back to polling and comes back."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from sentinel.platforms import create_adapter
from sentinel.store import Store
from sentinel.watcher import WatchedAccount, Watcher
from sentinel.watcher.mastodon_stream import ServerEvent, bounded_lines, change_of, server_events
from sentinel.watcher.push import PushSources
from tests.watcher.test_watcher import Sink, wait_for

SERVICE = "https://social.example"
OWN = "109348"


def status(sid: int, text: str, author: str = OWN) -> dict[str, Any]:
    return {
        "id": str(sid),
        "created_at": "2026-12-04T19:00:00.000Z",
        "content": f"<p>{text}</p>",
        "account": {"id": author, "acct": "brand"},
        "application": {"name": "Web", "website": None},
        "url": f"{SERVICE}/@brand/{sid}",
    }


def sse(event: str, data: Any) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"event: {event}\ndata: {payload}\n\n".encode()


async def lines(*chunks: str) -> AsyncIterator[str]:
    for chunk in chunks:
        for line in chunk.split("\n"):
            yield line


async def test_event_stream_parsing_of_the_documented_events() -> None:
    stream = lines(
        ":)\n",  # the streaming server's heartbeat comment
        "event: update\ndata: " + json.dumps(status(1, "hi")) + "\n\n",
        "event: delete\ndata: 108\n\n",
        "event: status.update\ndata: " + json.dumps(status(1, "edited")) + "\n\n",
        "event: notification\ndata: {}\n\n",
        "data: one\ndata: two\n\n",
    )
    got = [e async for e in server_events(stream)]
    assert [e.event for e in got] == ["update", "delete", "status.update", "notification", "message"]
    assert json.loads(got[0].data)["id"] == "1" and got[1].data == "108" and got[4].data == "one\ntwo"


def test_only_the_accounts_own_statuses_and_seen_deletions_count() -> None:
    seen = {"7"}.__contains__
    assert change_of(ServerEvent("update", json.dumps(status(7, "x"))), OWN, seen) == "update 7"
    assert change_of(ServerEvent("status.update", json.dumps(status(7, "x"))), OWN, seen) == "status.update 7"
    # The home timeline shares the user stream: a followed account's status is not ours.
    assert change_of(ServerEvent("update", json.dumps(status(8, "x", author="555"))), OWN, seen) is None
    # Before the account id is known, every status counts (a reconcile too many, never one too few).
    assert change_of(ServerEvent("update", json.dumps(status(8, "x", author="555"))), "", seen) == "update 8"
    assert change_of(ServerEvent("delete", "7"), OWN, seen) == "delete 7"
    assert change_of(ServerEvent("delete", "9"), OWN, seen) is None
    assert change_of(ServerEvent("update", "{not json"), OWN, seen) is None
    assert change_of(ServerEvent("notification", "{}"), OWN, seen) is None


class Instance:
    """A Mastodon instance's statuses API and user stream (one queue per connection)."""

    def __init__(self) -> None:
        self.statuses: list[dict[str, Any]] = []
        self.streams: list[asyncio.Queue[bytes | None]] = []
        self.stream_requests: list[httpx.Request] = []

    async def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/api/v1/accounts/{OWN}/statuses":
            low = int(request.url.params.get("min_id", "0"))
            newest_first = sorted(
                (s for s in self.statuses if int(s["id"]) > low), key=lambda s: -int(s["id"])
            )
            return httpx.Response(200, json=newest_first)
        if request.url.path == "/api/v1/streaming/user":
            self.stream_requests.append(request)
            queue: asyncio.Queue[bytes | None] = asyncio.Queue()
            self.streams.append(queue)

            async def body() -> AsyncIterator[bytes]:
                while (chunk := await queue.get()) is not None:
                    yield chunk

            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())
        return httpx.Response(404, json={"error": "Record not found"})


async def test_user_stream_wakes_the_reconcile_and_a_lost_stream_falls_back(tmp_path: Path) -> None:
    instance = Instance()
    transport = httpx.MockTransport(instance.handler)
    creds = {"service": SERVICE, "access_token": "masto-token-123456", "account_id": OWN}
    adapter = create_adapter("mastodon", "brand-masto", creds, transport=transport)
    sink = Sink()
    w = Watcher(
        Store(tmp_path / "s.sqlite3"),
        [WatchedAccount("brand-masto", adapter, interval=3600.0)],
        sink,
        spread=False,
    )
    push = PushSources(w, floor=7200.0, transport=transport, max_backoff=0.05)
    assert await push.add("brand-masto", adapter)
    runner = asyncio.create_task(w.run())
    try:
        await wait_for(lambda: len(instance.streams) == 1 and w.cursor("brand-masto") is not None)
        await wait_for(lambda: w.state["brand-masto"].streamed)
        assert w.state["brand-masto"].interval == 7200.0
        assert instance.stream_requests[0].headers["authorization"] == "Bearer masto-token-123456"

        instance.statuses.append(status(110, "Claim your airdrop"))
        await instance.streams[0].put(b":)\n")
        await instance.streams[0].put(sse("update", status(110, "Claim your airdrop")))
        await wait_for(lambda: len(sink.events) == 1)
        assert sink.events[0]["text"] == "Claim your airdrop" and sink.events[0]["post_id"] == "mastodon:110"

        # Someone the account follows posts: nothing is polled.
        await wait_for(lambda: not w.state["brand-masto"].running)
        polls = w.state["brand-masto"].polls
        await instance.streams[0].put(sse("update", status(111, "a friend's post", author="555")))
        await wait_for(lambda: push.mastodon["brand-masto"].frames >= 2)
        assert w.state["brand-masto"].polls == polls and w.state["brand-masto"].due > time.time() + 600
        # The same event again: one more reconcile, no second event.
        await instance.streams[0].put(sse("update", status(110, "Claim your airdrop")))
        await wait_for(lambda: w.state["brand-masto"].polls == polls + 1)
        assert len(sink.events) == 1

        # The stream ends: the account polls on its own interval and is reconciled at once,
        # so a post made while the stream is down is found without any event.
        instance.statuses.append(status(112, "posted while the stream was down"))
        await instance.streams[0].put(None)
        await wait_for(lambda: len(sink.events) == 2)
        assert sink.events[1]["text"] == "posted while the stream was down"
        # ...and the stream is opened again.
        await wait_for(lambda: len(instance.streams) == 2 and w.state["brand-masto"].streamed)
        instance.statuses.append(status(113, "after the reconnect"))
        await instance.streams[1].put(sse("update", status(113, "after the reconnect")))
        await wait_for(lambda: len(sink.events) == 3)
    finally:
        await push.stop()
        w.stop()
        await runner
        await adapter.aclose()
    assert [e["text"] for e in sink.events] == [
        "Claim your airdrop",
        "posted while the stream was down",
        "after the reconnect",
    ]


async def test_lines_end_at_crlf_lf_or_cr_even_split_across_chunks() -> None:
    async def chunks() -> AsyncIterator[str]:
        for c in ("event: up", "date\r", "\ndata: 1\r", "data: 2\n\r", "\n:tail"):
            yield c

    assert [line async for line in bounded_lines(chunks())] == [
        "event: update",
        "data: 1",
        "data: 2",
        "",
        ":tail",
    ]
