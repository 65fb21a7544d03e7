"""X API v2 adapter against the documented shapes (httpx.MockTransport; X cannot run here)."""

from __future__ import annotations

import httpx
import pytest

from sentinel.platforms import (
    PlatformAuthFailed,
    PlatformNotSupported,
    PlatformRateLimited,
    PlatformRejected,
    create_adapter,
)
from sentinel.platforms.base import content_hash
from sentinel.platforms.x import expanded_text
from sentinel.redact import scrub
from tests.platforms.mockapi import MockApi, body, form, no_sleep

API = "https://api.x.com"
CREDS = {
    "access_token": "x-access-old-123",
    "refresh_token": "x-refresh-old-123",
    "client_id": "x-client",
    "user_id": "2244994945",
}


async def test_list_follows_pagination_and_sorts_oldest_first() -> None:
    api = MockApi()
    api.on(
        "GET",
        f"{API}/2/users/2244994945/tweets",
        httpx.Response(
            200,
            json={
                "data": [
                    {"id": "1800000000000000004", "text": "newest", "created_at": "2026-03-01T10:05:00.000Z"},
                    {"id": "1800000000000000003", "text": "newer", "created_at": "2026-03-01T10:04:00.000Z"},
                ],
                "meta": {
                    "result_count": 2,
                    "newest_id": "1800000000000000004",
                    "next_token": "7140dibdnow9c7btw",
                },
            },
        ),
        httpx.Response(
            200,
            json={
                "data": [
                    {"id": "1800000000000000002", "text": "older", "created_at": "2026-03-01T10:03:00.000Z"}
                ],
                "meta": {"result_count": 1},
            },
        ),
    )
    async with create_adapter("x", "x1", CREDS, transport=api.transport, sleep=no_sleep) as x:
        page = await x.list_posts("1800000000000000001")
    first, second = [r for r in api.requests if r.url.path.endswith("/tweets")]
    assert first.url.params["since_id"] == "1800000000000000001"
    assert "entities" in first.url.params["tweet.fields"].split(",")  # to expand t.co links
    assert second.url.params["pagination_token"] == "7140dibdnow9c7btw"
    assert [p.text for p in page.posts] == ["older", "newer", "newest"]
    assert page.cursor == "1800000000000000004"


async def test_publish_and_delete() -> None:
    api = MockApi()
    api.on(
        "POST",
        f"{API}/2/tweets",
        httpx.Response(201, json={"data": {"id": "1445880548472328192", "text": "hi"}}),
    )
    api.on(
        "DELETE", f"{API}/2/tweets/1445880548472328192", httpx.Response(200, json={"data": {"deleted": True}})
    )
    async with create_adapter("x", "x1", CREDS, transport=api.transport, sleep=no_sleep) as x:
        post = await x.publish("hi")
        await x.delete_post(post.post_id)
    assert body(api.last("POST", f"{API}/2/tweets")) == {"text": "hi"}


async def test_delete_limit_reset_header_is_honoured() -> None:
    api = MockApi()
    api.on(
        "DELETE",
        f"{API}/2/tweets/5",
        httpx.Response(
            429, headers={"x-rate-limit-reset": "4102444800"}, json={"title": "Too Many Requests"}
        ),
    )
    async with create_adapter("x", "x1", CREDS, transport=api.transport, sleep=no_sleep) as x:
        with pytest.raises(PlatformRateLimited) as err:
            await x.delete_post("5")
        assert x.info.limits.delete is not None and x.info.limits.delete.count == 50
    assert err.value.retry_after is not None and err.value.retry_after > 0


