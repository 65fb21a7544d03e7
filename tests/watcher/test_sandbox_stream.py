"""The sandbox platform's event stream end to end: posts reach the engine through it, only
watched handles count, and a restart resumes from the stored cursor."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from sentinel.platforms import create_adapter
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.store import Store
from sentinel.watcher import WatchedAccount, Watcher
from sentinel.watcher.push import PushSources
from sentinel.watcher.streams import StreamCursors
from tests.watcher.test_watcher import Sink, new_account, wait_for


async def test_posts_arrive_by_the_sandbox_stream_and_a_restart_resumes(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    creds, other = new_account(sandbox), new_account(sandbox)
    thief = create_adapter("sandbox", "thief", creds)
    stranger = create_adapter("sandbox", "stranger", other)
    store = Store(tmp_path / "s.sqlite3")
    sink = Sink()

    async def start() -> tuple[Watcher, PushSources, asyncio.Task[None]]:
        owner = create_adapter("sandbox", "brand", creds)
        w = Watcher(store, [WatchedAccount("brand", owner, interval=3600.0)], sink, spread=False)
        push = PushSources(w, floor=3600.0, max_backoff=0.1)
        assert await push.add("brand", owner)
        runner = asyncio.create_task(w.run())
        await wait_for(lambda: w.state["brand"].streamed and w.cursor("brand") is not None)
        return w, push, runner

    async def stop(w: Watcher, push: PushSources, runner: asyncio.Task[None]) -> None:
        await push.stop()
        w.stop()
        await runner
        for acct in w.state:
            await w._accounts[acct].adapter.aclose()

    w, push, runner = await start()
    await thief.publish("by the stream")
    await stranger.publish("someone else's post")
    await wait_for(lambda: len(sink.events) == 1)
    stream = next(iter(push.sandbox.values()))
    await wait_for(lambda: stream.frames >= 2)
    assert push.changes == 1  # the stranger's post is on the stream too, and woke nothing
    await stop(w, push, runner)
    assert StreamCursors(store).get(stream.source) is not None

    await thief.publish("while the daemon was down")
    w, push, runner = await start()
    await wait_for(lambda: len(sink.events) == 2)
    await stop(w, push, runner)
    assert [e["text"] for e in sink.events] == ["by the stream", "while the daemon was down"]
    await thief.aclose()
    await stranger.aclose()


async def test_the_stream_endpoint_refuses_a_bad_cursor(sandbox: SandboxServer) -> None:
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{sandbox.url}/api/stream", params={"cursor": "x"})
    assert r.status_code == 400
