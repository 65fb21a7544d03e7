"""Facebook Page, Instagram and Threads adapters against the documented Graph shapes (MockTransport)."""

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
from tests.platforms.mockapi import MockApi, form, no_sleep

GRAPH = "https://graph.facebook.com/v21.0"
THREADS = "https://graph.threads.net/v1.0"


async def test_facebook_page_list_publish_delete() -> None:
    api = MockApi()
    api.on(
        "GET",
        f"{GRAPH}/1234/posts",
        httpx.Response(
            200,
            json={
                "data": [
                    {"id": "1234_9", "message": "newest", "created_time": "2026-03-01T10:05:00+0000"},
                    {"id": "1234_8", "message": "older", "created_time": "2026-03-01T09:00:00+0000"},
                ],
                "paging": {"cursors": {"before": "b", "after": "a"}},
            },
        ),
    )
    api.on("POST", f"{GRAPH}/1234/feed", httpx.Response(200, json={"id": "1234_10"}))
    api.on("DELETE", f"{GRAPH}/1234_10", httpx.Response(200, json={"success": True}))
    creds = {"access_token": "page-token-123456", "page_id": "1234"}
    async with create_adapter("facebook", "fb", creds, transport=api.transport, sleep=no_sleep) as fb:
        base = await fb.list_posts(None)
        assert [p.text for p in base.posts] == ["older", "newest"] and base.cursor == "2026-03-01T10:05:00Z"
        page = await fb.list_posts("2026-03-01T10:00:00Z")
        assert [p.post_id for p in page.posts] == ["1234_9"]
        post = await fb.publish("hello page")
        await fb.delete_post(post.post_id)
    assert form(api.last("POST", f"{GRAPH}/1234/feed")) == {"message": "hello page"}


async def test_graph_error_codes_map_to_sentinel_errors() -> None:
    api = MockApi()
    api.on(
        "GET",
        f"{GRAPH}/1234/posts",
        httpx.Response(
            400,
            json={
                "error": {"message": "Error validating access token", "type": "OAuthException", "code": 190}
            },
        ),
        httpx.Response(400, json={"error": {"message": "(#32) Page request limit reached", "code": 32}}),
    )
    creds = {"access_token": "page-token-123456", "page_id": "1234"}
    async with create_adapter("facebook", "fb", creds, transport=api.transport, sleep=no_sleep) as fb:
        with pytest.raises(PlatformAuthFailed, match="validating access token"):
            await fb.list_posts("")
        with pytest.raises(PlatformRateLimited):
            await fb.list_posts("")


async def test_instagram_lists_but_cannot_delete_or_publish_text() -> None:
    api = MockApi()
    api.on(
        "GET",
        f"{GRAPH}/17841400000000000/media",
        httpx.Response(
            200,
            json={"data": [{"id": "1790", "caption": "New drop", "timestamp": "2026-03-01T10:00:00+0000"}]},
        ),
    )
    creds = {"access_token": "ig-token-123456", "ig_user_id": "17841400000000000"}
    async with create_adapter("instagram", "ig", creds, transport=api.transport, sleep=no_sleep) as ig:
        page = await ig.list_posts("")
        assert [p.text for p in page.posts] == ["New drop"]
        with pytest.raises(PlatformNotSupported, match="cannot delete"):
            await ig.delete_post("1790")
        with pytest.raises(PlatformNotSupported):
            await ig.publish("text only")


