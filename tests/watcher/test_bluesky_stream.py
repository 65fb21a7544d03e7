"""Bluesky's repository event stream: frames decoded, and a real PDS's posts reaching the engine."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import libipld
import pytest

from sentinel.platforms import create_adapter
from sentinel.store import Store
from sentinel.vault.devserver import free_port
from sentinel.watcher import WatchedAccount, Watcher
from sentinel.watcher.bluesky_stream import BlueskyStream, StreamFrameError, decode_frame, stream_url
from sentinel.watcher.push import PushSources
from sentinel.watcher.streams import ACCOUNT, POSTS, Change, StreamCursors
from tests.pds_fixture import Pds
from tests.watcher.test_watcher import Sink, wait_for

DID = "did:plc:abc"


def frame(t: str, body: dict[str, Any], op: int = 1) -> bytes:
    return bytes(libipld.encode_dag_cbor({"op": op, "t": t})) + bytes(libipld.encode_dag_cbor(body))


def commit(seq: int, *ops: tuple[str, str], repo: str = DID) -> bytes:
    return frame(
        "#commit",
        {
            "seq": seq,
            "repo": repo,
            "ops": [{"action": a, "path": p, "cid": None} for a, p in ops],
            "blocks": b"",
            "tooBig": False,
        },
    )


def test_commits_become_post_and_account_changes() -> None:
    seq, changes = decode_frame(
        commit(
            7,
            ("create", "app.bsky.feed.post/3k1"),
            ("delete", "app.bsky.feed.post/3k0"),
            ("update", "app.bsky.actor.profile/self"),
            ("create", "app.bsky.feed.like/3k2"),
        )
    )
    assert seq == 7
    assert changes == [
        (DID, POSTS, "app.bsky.feed.post/3k1 create"),
        (DID, ACCOUNT, "app.bsky.actor.profile/self update"),
    ]
    assert decode_frame(commit(8, ("create", "app.bsky.graph.follow/1"))) == (8, [])


def test_identity_account_sync_and_info_frames() -> None:
    assert decode_frame(frame("#identity", {"seq": 1, "did": DID, "handle": "new.test"})) == (
        1,
        [(DID, ACCOUNT, "identity handle=new.test")],
    )
    assert decode_frame(
        frame("#account", {"seq": 2, "did": DID, "active": False, "status": "takendown"})
    ) == (
        2,
        [(DID, ACCOUNT, "account takendown")],
    )
    assert decode_frame(frame("#sync", {"seq": 3, "did": DID, "blocks": b""})) == (3, [(DID, POSTS, "sync")])
    assert decode_frame(frame("#info", {"name": "OutdatedCursor"})) == (None, [])


def test_error_and_malformed_frames_raise() -> None:
    with pytest.raises(StreamFrameError) as err:
        decode_frame(frame("", {"error": "FutureCursor", "message": "cursor in the future"}, op=-1))
    assert err.value.error == "FutureCursor"
    with pytest.raises(StreamFrameError):
        decode_frame(b"\xff\x00garbage")
    with pytest.raises(StreamFrameError):
        decode_frame(bytes(libipld.encode_dag_cbor({"op": 1, "t": "#commit"})))


def test_only_watched_dids_are_handed_on_and_the_cursor_is_kept(tmp_path: Path) -> None:
    cursors = StreamCursors(Store(tmp_path / "s.sqlite3"))
    got: list[Change] = []
    stream = BlueskyStream(cursors, "http://pds.test", got.append, lambda a, up: None)
    stream.watch(DID, "brand")
    stream.handle(commit(5, ("create", "app.bsky.feed.post/1"), repo="did:plc:other"))
    stream.handle(commit(6, ("create", "app.bsky.feed.post/2")))
    assert got == [Change("brand", POSTS, "app.bsky.feed.post/2 create", "bluesky:http://pds.test")]
    assert cursors.get("bluesky:http://pds.test") == "6"
    assert (
        stream_url("https://pds.test/", "6") == "wss://pds.test/xrpc/com.atproto.sync.subscribeRepos?cursor=6"
    )


async def test_a_lost_stream_falls_back_to_the_platform_interval(sandbox: Any, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    adapter = create_adapter("sandbox", "brand", {"identifier": "x", "password": "y", "service": sandbox.url})
    w = Watcher(store, [WatchedAccount("brand", adapter, interval=30.0)], Sink(), spread=False)
    w.set_streamed("brand", True, 600.0)
    assert w.state["brand"].interval == 600.0 and w.state["brand"].streamed
    # A PDS that is not there: the stream never comes up, the account keeps its own interval.
    stream = BlueskyStream(
        StreamCursors(store),
        f"http://127.0.0.1:{free_port()}",
        lambda c: None,
        lambda a, up: w.set_streamed(a, up, 600.0),
        max_backoff=0.05,
    )
    stream.watch(DID, "brand")
    runner = asyncio.create_task(stream.run())
    await wait_for(lambda: stream.failures >= 2)
    stream.stop()
    await runner
    w.set_streamed("brand", False, 600.0)
    assert w.state["brand"].interval == 30.0 and not w.state["brand"].streamed
    await adapter.aclose()


@pytest.mark.pds
async def test_posts_arrive_by_stream_and_a_killed_stream_or_restart_misses_and_repeats_none(
    pds: Pds, tmp_path: Path
) -> None:
    user = pds.create_account()
    store = Store(tmp_path / "s.sqlite3")
    sink = Sink()
    hijacker = create_adapter("bluesky", "thief", user, base_url=pds.url)

    async def start() -> tuple[Watcher, PushSources, asyncio.Task[None], Any]:
        owner = create_adapter("bluesky", "brand-bsky", user, base_url=pds.url)
        # Polls alone would take an hour: whatever arrives sooner came by the stream.
        w = Watcher(store, [WatchedAccount("brand-bsky", owner, interval=3600.0)], sink, spread=False)
        push = PushSources(w, floor=3600.0, max_backoff=0.2)
        assert await push.add("brand-bsky", owner)
        runner = asyncio.create_task(w.run())
        stream = next(iter(push.bluesky.values()))
        await wait_for(lambda: stream.live and w.cursor("brand-bsky") is not None, timeout=20)
        return w, push, runner, owner

    async def stop(w: Watcher, push: PushSources, runner: asyncio.Task[None], owner: Any) -> None:
        await push.stop()
        w.stop()
        await runner
        await owner.aclose()

    w, push, runner, owner = await start()
    stream = next(iter(push.bluesky.values()))
    await hijacker.publish("first via the stream")
    await wait_for(lambda: len(sink.events) == 1, timeout=10)
    # Kill the connection mid-flight and post at once: a reconnect (from the cursor) or the
    # fallback poll finds it, never both.
    await stream.drop_connection()
    await hijacker.publish("posted while the stream was down")
    await wait_for(lambda: len(sink.events) == 2, timeout=15)
    await wait_for(lambda: stream.live, timeout=15)
    await hijacker.publish("after the reconnect")
    await wait_for(lambda: len(sink.events) == 3, timeout=10)
    await stop(w, push, runner, owner)
    saved = StreamCursors(store).get(stream.source)
    assert saved is not None and int(saved) > 0

    # Down for a restart: the post made meanwhile is replayed from the stored cursor.
    await hijacker.publish("while the daemon restarted")
    w, push, runner, owner = await start()
    await wait_for(lambda: len(sink.events) == 4, timeout=15)
    await hijacker.publish("after the restart")
    await wait_for(lambda: len(sink.events) == 5, timeout=10)
    await stop(w, push, runner, owner)
    await hijacker.aclose()
    texts = [e["text"] for e in sink.events]
    assert texts == [
        "first via the stream",
        "posted while the stream was down",
        "after the reconnect",
        "while the daemon restarted",
        "after the restart",
    ]
    assert all(e["out_of_band"] for e in sink.events)
