"""Replies through the broker and comment moderation, end to end in-process: a real OpenBao
decides who may do what, the sandbox platform holds the posts and the replies, and every
moderation action lands in the audit sink."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from sentinel.api.app import create_app
from sentinel.api.deps import Deps
from sentinel.inventory import parse_inventory
from sentinel.store import Store
from tests.api.conftest import World, build_deps

Audit = tuple[str, str, str, dict[str, Any]]


@dataclass
class Mod:
    world: World
    client: httpx.AsyncClient
    audits: list[Audit]

    def auth(self, person: str) -> dict[str, str]:
        return self.world.auth(person)

    @property
    def moderation(self) -> list[Audit]:
        return [a for a in self.audits if a[1].startswith("comment.")]

    async def post(self, text: str, account: str = "acct-a") -> str:
        resp = await self.client.post(
            f"/v1/accounts/{account}/posts",
            json={"text": text},
            headers=self.auth("op-pub" if account == "acct-a" else "op-all"),
        )
        assert resp.status_code == 201, resp.text
        return str(resp.json()["post"]["post_id"])


@pytest.fixture
async def mod(world: World, tmp_path: Path) -> AsyncIterator[Mod]:
    store = Store(tmp_path / "state.sqlite3")
    audits: list[Audit] = []
    deps, *_ = build_deps(
        world,
        store,
        audit=lambda actor, action, target, details: audits.append((actor, action, target, dict(details))),
    )
    app = create_app(deps)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield Mod(world, client, audits)
    assert deps.aclose is not None
    await deps.aclose()
    store.close()


def fan_reply(world: World, post_id: str, text: str) -> str:
    """Someone outside the organisation replies on the sandbox platform."""
    handle, password = f"fan-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    url = world.sandbox.url
    httpx.post(f"{url}/api/accounts", json={"handle": handle, "password": password}).raise_for_status()
    token = httpx.post(f"{url}/api/sessions", json={"handle": handle, "password": password}).json()["token"]
    resp = httpx.post(
        f"{url}/api/posts",
        json={"text": text, "reply_to": post_id},
        headers={"authorization": f"Bearer {token}"},
    )
    resp.raise_for_status()
    return str(resp.json()["id"])


def replies(world: World, post_id: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{world.sandbox.url}/api/posts/{post_id}/replies").json()["replies"])


def code(resp: httpx.Response) -> str:
    return str(resp.json()["error"]["code"])


async def test_moderator_lists_hides_and_deletes_replies_but_cannot_publish(mod: Mod) -> None:
    post = await mod.post("Tell us about your weekend")
    spam = fan_reply(mod.world, post, "buy followers at spam.example")
    rude = fan_reply(mod.world, post, "something rude")
    c = mod.client

    listed = await c.get(f"/v1/accounts/acct-a/posts/{post}/comments", headers=mod.auth("op-mod"))
    assert listed.status_code == 200, listed.text
    comments = listed.json()["comments"]
    assert [(x["comment_id"], x["text"], x["hidden"], x["own"]) for x in comments] == [
        (spam, "buy followers at spam.example", False, False),
        (rude, "something rude", False, False),
    ]

    hidden = await c.post(f"/v1/accounts/acct-a/comments/{rude}/hide", headers=mod.auth("op-mod"))
    assert hidden.status_code == 200 and hidden.json() == {
        "account": "acct-a",
        "comment_id": rude,
        "hidden": True,
    }
    assert {r["id"]: r["hidden"] for r in replies(mod.world, post)} == {spam: False, rude: True}
    shown = await c.post(f"/v1/accounts/acct-a/comments/{rude}/unhide", headers=mod.auth("op-mod"))
    assert shown.status_code == 200 and shown.json()["hidden"] is False
    assert {r["id"]: r["hidden"] for r in replies(mod.world, post)} == {spam: False, rude: False}

    deleted = await c.delete(f"/v1/accounts/acct-a/comments/{spam}", headers=mod.auth("op-mod"))
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert [r["id"] for r in replies(mod.world, post)] == [rude]

    assert [(a[0], a[1], a[2], a[3]["comment_id"]) for a in mod.moderation] == [
        ("op-mod", "comment.hide", "acct-a", rude),
        ("op-mod", "comment.unhide", "acct-a", rude),
        ("op-mod", "comment.delete", "acct-a", spam),
    ]

    # moderate is not publish, nor respond
    top = await c.post("/v1/accounts/acct-a/posts", json={"text": "mine"}, headers=mod.auth("op-mod"))
    assert top.status_code == 403 and top.json()["error"]["capability"] == "publish"
    answer = await c.post(
        "/v1/accounts/acct-a/posts", json={"text": "mine", "reply_to": rude}, headers=mod.auth("op-mod")
    )
    assert answer.status_code == 403 and answer.json()["error"]["capability"] == "respond"


async def test_responder_replies_but_cannot_publish_or_moderate(mod: Mod) -> None:
    post = await mod.post("We are open on Sunday")
    question = fan_reply(mod.world, post, "Until what time?")
    c = mod.client
    resp = await c.post(
        "/v1/accounts/acct-a/posts",
        json={"text": "Until 6 pm, see you there", "reply_to": question},
        headers=mod.auth("op-rep"),
    )
    assert resp.status_code == 201, resp.text
    reply_id = resp.json()["post"]["post_id"]
    thread = replies(mod.world, question)
    assert [(r["id"], r["text"], r["author"]) for r in thread] == [
        (reply_id, "Until 6 pm, see you there", mod.world.inventory["acct-a"].handle)
    ]
    # the reply is the account's own post, under the question
    own = await c.get(f"/v1/accounts/acct-a/posts/{question}/comments", headers=mod.auth("op-mod"))
    assert [(x["comment_id"], x["own"]) for x in own.json()["comments"]] == [(reply_id, True)]

    top = await c.post("/v1/accounts/acct-a/posts", json={"text": "A new post"}, headers=mod.auth("op-rep"))
    assert top.status_code == 403 and top.json()["error"]["capability"] == "publish"
    for method, path in (
        ("POST", f"/v1/accounts/acct-a/comments/{question}/hide"),
        ("DELETE", f"/v1/accounts/acct-a/comments/{question}"),
        ("GET", f"/v1/accounts/acct-a/posts/{post}/comments"),
    ):
        denied = await c.request(method, path, headers=mod.auth("op-rep"))
        assert denied.status_code == 403, (method, path, denied.text)
        assert denied.json()["error"]["capability"] == "moderate"
    assert [r["id"] for r in replies(mod.world, post)] == [question]
    assert mod.moderation == []


async def test_reply_to_a_missing_post_is_a_platform_error(mod: Mod) -> None:
    resp = await mod.client.post(
        "/v1/accounts/acct-a/posts",
        json={"text": "thanks", "reply_to": "999999999"},
        headers=mod.auth("op-rep"),
    )
    assert resp.status_code == 502 and code(resp) == "platform_error"


async def test_analytics_may_list_but_not_moderate(mod: Mod) -> None:
    post = await mod.post("Our autumn range is out")
    comment = fan_reply(mod.world, post, "love it")
    c = mod.client
    listed = await c.get(f"/v1/accounts/acct-a/posts/{post}/comments", headers=mod.auth("op-analyst"))
    assert listed.status_code == 200 and [x["comment_id"] for x in listed.json()["comments"]] == [comment]
    hide = await c.post(f"/v1/accounts/acct-a/comments/{comment}/hide", headers=mod.auth("op-analyst"))
    assert hide.status_code == 403 and hide.json()["error"]["capability"] == "moderate"
    publisher = await c.delete(f"/v1/accounts/acct-a/comments/{comment}", headers=mod.auth("op-pub"))
    assert publisher.status_code == 403
    assert replies(mod.world, post)[0]["hidden"] is False


async def test_a_moderator_of_one_account_cannot_touch_another(mod: Mod) -> None:
    post = await mod.post("Post on B", account="acct-b")
    comment = fan_reply(mod.world, post, "hello B")
    c = mod.client
    for method, path in (
        ("POST", f"/v1/accounts/acct-b/comments/{comment}/hide"),
        ("DELETE", f"/v1/accounts/acct-b/comments/{comment}"),
        ("GET", f"/v1/accounts/acct-b/posts/{post}/comments"),
    ):
        denied = await c.request(method, path, headers=mod.auth("op-mod"))
        assert denied.status_code == 403 and denied.json()["error"]["account"] == "acct-b"
    # acct-a's moderator may not moderate acct-b's thread through acct-a either
    other = await c.post(f"/v1/accounts/acct-a/comments/{comment}/hide", headers=mod.auth("op-mod"))
    assert other.status_code == 409 and code(other) == "conflict"
    assert replies(mod.world, post)[0]["hidden"] is False and mod.moderation == []


async def test_unknown_comment_bad_ids_and_missing_tokens(mod: Mod) -> None:
    c = mod.client
    hide = await c.post("/v1/accounts/acct-a/comments/987654321/hide", headers=mod.auth("op-mod"))
    assert hide.status_code == 404 and code(hide) == "not_found"
    listed = await c.get("/v1/accounts/acct-a/posts/987654321/comments", headers=mod.auth("op-mod"))
    assert listed.status_code == 404
    bad = await c.get(
        "/v1/accounts/acct-a/posts/1/comments", params={"limit": "0"}, headers=mod.auth("op-mod")
    )
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "limit"
    for method, path in (
        ("POST", "/v1/accounts/acct-a/comments/1/hide"),
        ("DELETE", "/v1/accounts/acct-a/comments/1"),
        ("GET", "/v1/accounts/acct-a/posts/1/comments"),
    ):
        anonymous = await c.request(method, path)
        assert anonymous.status_code == 401 and code(anonymous) == "missing_token"
    assert mod.moderation == []
    # deleting is idempotent, like deleting a post: a comment already gone is deleted
    gone = await c.delete("/v1/accounts/acct-a/comments/987654321", headers=mod.auth("op-mod"))
    assert gone.status_code == 200 and gone.json()["deleted"] is True


@dataclass
class TikTok:
    client: httpx.AsyncClient
    deps: Deps


@pytest.fixture
async def tiktok(world: World, tmp_path: Path) -> AsyncIterator[TikTok]:
    """The API over an inventory with one account on a platform without a comment API."""
    account = {
        "id": "acct-tt",
        "platform": "tiktok",
        "handle": "brand",
        "timezone": "UTC",
        "publishing": "gated",
        "owners": ["op-all"],
        "credentials": [{"kind": "oauth_token"}],
    }
    inventory = parse_inventory({"accounts": [account]})
    store = Store(tmp_path / "state.sqlite3")
    deps, *_ = build_deps(world, store, inventory=lambda: inventory)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(deps)), base_url="http://api"
    ) as client:
        yield TikTok(client, deps)
    assert deps.aclose is not None
    await deps.aclose()
    store.close()


async def test_platform_without_a_comment_api_is_not_supported_before_any_credential_is_read(
    tiktok: TikTok, world: World
) -> None:
    for method, path in (
        ("POST", "/v1/accounts/acct-tt/comments/1/hide"),
        ("DELETE", "/v1/accounts/acct-tt/comments/1"),
        ("GET", "/v1/accounts/acct-tt/posts/1/comments"),
    ):
        resp = await tiktok.client.request(method, path, headers=world.auth("op-all"))
        assert resp.status_code == 422 and code(resp) == "not_supported", resp.text
        assert resp.json()["error"]["instructions"]


async def test_a_reply_the_platform_cannot_send_is_refused_before_the_gate(
    tiktok: TikTok, world: World
) -> None:
    resp = await tiktok.client.post(
        "/v1/accounts/acct-tt/posts",
        json={"text": "HOLDME thanks", "reply_to": "7"},
        headers=world.auth("op-all"),
    )
    assert resp.status_code == 422 and code(resp) == "not_supported", resp.text
    assert "TikTok app" in resp.json()["error"]["instructions"]
    assert tiktok.deps.held.list(None, None, 10) == []  # not held for an approval that could never publish


async def test_decisions_name_the_capability_that_allowed_the_listing(mod: Mod) -> None:
    post = await mod.post("Logged")
    token = mod.world.tokens["op-analyst"]
    with structlog.testing.capture_logs() as logs:
        ok = await mod.client.get(
            f"/v1/accounts/acct-a/posts/{post}/comments", headers=mod.auth("op-analyst")
        )
        denied = await mod.client.get(
            f"/v1/accounts/acct-a/posts/{post}/comments", headers=mod.auth("op-pub")
        )
    assert ok.status_code == 200 and denied.status_code == 403
    decisions = [(e["actor"], e["capability"], e["allowed"]) for e in logs if e["event"] == "authz.decision"]
    assert decisions == [("op-analyst", "analytics", True), ("op-pub", "moderate", False)]
    assert token not in repr(logs)