async def test_threads_two_step_publish_delete_and_refresh() -> None:
    api = MockApi()
    api.on("POST", f"{THREADS}/77/threads", httpx.Response(200, json={"id": "container-1"}))
    api.on("POST", f"{THREADS}/77/threads_publish", httpx.Response(200, json={"id": "media-9"}))
    api.on("DELETE", f"{THREADS}/media-9", httpx.Response(200, json={"success": True}))
    api.on(
        "GET",
        f"{THREADS}/refresh_access_token",
        httpx.Response(
            200, json={"access_token": "th-token-new-999", "token_type": "bearer", "expires_in": 5183944}
        ),
    )
    api.on("GET", f"{THREADS}/me", httpx.Response(200, json={"id": "77", "username": "brand"}))
    creds = {"access_token": "th-token-old-123", "user_id": "77"}
    async with create_adapter("threads", "th", creds, transport=api.transport, sleep=no_sleep) as th:
        post = await th.publish("hello threads")
        await th.delete_post(post.post_id)
        changed = await th.rotate_credential()
        assert th.info.limits.delete is not None and th.info.limits.delete.count == 100
    assert form(api.last("POST", f"{THREADS}/77/threads")) == {"media_type": "TEXT", "text": "hello threads"}
    assert form(api.last("POST", f"{THREADS}/77/threads_publish")) == {"creation_id": "container-1"}
    assert post.post_id == "media-9"
    assert changed["access_token"] == "th-token-new-999"
    assert api.last("GET", f"{THREADS}/refresh_access_token").url.params["grant_type"] == "th_refresh_token"


# -- replies and moderation (documented comment and reply-management shapes) ----------------------
async def test_facebook_page_comments_reply_list_hide_delete() -> None:
    api = MockApi()
    api.on("POST", f"{GRAPH}/1234_10/comments", httpx.Response(200, json={"id": "1234_10_501"}))
    api.on(
        "GET",
        f"{GRAPH}/1234_10/comments",
        httpx.Response(
            200,
            json={
                "data": [
                    {
                        "id": "1234_10_500",
                        "message": "scam link here",
                        "from": {"id": "555", "name": "Some One"},
                        "created_time": "2026-03-01T10:05:00+0000",
                        "is_hidden": True,
                        "permalink_url": "https://www.facebook.com/1234/posts/10?comment_id=500",
                    },
                    {
                        "id": "1234_10_501",
                        "message": "Thanks!",
                        "from": {"id": "1234", "name": "Brand"},
                        "created_time": "2026-03-01T10:06:00+0000",
                        "is_hidden": False,
                        "parent": {"id": "1234_10_500"},
                    },
                ],
                "paging": {"cursors": {"before": "b", "after": "a"}},
            },
        ),
    )
    api.on("POST", f"{GRAPH}/1234_10_500", httpx.Response(200, json={"success": True}))
    api.on("DELETE", f"{GRAPH}/1234_10_500", httpx.Response(200, json={"success": True}))
    api.on(
        "DELETE",
        f"{GRAPH}/1234_10_999",
        httpx.Response(
            400, json={"error": {"message": "Object with ID '1234_10_999' does not exist", "code": 100}}
        ),
    )
    creds = {"access_token": "page-token-123456", "page_id": "1234"}
    async with create_adapter("facebook", "fb", creds, transport=api.transport, sleep=no_sleep) as fb:
        posted = await fb.reply("1234_10", "Thanks!")
        comments = await fb.list_comments("1234_10")
        await fb.hide_comment("1234_10_500")
        await fb.hide_comment("1234_10_500", hidden=False)
        await fb.delete_comment("1234_10_500")
        await fb.delete_comment("1234_10_999")  # already gone
    assert posted.post_id == "1234_10_501"
    assert form(api.last("POST", f"{GRAPH}/1234_10/comments")) == {"message": "Thanks!"}
    assert [(c.comment_id, c.author, c.hidden, c.own, c.parent_id) for c in comments] == [
        ("1234_10_500", "Some One", True, False, "1234_10"),
        ("1234_10_501", "Brand", False, True, "1234_10_500"),
    ]
    assert comments[0].created_at == "2026-03-01T10:05:00Z"
    hides = [form(r) for r in api.requests if r.method == "POST" and r.url.path.endswith("_500")]
    assert hides == [{"is_hidden": "true"}, {"is_hidden": "false"}]


