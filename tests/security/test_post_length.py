"""Posts longer than the account's platform takes, sent at the gate, the broker and a held
post's approval, against real OpenBao and the sandbox platform (which takes 5,000 characters).

Before the limits, any text up to the API's 100,000 characters went through the engine: one
check of 100 KB held the event loop for up to 0.2 s while the gate, the broker and every other
request waited. Now the text is refused with ``422 text_too_long`` naming the field and the
limit, before the engine sees it: nothing is learned, held, recorded or published.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from sentinel.api.app import create_app
from sentinel.inventory import Inventory
from sentinel.platforms.registry import text_limit
from sentinel.store import Store
from tests.api.conftest import Harness, World, build_deps, harness, world

__all__ = ["harness", "world"]

LIMIT = text_limit("sandbox").maximum
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # one grapheme, seven code points


def _refused(answer: Any) -> None:
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "text_too_long"
    assert error["field"] == "text"
    assert error["limit"] == LIMIT and error["unit"] == "characters" and error["platform"] == "sandbox"
    assert str(LIMIT) in error["message"] and "'text'" in error["message"]


def _untouched(h: Harness, before: dict[str, Any], posts: int) -> None:
    assert h.engine.snapshot() == before, "the engine learned from a refused text"
    assert h.deps.held.list(None, None, 100) == []
    assert h.deps.ledger is not None and h.deps.ledger.queued == 0, "a refused text was recorded as allowed"
    assert len(h.world.posts("acct-a")) == posts
    assert h.events == []


async def test_the_gate_refuses_a_text_past_the_platform_limit_before_deciding(harness: Harness) -> None:
    h = harness
    before, posts = h.engine.snapshot(), len(h.world.posts("acct-a"))
    text = "HOLDME " + "a" * LIMIT
    answer = await h.client.post(
        "/v1/check", json={"account": "acct-a", "text": text}, headers=h.auth("op-pub")
    )
    _refused(answer)
    _untouched(h, before, posts)


async def test_a_dry_run_or_explain_is_refused_alike(harness: Harness) -> None:
    """A tuner's oracle would otherwise still run the engine on the long text."""
    h = harness
    before = h.engine.snapshot()
    for extra in ({"dry_run": True}, {"explain": True}):
        answer = await h.client.post(
            "/v1/check",
            json={"account": "acct-a", "text": "b" * (LIMIT + 1), **extra},
            headers=h.auth("op-trial"),
        )
        _refused(answer)
    assert h.engine.snapshot() == before


async def test_the_broker_publishes_nothing_and_holds_nothing(harness: Harness) -> None:
    h = harness
    before, posts = h.engine.snapshot(), len(h.world.posts("acct-a"))
    text = "HOLDME " + "c" * LIMIT  # held, were it judged
    answer = await h.client.post("/v1/accounts/acct-a/posts", json={"text": text}, headers=h.auth("op-pub"))
    _refused(answer)
    reply = await h.client.post(
        "/v1/accounts/acct-a/posts",
        json={"text": "d" * (LIMIT + 1), "reply_to": "1"},
        headers=h.auth("op-all"),
    )
    _refused(reply)
    _untouched(h, before, posts)


async def test_the_limit_is_refused_only_past_it_and_counts_what_a_reader_sees(harness: Harness) -> None:
    """A text at the limit is decided as ever; an emoji of seven code points counts once, so
    a post the platform would take is not refused for its code points."""
    h = harness
    for text in ("e" * LIMIT, FAMILY * LIMIT):
        answer = await h.client.post(
            "/v1/check", json={"account": "acct-a", "text": text, "dry_run": True}, headers=h.auth("op-trial")
        )
        assert answer.status_code == 200, answer.text[:300]
        assert answer.json()["verdict"] in ("allow", "hold", "block")


async def test_a_held_post_past_the_limit_is_not_approved_and_stays_held(harness: Harness) -> None:
    """A post held before the limit existed (or a store edited by hand) is not published by
    an approval: the approver is told why, and may reject it."""
    h = harness
    posts = len(h.world.posts("acct-a"))
    text = "f" * (LIMIT + 1)
    held = h.deps.held.add(
        "broker", "acct-a", "op-pub", text, "evt_old", 1.0, 5.0, [], caller="", caller_name="op-pub"
    )
    answer = await h.client.post(f"/v1/held/{held.id}/approve", json={}, headers=h.auth("op-approver"))
    _refused(answer)
    after = h.deps.held.get(held.id)
    assert after is not None and after.status == "held"
    assert len(h.world.posts("acct-a")) == posts
    rejected = await h.client.post(f"/v1/held/{held.id}/reject", json={}, headers=h.auth("op-approver"))
    assert rejected.status_code == 200, rejected.text


async def test_an_account_s_own_limit_from_the_inventory_is_the_one_enforced(
    world: World, tmp_path: Path
) -> None:
    """An X account without Premium takes 280: the inventory says so, and the gate holds the
    account to it (here on the sandbox account acct-a, whose platform would take 5,000)."""
    accounts = tuple(
        replace(a, max_post_length=280) if a.id == "acct-a" else a for a in world.inventory.accounts
    )
    tight = Inventory(accounts=accounts)
    store = Store(tmp_path / "state.sqlite3")
    deps, engine, _, _ = build_deps(world, store, inventory=lambda: tight)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(deps)), base_url="http://api"
        ) as client:
            before = engine.snapshot()
            refused = await client.post(
                "/v1/check", json={"account": "acct-a", "text": "g" * 281}, headers=world.auth("op-pub")
            )
            assert refused.status_code == 422, refused.text
            assert refused.json()["error"]["limit"] == 280 and refused.json()["error"]["field"] == "text"
            assert engine.snapshot() == before
            fits = await client.post(
                "/v1/check", json={"account": "acct-a", "text": "g" * 280}, headers=world.auth("op-pub")
            )
            assert fits.status_code == 200, fits.text
    finally:
        assert deps.aclose is not None
        await deps.aclose()
        store.close()