async def test_rotation_refreshes_verifies_and_revokes_the_old_token() -> None:
    api = MockApi()
    api.on(
        "POST",
        f"{API}/2/oauth2/token",
        httpx.Response(
            200,
            json={
                "token_type": "bearer",
                "expires_in": 7200,
                "access_token": "x-access-new-456",
                "refresh_token": "x-refresh-new-456",
            },
        ),
    )
    api.on(
        "GET",
        f"{API}/2/users/me",
        httpx.Response(200, json={"data": {"id": "2244994945", "username": "brand"}}),
    )
    api.on("POST", f"{API}/2/oauth2/revoke", httpx.Response(200, json={"revoked": True}))
    async with create_adapter("x", "x1", dict(CREDS), transport=api.transport, sleep=no_sleep) as x:
        changed = await x.rotate_credential()
    assert changed["access_token"] == "x-access-new-456" and changed["refresh_token"] == "x-refresh-new-456"
    assert form(api.last("POST", f"{API}/2/oauth2/token")) == {
        "client_id": "x-client",
        "grant_type": "refresh_token",
        "refresh_token": "x-refresh-old-123",
    }
    assert api.last("GET", f"{API}/2/users/me").headers["authorization"] == "Bearer x-access-new-456"
    assert form(api.last("POST", f"{API}/2/oauth2/revoke"))["token"] == "x-access-old-123"
    assert "x-access-new-456" not in scrub("new token x-access-new-456")


async def test_rotation_keeps_the_new_pair_when_revoking_the_old_token_fails() -> None:
    api = MockApi()
    api.on(
        "POST",
        f"{API}/2/oauth2/token",
        httpx.Response(200, json={"access_token": "x-access-new-789", "refresh_token": "x-refresh-new-789"}),
    )
    api.on("GET", f"{API}/2/users/me", httpx.Response(200, json={"data": {"id": "1", "username": "brand"}}))
    api.on("POST", f"{API}/2/oauth2/revoke", httpx.Response(400, json={"error": "invalid_request"}))
    async with create_adapter("x", "x1", dict(CREDS), transport=api.transport, sleep=no_sleep) as x:
        changed = await x.rotate_credential()
    assert changed["access_token"] == "x-access-new-789" and changed["refresh_token"] == "x-refresh-new-789"


async def test_unauthorized_and_no_password_api() -> None:
    api = MockApi()
    api.on(
        "GET",
        f"{API}/2/users/me",
        httpx.Response(401, json={"title": "Unauthorized", "status": 401, "detail": "Unauthorized"}),
    )
    async with create_adapter("x", "x1", CREDS, transport=api.transport, sleep=no_sleep) as x:
        with pytest.raises(PlatformAuthFailed):
            await x.verify()
        with pytest.raises(PlatformNotSupported) as err:
            await x.change_password("new-password-1")
    assert "Change your password" in err.value.instructions