async def test_instagram_comments_reply_to_media_or_comment_hide_delete() -> None:
    api = MockApi()
    api.on("GET", f"{GRAPH}/1790", httpx.Response(200, json={"id": "1790", "media_type": "IMAGE"}))
    api.on(
        "GET",
        f"{GRAPH}/1801",
        httpx.Response(
            400,
            json={
                "error": {
                    "message": "(#100) Tried accessing nonexisting field (media_type) on node type (IGComment)",
                    "type": "OAuthException",
                    "code": 100,
                }
            },
        ),
    )
    api.on("POST", f"{GRAPH}/1790/comments", httpx.Response(200, json={"id": "1810"}))
    api.on("POST", f"{GRAPH}/1801/replies", httpx.Response(200, json={"id": "1811"}))
    api.on(
        "GET",
        f"{GRAPH}/1790/comments",
        httpx.Response(
            200,
            json={
                "data": [
                    {
                        "id": "1801",
                        "text": "where to buy?",
                        "username": "fan",
                        "from": {"id": "333", "username": "fan"},
                        "timestamp": "2026-03-01T10:00:00+0000",
                        "hidden": False,
                        "replies": {
                            "data": [
                                {
                                    "id": "1811",
                                    "text": "In our shop",
                                    "username": "brand",
                                    "from": {"id": "17841400000000000", "username": "brand"},
                                    "timestamp": "2026-03-01T10:01:00+0000",
                                    "hidden": False,
                                }
                            ]
                        },
                    },
                    {
                        "id": "1802",
                        "text": "spam",
                        "username": "bot",
                        "timestamp": "2026-03-01T10:02:00+0000",
                        "hidden": True,
                    },
                ]
            },
        ),
    )
    api.on("POST", f"{GRAPH}/1802", httpx.Response(200, json={"success": True}))
    api.on("DELETE", f"{GRAPH}/1802", httpx.Response(200, json={"success": True}))
    creds = {"access_token": "ig-token-123456", "ig_user_id": "17841400000000000"}
    async with create_adapter("instagram", "ig", creds, transport=api.transport, sleep=no_sleep) as ig:
        on_media = await ig.reply("1790", "Thanks for the love")
        on_comment = await ig.reply("1801", "In our shop")
        comments = await ig.list_comments("1790")
        await ig.hide_comment("1802")
        await ig.delete_comment("1802")
    assert (on_media.post_id, on_comment.post_id) == ("1810", "1811")
    assert form(api.last("POST", f"{GRAPH}/1801/replies")) == {"message": "In our shop"}
    assert [(c.comment_id, c.author, c.parent_id, c.hidden, c.own) for c in comments] == [
        ("1801", "fan", "1790", False, False),
        ("1811", "brand", "1801", False, True),
        ("1802", "bot", "1790", True, False),
    ]
    assert api.last("POST", f"{GRAPH}/1802").url.params["hide"] == "true"


async def test_threads_replies_reply_list_hide_and_delete_only_own() -> None:
    api = MockApi()
    api.on("POST", f"{THREADS}/77/threads", httpx.Response(200, json={"id": "container-2"}))
    api.on("POST", f"{THREADS}/77/threads_publish", httpx.Response(200, json={"id": "reply-2"}))
    api.on(
        "GET",
        f"{THREADS}/media-9/replies",
        httpx.Response(
            200,
            json={
                "data": [
                    {
                        "id": "reply-1",
                        "text": "fake giveaway",
                        "username": "scammer",
                        "timestamp": "2026-03-01T10:00:00+0000",
                        "hide_status": "HIDDEN",
                        "is_reply_owned_by_me": False,
                    },
                    {
                        "id": "reply-2",
                        "text": "Thanks!",
                        "username": "brand",
                        "timestamp": "2026-03-01T10:01:00+0000",
                        "hide_status": "NOT_HUSHED",
                        "is_reply_owned_by_me": True,
                        "replied_to": {"id": "media-9"},
                    },
                ]
            },
        ),
    )
    api.on("POST", f"{THREADS}/reply-1/manage_reply", httpx.Response(200, json={"success": True}))
    api.on(
        "GET",
        f"{THREADS}/reply-1",
        httpx.Response(200, json={"id": "reply-1", "is_reply_owned_by_me": False}),
    )
    api.on(
        "GET", f"{THREADS}/reply-2", httpx.Response(200, json={"id": "reply-2", "is_reply_owned_by_me": True})
    )
    api.on("DELETE", f"{THREADS}/reply-2", httpx.Response(200, json={"success": True}))
    creds = {"access_token": "th-token-old-123", "user_id": "77"}
    async with create_adapter("threads", "th", creds, transport=api.transport, sleep=no_sleep) as th:
        posted = await th.reply("media-9", "Thanks!")
        comments = await th.list_comments("media-9")
        await th.hide_comment("reply-1")
        with pytest.raises(PlatformRejected, match="hide the reply instead"):
            await th.delete_comment("reply-1")
        await th.delete_comment("reply-2")
    assert posted.post_id == "reply-2"
    assert form(api.last("POST", f"{THREADS}/77/threads")) == {
        "media_type": "TEXT",
        "text": "Thanks!",
        "reply_to_id": "media-9",
    }
    assert [(c.comment_id, c.hidden, c.own) for c in comments] == [
        ("reply-1", True, False),
        ("reply-2", False, True),
    ]
    assert form(api.last("POST", f"{THREADS}/reply-1/manage_reply")) == {"hide": "true"}
    assert [r.url.path for r in api.requests if r.method == "DELETE"] == ["/v1.0/reply-2"]


