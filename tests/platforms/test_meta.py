"""Facebook Page, Instagram and Threads adapters against the documented Graph shapes (MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from sentinel.platforms import PlatformAuthFailed, PlatformNotSupported, PlatformRateLimited, create_adapter
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
