"""LinkedIn Posts API adapter against the documented shapes (httpx.MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from sentinel.platforms import PlatformAuthFailed, PlatformNotSupported, create_adapter
from sentinel.platforms.base import content_hash
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


# -- replies and moderation (documented: socialActions comments) -----------------------------------
async def test_comments_reply_list_and_delete_through_social_actions() -> None:
    share = "urn:li:share:2"
    comment = "urn:li:comment:(urn:li:activity:7000,6900)"
    enc_share, enc_comment = (
        "urn%3Ali%3Ashare%3A2",
        "urn%3Ali%3Acomment%3A%28urn%3Ali%3Aactivity%3A7000%2C6900%29",
    )
    api = MockApi()
    api.on(
        "POST",
        f"{API}/rest/socialActions/{enc_share}/comments",
        httpx.Response(201, json={"commentUrn": "urn:li:comment:(urn:li:activity:7000,6901)", "id": "6901"}),
    )
    api.on(
        "POST",
        f"{API}/rest/socialActions/{enc_comment}/comments",
        httpx.Response(201, headers={"x-restli-id": "urn:li:comment:(urn:li:activity:7000,6902)"}),
    )
    api.on(
        "GET",
        f"{API}/rest/socialActions/{enc_share}/comments",
        httpx.Response(
            200,
            json={
                "elements": [
                    {
                        "id": "6900",
                        "commentUrn": comment,
                        "actor": "urn:li:person:fan",
                        "object": "urn:li:activity:7000",
                        "message": {"text": "Hiring?"},
                        "created": {"time": 1772359200000},
                    },
                    {
                        "id": "6902",
                        "commentUrn": "urn:li:comment:(urn:li:activity:7000,6902)",
                        "actor": "urn:li:organization:5515715",
                        "object": "urn:li:activity:7000",
                        "parentComment": comment,
                        "message": {"text": "Yes, see our careers page"},
                        "created": {"time": 1772359260000},
                    },
                ]
            },
        ),
    )
    api.on(
        "DELETE", f"{API}/rest/socialActions/urn%3Ali%3Aactivity%3A7000/comments/6900", httpx.Response(204)
    )
    async with create_adapter("linkedin", "li", CREDS, transport=api.transport, sleep=no_sleep) as li:
        on_post = await li.reply(share, "Thank you!")
        on_comment = await li.reply(comment, "Yes, see our careers page")
        comments = await li.list_comments(share)
        await li.delete_comment(comment)
        with pytest.raises(PlatformNotSupported, match="cannot hide"):
            await li.hide_comment(comment)
    assert on_post.post_id.endswith("6901)") and on_comment.post_id.endswith("6902)")
    sent = body(api.last("POST", f"{API}/rest/socialActions/{enc_share}/comments"))
    assert sent == {"actor": CREDS["author"], "object": share, "message": {"text": "Thank you!"}}
    nested = body(api.last("POST", f"{API}/rest/socialActions/{enc_comment}/comments"))
    assert nested["object"] == "urn:li:activity:7000" and nested["parentComment"] == comment
    assert [(c.comment_id, c.author, c.own, c.parent_id) for c in comments] == [
        (comment, "urn:li:person:fan", False, "urn:li:activity:7000"),
        ("urn:li:comment:(urn:li:activity:7000,6902)", CREDS["author"], True, comment),
    ]
    assert comments[0].created_at == "2026-03-01T10:00:00Z"
    deleted = api.last("DELETE", f"{API}/rest/socialActions/urn%3Ali%3Aactivity%3A7000/comments/6900")
    assert deleted.url.params["actor"] == CREDS["author"]
    assert deleted.headers["linkedin-version"]


async def test_account_state_from_organization_and_its_acls() -> None:
    api = MockApi()
    api.on(
        "GET",
        f"{API}/rest/organizations/5515715",
        httpx.Response(
            200,
            json={
                "id": 5515715,
                "vanityName": "brand",
                "localizedName": "Brand Inc.",
                "localizedDescription": "We make things",
                "localizedWebsite": "https://brand.example",
                "logoV2": {"original": "urn:li:digitalmediaAsset:C4D0BAQ"},
            },
        ),
    )
    api.on(
        "GET",
        f"{API}/rest/organizationAcls",
        httpx.Response(
            200,
            json={
                "elements": [
                    {"roleAssignee": "urn:li:person:abc", "role": "ADMINISTRATOR", "state": "APPROVED"},
                    {
                        "roleAssignee": "urn:li:person:def",
                        "role": "CONTENT_ADMINISTRATOR",
                        "state": "APPROVED",
                    },
                    {"roleAssignee": "urn:li:person:ghi", "role": "ADMINISTRATOR", "state": "REQUESTED"},
                ]
            },
        ),
    )
    async with create_adapter("linkedin", "li", CREDS, transport=api.transport, sleep=no_sleep) as li:
        state = await li.account_state()
    assert state == {
        "handle": "brand",
        "display_name": "Brand Inc.",
        "avatar": content_hash(b"urn:li:digitalmediaAsset:C4D0BAQ"),
        "bio": "We make things",
        "links": ["https://brand.example"],
        "delegate": ["ADMINISTRATOR · urn:li:person:abc", "CONTENT_ADMINISTRATOR · urn:li:person:def"],
    }
    acls = api.last("GET", f"{API}/rest/organizationAcls").url.params
    assert (acls["q"], acls["organization"]) == ("organization", "urn:li:organization:5515715")