async def test_facebook_account_state_with_assigned_people() -> None:
    pic = "https://scontent.example/v/page-pic.jpg"
    api = MockApi()
    api.on(
        "GET",
        f"{GRAPH}/1234",
        httpx.Response(
            200,
            json={
                "id": "1234",
                "name": "Brand",
                "username": "brandpage",
                "about": "Official Page",
                "website": "https://brand.example https://shop.example",
                "emails": ["social@brand.example"],
                "phone": "+1 555 0100",
                "picture": {"data": {"url": pic}},
            },
        ),
    )
    api.on(
        "GET",
        f"{GRAPH}/1234/assigned_users",
        httpx.Response(
            200,
            json={
                "data": [
                    {"id": "1", "name": "Pia", "tasks": ["CREATE_CONTENT", "MANAGE"]},
                    {"id": "2", "name": "Intruder", "tasks": ["MANAGE"]},
                ]
            },
        ),
    )
    api.on("GET", pic, httpx.Response(200, content=b"page-pic"))
    creds = {"access_token": "page-token-123456", "page_id": "1234", "business_id": "99"}
    async with create_adapter("facebook", "fb", creds, transport=api.transport, sleep=no_sleep) as fb:
        state = await fb.account_state()
    assert state == {
        "handle": "brandpage",
        "display_name": "Brand",
        "avatar": content_hash(b"page-pic"),
        "bio": "Official Page",
        "links": ["https://brand.example", "https://shop.example"],
        "email": "social@brand.example",
        "phone": "+1 555 0100",
        "delegate": ["CREATE_CONTENT/MANAGE · Pia", "MANAGE · Intruder"],
    }
    assert api.last("GET", f"{GRAPH}/1234/assigned_users").url.params["business"] == "99"
    # without a business id the people are not known: None, never an empty list
    api.requests.clear()
    del creds["business_id"]
    async with create_adapter("facebook", "fb", creds, transport=api.transport, sleep=no_sleep) as fb:
        assert (await fb.account_state())["delegate"] is None


async def test_instagram_account_state() -> None:
    pic = "https://scontent.example/ig.jpg"
    api = MockApi()
    api.on(
        "GET",
        f"{GRAPH}/17841400000000000",
        httpx.Response(
            200,
            json={
                "id": "17841400000000000",
                "username": "brand",
                "name": "Brand",
                "biography": "Hello",
                "website": "https://brand.example",
                "profile_picture_url": pic,
            },
        ),
    )
    api.on("GET", pic, httpx.Response(200, content=b"ig-pic"))
    creds = {"access_token": "ig-token-123456", "ig_user_id": "17841400000000000"}
    async with create_adapter("instagram", "ig", creds, transport=api.transport, sleep=no_sleep) as ig:
        state = await ig.account_state()
    assert state == {
        "handle": "brand",
        "display_name": "Brand",
        "avatar": content_hash(b"ig-pic"),
        "bio": "Hello",
        "links": ["https://brand.example"],
    }
