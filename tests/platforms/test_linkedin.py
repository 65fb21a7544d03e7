"""LinkedIn Posts API adapter against the documented shapes (httpx.MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from sentinel.platforms import PlatformAuthFailed, PlatformNotSupported, create_adapter
from tests.platforms.mockapi import MockApi, body, form, no_sleep

API = "https://api.linkedin.com"
OAUTH = "https://www.linkedin.com/oauth/v2"
CREDS = {
    "access_token": "li-token-123456",
    "refresh_token": "li-refresh-123456",
    "client_id": "li-client",
    "client_secret": "li-secret-123456",
    "author": "urn:li:organization:5515715",
}


async def test_list_publish_delete_with_versioned_headers() -> None:
    api = MockApi()
    api.on(
        "GET",
        f"{API}/rest/posts",
        httpx.Response(
            200,
            json={
                "elements": [
                    {
                        "id": "urn:li:share:2",
                        "commentary": "second",
                        "createdAt": 1772359500000,
                        "publishedAt": 1772359500000,
                    },
                    {
                        "id": "urn:li:share:1",
                        "commentary": "first",
                        "createdAt": 1772359200000,
                        "publishedAt": 1772359200000,
                    },
                ],
                "paging": {"start": 0, "count": 10},
            },
        ),
    )
    api.on("POST", f"{API}/rest/posts", httpx.Response(201, headers={"x-restli-id": "urn:li:share:3"}))
    api.on("DELETE", f"{API}/rest/posts/urn%3Ali%3Ashare%3A3", httpx.Response(204))
    async with create_adapter("linkedin", "li", CREDS, transport=api.transport, sleep=no_sleep) as li:
        page = await li.list_posts(None)
        post = await li.publish("hello")
        await li.delete_post(post.post_id)
    sent = api.last("GET", f"{API}/rest/posts")
    assert sent.url.params["q"] == "author" and sent.url.params["author"] == "urn:li:organization:5515715"
    assert sent.headers["linkedin-version"] and sent.headers["x-restli-protocol-version"] == "2.0.0"
    assert [p.text for p in page.posts] == ["first", "second"]
    assert post.post_id == "urn:li:share:3"
    published = body(api.last("POST", f"{API}/rest/posts"))
    assert published["author"] == CREDS["author"] and published["commentary"] == "hello"
    assert published["lifecycleState"] == "PUBLISHED"


async def test_verify_rotate_revoke() -> None:
    api = MockApi()
    api.on(
        "POST",
        f"{OAUTH}/introspectToken",
        httpx.Response(200, json={"active": False, "status": "revoked"}),
        httpx.Response(200, json={"active": True, "status": "active"}),
    )
    api.on(
        "POST",
        f"{OAUTH}/accessToken",
        httpx.Response(200, json={"access_token": "li-token-new-777", "expires_in": 5184000}),
    )
    api.on("POST", f"{OAUTH}/revoke", httpx.Response(200))
    async with create_adapter("linkedin", "li", dict(CREDS), transport=api.transport, sleep=no_sleep) as li:
        with pytest.raises(PlatformAuthFailed, match="not active"):
            await li.verify()
        changed = await li.rotate_credential()
        await li.revoke_token()
        with pytest.raises(PlatformNotSupported):
            await li.lock()
    assert changed["access_token"] == "li-token-new-777"
    assert form(api.last("POST", f"{OAUTH}/accessToken"))["grant_type"] == "refresh_token"
    assert form(api.last("POST", f"{OAUTH}/revoke"))["token"] == "li-token-new-777"
