"""Attacks through the platforms' push streams the watcher follows (Bluesky's repository
stream, Mastodon's user stream on its documented server-sent events through
httpx.MockTransport, the sandbox's stream): a frame or status nested past the decoder, a
commit whose ops are not a list, an event that is not an object, a line or an event that
never ends. Each at most drops the connection, which is opened again; none ends the stream
for good or holds the daemon's memory."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentinel.store import Store
from sentinel.watcher.bluesky_stream import BlueskyStream, StreamFrameError, decode_frame
from sentinel.watcher.mastodon_stream import MastodonStream
from sentinel.watcher.sandbox_stream import SandboxStream
from sentinel.watcher.streams import POSTS, Change, PushStream, StreamCursors
from tests.waiting import wait_for
from tests.watcher.test_bluesky_stream import DID, commit, frame
from tests.watcher.test_mastodon_stream import OWN, SERVICE, sse, status

NESTED_CBOR = b"\x81" * 100_000 + b"\x00"


class Connection:
    """A WebSocket that delivers ``frames`` and then stays open."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = frames

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for f in self.frames:
            yield f
        await asyncio.Event().wait()

    async def close(self) -> None:
        return None


async def running(stream: PushStream, until: Any) -> None:
    """Run ``stream`` until ``until()`` holds; fail if the stream task ends first."""
    task = asyncio.create_task(stream.run())
    try:
        await wait_for(lambda: until() or task.done(), what="the stream to take the attack")
        if task.done():
            task.result()  # re-raise what ended it
            raise AssertionError("the stream stopped")
    finally:
        stream.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_bluesky_frames_nested_past_the_decoder_or_with_odd_ops_are_malformed() -> None:
    with pytest.raises(StreamFrameError, match="MalformedFrame"):
        decode_frame(NESTED_CBOR)
    with pytest.raises(StreamFrameError, match="ops are not a list"):
        decode_frame(frame("#commit", {"seq": 1, "repo": DID, "ops": 5}))


async def test_a_hostile_bluesky_frame_drops_the_connection_and_the_stream_goes_on(tmp_path: Path) -> None:
    got: list[Change] = []
    connections: Iterator[Connection] = iter(
        [
            Connection([NESTED_CBOR]),
            Connection([frame("#commit", {"seq": 1, "repo": DID, "ops": 5})]),
            Connection([commit(2, ("create", "app.bsky.feed.post/3k1"))]),
        ]
    )
    stream = BlueskyStream(
        StreamCursors(Store(tmp_path / "s.sqlite3")),
        "http://pds.test",
        got.append,
        lambda a, up: None,
        max_backoff=0.01,
        connect_to=lambda url: next(connections),  # type: ignore[arg-type,return-value]
    )
    stream.watch(DID, "brand")
    await running(stream, lambda: got)
    assert got == [Change("brand", POSTS, "app.bsky.feed.post/3k1 create", "bluesky:http://pds.test")]
    assert stream.failures == 2


def serving(*bodies: list[bytes]) -> httpx.MockTransport:
    """A stream endpoint answering each connection with the next body's chunks, then silence."""
    queue = list(bodies)

    async def handler(request: httpx.Request) -> httpx.Response:
        chunks = queue.pop(0) if queue else []

        async def body() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk
            await asyncio.Event().wait()

        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    return httpx.MockTransport(handler)


def mastodon(transport: httpx.MockTransport, got: list[Change]) -> MastodonStream:
    return MastodonStream(
        "brand-masto",
        SERVICE,
        lambda: "masto-token-123456",
        lambda: OWN,
        lambda _: False,
        got.append,
        lambda a, up: None,
        transport=transport,
        max_backoff=0.01,
    )


async def test_a_mastodon_status_nested_past_the_decoder_is_not_a_status() -> None:
    got: list[Change] = []
    nested = sse("update", "[" * 100_000)
    stream = mastodon(serving([nested, sse("update", status(7, "ours"))]), got)
    await running(stream, lambda: got)
    assert [c.what for c in got] == ["update 7"]
    assert stream.failures == 0


@pytest.mark.parametrize(
    "attack",
    [
        [b"data: " + b"x" * (64 << 10)] * 64,  # one line of 4 MiB, still unfinished
        [b"data: " + b"x" * 1000 + b"\n"] * 4096,  # 4 MiB of data lines, no event ever ends
    ],
    ids=["endless-line", "endless-event"],
)
async def test_a_mastodon_line_or_event_that_never_ends_drops_the_connection(attack: list[bytes]) -> None:
    got: list[Change] = []
    stream = mastodon(serving(attack, [sse("update", status(8, "ours"))]), got)
    await running(stream, lambda: got)
    assert [c.what for c in got] == ["update 8"]
    assert stream.failures == 1


async def test_a_sandbox_stream_event_that_is_not_an_object_drops_the_connection(tmp_path: Path) -> None:
    got: list[Change] = []

    def event(data: Any) -> bytes:
        return f"event: post\ndata: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()

    transport = serving([event([1, 2])], [event("[" * 100_000)], [event({"seq": 3, "account": "h"})])
    stream = SandboxStream(
        StreamCursors(Store(tmp_path / "s.sqlite3")),
        "http://sandbox.test",
        got.append,
        lambda a, up: None,
        client=httpx.AsyncClient(transport=transport),
        max_backoff=0.01,
    )
    stream.watch("h", "brand")
    await running(stream, lambda: got)
    assert [c.account for c in got] == ["brand"]
    assert stream.failures == 2
