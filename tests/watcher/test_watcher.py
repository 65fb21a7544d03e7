"""The watcher end to end against the sandbox platform (and the real PDS) over HTTP."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentinel.platforms import create_adapter
from sentinel.platforms.base import PlatformAdapter
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.platforms.timefmt import parse_time, utc_z
from sentinel.store import Store
from sentinel.watcher import PublishedLedger, WatchedAccount, Watcher
from tests.pds_fixture import Pds
from tests.waiting import wait_for
from tests.watcher.accounts import Sink, new_account


async def test_reconciles_gated_posts_and_finds_out_of_band_ones(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    gated_creds, open_creds = new_account(sandbox), new_account(sandbox)
    broker = create_adapter("sandbox", "brand", gated_creds)
    thief = create_adapter("sandbox", "thief", gated_creds)
    other = create_adapter("sandbox", "team", open_creds)
    await broker.publish("old post before watching")
    store = Store(tmp_path / "state.sqlite3")
    ledger = PublishedLedger(store)
    sink = Sink()
    w = Watcher(
        store,
        [WatchedAccount("brand", broker, gated=True), WatchedAccount("team", other, gated=False)],
        sink,
        ledger=ledger,
    )
    assert await w.poll_once("brand") == 0  # baseline: old posts are not alerted on
    await w.poll_once("team")
    # Gate allowed one post (by text), broker published another (by id), a thief posted a third.
    ledger.record("brand", "Launch  day!", ts=time.time())
    await broker.publish("launch day!")
    brokered = await broker.publish("brokered post")
    ledger.record("brand", "brokered post", post_id=f"sandbox:{brokered.post_id}", source="broker")
    stolen = await thief.publish("FREE CRYPTO http://scam.example", client="curl")
    await other.publish("open account post")
    assert await w.poll_once("brand") == 3
    assert await w.poll_once("team") == 1
    ev = sink.by_text()
    assert "old post before watching" not in ev
    assert ev["launch day!"]["reconciled"] == "text" and not ev["launch day!"]["out_of_band"]
    assert ev["brokered post"]["reconciled"] == "post_id" and not ev["brokered post"]["out_of_band"]
    scam = ev["FREE CRYPTO http://scam.example"]
    assert scam["out_of_band"] and scam["reconciled"] is None
    assert {k: scam[k] for k in ("account", "via", "client", "post_id")} == {
        "account": "brand",
        "via": "observed",
        "client": "curl",
        "post_id": f"sandbox:{stolen.post_id}",
    }
    assert scam["id"] and scam["ts"].endswith("Z")
    assert ev["open account post"]["out_of_band"] is False
    for a in (broker, thief, other):
        await a.aclose()


async def test_restart_does_not_realert_and_failed_callback_is_redelivered(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    creds = new_account(sandbox)
    db = tmp_path / "state.sqlite3"
    async with create_adapter("sandbox", "brand", creds) as sb:
        sink = Sink()
        w1 = Watcher(Store(db), [WatchedAccount("brand", sb)], sink)
        await w1.poll_once("brand")
        await sb.publish("one")
        await w1.poll_once("brand")
        assert [e["text"] for e in sink.events] == ["one"]
        await sb.publish("two")

        calls: list[str] = []

        def failing(event: dict[str, Any]) -> None:
            calls.append(event["text"])
            raise RuntimeError("engine down")

        # A restarted watcher (new process, same state) whose engine call fails: not marked seen.
        w2 = Watcher(Store(db), [WatchedAccount("brand", sb)], failing)
        with pytest.raises(RuntimeError):
            await w2.poll_once("brand")
        assert calls == ["two"]
        sink3 = Sink()
        w3 = Watcher(Store(db), [WatchedAccount("brand", sb)], sink3)
        await w3.poll_once("brand")
        await w3.poll_once("brand")
        assert [e["text"] for e in sink3.events] == ["two"]


async def test_errors_back_off_per_account_without_stalling_others(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    good_creds, bad_creds, limited_creds = new_account(sandbox), new_account(sandbox), new_account(sandbox)
    adapters: list[PlatformAdapter] = [
        create_adapter("sandbox", name, c, sleep=_no_sleep)
        for name, c in (("good", good_creds), ("bad", bad_creds), ("limited", limited_creds))
    ]
    sink = Sink()
    w = Watcher(
        Store(tmp_path / "s.sqlite3"),
        [WatchedAccount(a.account, a, interval=0.2) for a in adapters],
        sink,
        spread=False,
        max_backoff=60,
    )
    for a in adapters:
        await w.poll_once(a.account)
    httpx.post(
        f"{sandbox.url}/api/_faults", json={"handle": bad_creds["identifier"], "status": 500, "count": 1000}
    )
    httpx.post(
        f"{sandbox.url}/api/_faults",
        json={"handle": limited_creds["identifier"], "status": 429, "count": 1000, "retry_after": 120},
    )
    runner = asyncio.create_task(w.run())
    try:
        for i in range(3):
            await adapters[0].publish(f"good {i}")
            await wait_for(lambda i=i: f"good {i}" in sink.by_text())
        await wait_for(lambda: w.state["bad"].errors >= 2)
    finally:
        w.stop()
        await runner
    bad, limited = w.state["bad"], w.state["limited"]
    assert "HTTP 500" in bad.last_error
    # Exponential: the bad account waits longer after each failure, capped by max_backoff.
    assert bad.due - time.time() > 0.2
    assert limited.errors == 1 and limited.due - time.time() > 100  # honours Retry-After 120 s
    assert w.state["good"].errors == 0
    status = w.status()
    assert status["bad"]["errors"] == bad.errors and status["good"]["events"] >= 3
    for a in adapters:
        await a.aclose()


async def _no_sleep(_: float) -> None:
    return None


@pytest.mark.pds
async def test_finds_an_out_of_band_post_on_a_real_pds(pds: Pds, tmp_path: Path) -> None:
    user = pds.create_account()
    async with create_adapter("bluesky", "brand-bsky", user, base_url=pds.url) as owner:
        app = await owner.create_app_password("scheduler")
        tool = create_adapter(
            "bluesky", "tool", {"identifier": user["handle"], "app_password": app.secret}, base_url=pds.url
        )
        await owner.publish("before watching")
        store = Store(tmp_path / "s.sqlite3")
        ledger = PublishedLedger(store)
        sink = Sink()
        w = Watcher(
            store,
            [WatchedAccount("brand-bsky", owner, gated=True, interval=0.2)],
            sink,
            ledger=ledger,
            spread=False,
        )
        await w.poll_once("brand-bsky")
        ledger.record("brand-bsky", "Spring launch", ts=time.time())
        await owner.publish("Spring launch")
        hijack = await tool.publish("Claim your airdrop at http://bsky-gift.example")
        runner = asyncio.create_task(w.run())
        try:
            await wait_for(lambda: len(sink.events) >= 2, timeout=20)
        finally:
            w.stop()
            await runner
        await tool.aclose()
    ev = sink.by_text()
    assert set(ev) == {"Spring launch", "Claim your airdrop at http://bsky-gift.example"}
    assert ev["Spring launch"]["out_of_band"] is False
    oob = ev["Claim your airdrop at http://bsky-gift.example"]
    assert oob["out_of_band"] is True and oob["post_id"] == f"bluesky:{hijack.post_id}"


@pytest.mark.pds
async def test_a_post_dated_before_the_last_poll_is_dated_when_it_was_seen(pds: Pds, tmp_path: Path) -> None:
    """Bluesky's createdAt is the client's word: a hijacker back-dating a post to office hours
    must not move it out of the hours (and windows) the rules judge it in."""
    user = pds.create_account()
    async with create_adapter("bluesky", "brand-bsky", user, base_url=pds.url) as owner:
        sink = Sink()
        w = Watcher(Store(tmp_path / "s.sqlite3"), [WatchedAccount("brand-bsky", owner)], sink, spread=False)
        await w.poll_once("brand-bsky")
        listed = time.time()
        await w.poll_once("brand-bsky")  # a whole poll that listed nothing new
        record = {"$type": "app.bsky.feed.post", "text": "Claim now", "createdAt": "2026-01-05T14:00:00.000Z"}
        async with httpx.AsyncClient(base_url=pds.url, headers=pds.auth_headers(user), timeout=30) as c:
            made = await c.post(
                "/xrpc/com.atproto.repo.createRecord",
                json={"repo": user["did"], "collection": "app.bsky.feed.post", "record": record},
            )
            made.raise_for_status()
        honest = await owner.publish("Honest post")
        assert await w.poll_once("brand-bsky") == 2
    ev = sink.by_text()
    assert parse_time(ev["Claim now"]["ts"]).timestamp() >= int(listed)  # seconds in the event
    assert ev["Honest post"]["ts"] == utc_z(parse_time(honest.created_at).timestamp())
