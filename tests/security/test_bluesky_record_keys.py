"""A hijacker holding an app password writes a post under a record key of their choosing on a
real Bluesky PDS: one dated in the future (or not a TID at all) sorts after every post to
come. The watcher lists by record key; the key must not become its cursor, or every later
post on the account, the scam included, would never be listed again."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from sentinel.platforms import create_adapter
from sentinel.store import Store
from sentinel.watcher import WatchedAccount, Watcher
from tests.pds_fixture import Pds
from tests.watcher.accounts import Sink


@pytest.mark.pds
@pytest.mark.parametrize("rkey", ["bzzzzzzzzzzzz", "jzzzzzzzzzzzz", "zzzz-not-a-tid"])
async def test_a_post_under_a_record_key_from_the_future_does_not_hide_later_posts(
    pds: Pds, tmp_path: Path, rkey: str
) -> None:
    user = pds.create_account()
    async with create_adapter("bluesky", "brand-bsky", user, base_url=pds.url) as owner:
        sink = Sink()
        w = Watcher(Store(tmp_path / "s.sqlite3"), [WatchedAccount("brand-bsky", owner)], sink, spread=False)
        await w.poll_once("brand-bsky")
        record = {"$type": "app.bsky.feed.post", "text": "hello", "createdAt": "2026-12-05T00:00:00.000Z"}
        async with httpx.AsyncClient(base_url=pds.url, headers=pds.auth_headers(user), timeout=30) as c:
            made = await c.post(
                "/xrpc/com.atproto.repo.createRecord",
                json={
                    "repo": user["did"],
                    "collection": "app.bsky.feed.post",
                    "rkey": rkey,
                    "record": record,
                    "validate": False,
                },
            )
            made.raise_for_status()
        assert await w.poll_once("brand-bsky") == 1  # the post itself is judged
        assert w.cursor("brand-bsky") != rkey
        scam = await owner.publish("Claim your airdrop at http://bsky-gift.example")
        assert await w.poll_once("brand-bsky") == 1
        assert await w.poll_once("brand-bsky") == 0  # and the planted post is not fed again
    assert [e["text"] for e in sink.events] == ["hello", scam.text]


@pytest.mark.pds
async def test_a_cursor_such_a_key_already_became_heals_on_the_next_poll(pds: Pds, tmp_path: Path) -> None:
    user = pds.create_account()
    async with create_adapter("bluesky", "brand-bsky", user, base_url=pds.url) as owner:
        await owner.publish("seen before")
        sink = Sink()
        w = Watcher(Store(tmp_path / "s.sqlite3"), [WatchedAccount("brand-bsky", owner)], sink, spread=False)
        await w.poll_once("brand-bsky")
        w._save_cursor("brand-bsky", "jzzzzzzzzzzzz")  # as a watcher without the check left it
        scam = await owner.publish("Claim your airdrop at http://bsky-gift.example")
        assert await w.poll_once("brand-bsky") == 1
        assert w.cursor("brand-bsky") == scam.post_id
    assert [e["text"] for e in sink.events] == [scam.text]  # "seen before" is not fed again