# -- replies and moderation (documented: POST /2/tweets reply, search/recent, PUT hidden) ------------
async def test_reply_lists_conversation_hides_and_deletes_only_own() -> None:
    api = MockApi()
    api.on(
        "POST",
        f"{API}/2/tweets",
        httpx.Response(201, json={"data": {"id": "1800000000000000020", "text": "Thanks!"}}),
    )
    api.on(
        "GET",
        f"{API}/2/tweets/search/recent",
        httpx.Response(
            200,
            json={
                "data": [
                    {
                        "id": "1800000000000000020",
                        "text": "Thanks!",
                        "author_id": "2244994945",
                        "created_at": "2026-03-01T10:07:00.000Z",
                        "conversation_id": "1800000000000000001",
                        "referenced_tweets": [{"type": "replied_to", "id": "1800000000000000010"}],
                    },
                    {
                        "id": "1800000000000000010",
                        "text": "free crypto, DM me",
                        "author_id": "99",
                        "created_at": "2026-03-01T10:06:00.000Z",
                        "conversation_id": "1800000000000000001",
                        "referenced_tweets": [{"type": "replied_to", "id": "1800000000000000001"}],
                    },
                ],
                "includes": {"users": [{"id": "99", "name": "Spam", "username": "spammer"}]},
                "meta": {"result_count": 2},
            },
        ),
    )
    api.on(
        "PUT",
        f"{API}/2/tweets/1800000000000000010/hidden",
        httpx.Response(200, json={"data": {"hidden": True}}),
    )
    api.on(
        "GET",
        f"{API}/2/tweets/1800000000000000010",
        httpx.Response(200, json={"data": {"id": "1800000000000000010", "text": "x", "author_id": "99"}}),
    )
    api.on(
        "GET",
        f"{API}/2/tweets/1800000000000000020",
        httpx.Response(
            200, json={"data": {"id": "1800000000000000020", "text": "x", "author_id": "2244994945"}}
        ),
    )
    api.on(
        "GET",
        f"{API}/2/tweets/1800000000000000030",
        httpx.Response(
            200,
            json={
                "errors": [
                    {
                        "value": "1800000000000000030",
                        "detail": "Could not find tweet with id: [1800000000000000030].",
                        "title": "Not Found Error",
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                ]
            },
        ),
    )
    api.on(
        "DELETE", f"{API}/2/tweets/1800000000000000020", httpx.Response(200, json={"data": {"deleted": True}})
    )
    async with create_adapter("x", "x", CREDS, transport=api.transport, sleep=no_sleep) as x:
        posted = await x.reply("1800000000000000010", "Thanks!")
        comments = await x.list_comments("1800000000000000001")
        await x.hide_comment("1800000000000000010")
        await x.hide_comment("1800000000000000010", hidden=False)
        with pytest.raises(PlatformRejected, match="hide the reply instead"):
            await x.delete_comment("1800000000000000010")
        await x.delete_comment("1800000000000000020")
        await x.delete_comment("1800000000000000030")  # already gone
    assert posted.post_id == "1800000000000000020"
    assert body(api.last("POST", f"{API}/2/tweets")) == {
        "text": "Thanks!",
        "reply": {"in_reply_to_tweet_id": "1800000000000000010"},
    }
    search = api.last("GET", f"{API}/2/tweets/search/recent")
    assert search.url.params["query"] == "conversation_id:1800000000000000001"
    assert [(c.comment_id, c.author, c.parent_id, c.own) for c in comments] == [
        ("1800000000000000010", "spammer", "1800000000000000001", False),
        ("1800000000000000020", "2244994945", "1800000000000000010", True),
    ]
    hides = [body(r) for r in api.requests if r.method == "PUT"]
    assert hides == [{"hidden": True}, {"hidden": False}]
    assert [r.url.path for r in api.requests if r.method == "DELETE"] == ["/2/tweets/1800000000000000020"]


async def test_account_state_from_users_me() -> None:
    img = "https://pbs.twimg.com/profile_images/1/new_normal.jpg"
    api = MockApi()
    api.on(
        "GET",
        f"{API}/2/users/me",
        httpx.Response(
            200,
            json={
                "data": {
                    "id": "2244994945",
                    "name": "Brand",
                    "username": "brand",
                    "description": "Official account",
                    "profile_image_url": img,
                    "pinned_tweet_id": "1460323737035677698",
                    "url": "https://t.co/abc",
                    "entities": {
                        "url": {
                            "urls": [{"url": "https://t.co/abc", "expanded_url": "https://brand.example"}]
                        }
                    },
                }
            },
        ),
    )
    api.on("GET", img, httpx.Response(200, content=b"x-avatar"))
    async with create_adapter("x", "x1", CREDS, transport=api.transport, sleep=no_sleep) as x:
        state = await x.account_state()
    assert state == {
        "handle": "brand",
        "display_name": "Brand",
        "avatar": content_hash(b"x-avatar"),
        "bio": "Official account",
        "links": ["https://brand.example"],
        "pinned_post": "x:1460323737035677698",
    }
    asked = api.last("GET", f"{API}/2/users/me").url.params["user.fields"].split(",")
    assert {"pinned_tweet_id", "profile_image_url", "entities"} <= set(asked)


def test_expanded_text_restores_the_links_x_wrapped_and_drops_media_wrappers() -> None:
    tweet = {
        "text": "Our report https://t.co/abc123 and https://t.co/abc1234 https://t.co/media99",
        "entities": {
            "urls": [
                {"url": "https://t.co/abc123", "expanded_url": "https://example.com/report"},
                {"url": "https://t.co/abc1234", "expanded_url": "https://example.com/more"},
                {
                    "url": "https://t.co/media99",
                    "expanded_url": "https://x.com/a/status/1/photo/1",
                    "media_key": "3_1",
                },
            ]
        },
    }
    assert expanded_text(tweet) == "Our report https://example.com/report and https://example.com/more"
    assert expanded_text({"text": "no links "}) == "no links "
