"""Mastodon adapter against the documented REST shapes (httpx.MockTransport; no instance runs here)."""

from __future__ import annotations

import httpx
import pytest

from sentinel.platforms import (
    Capability,
    PlatformNotSupported,
    PlatformRateLimited,
    PlatformRejected,
    create_adapter,
)
from sentinel.platforms.base import content_hash
from tests.platforms.mockapi import MockApi, body, form, no_sleep

BASE = "https://social.example"
CREDS = {
    "service": BASE,
    "access_token": "masto-token-abcdef",
    "client_id": "cid-1",
    "client_secret": "csecret-123456",
}


def status(sid: str, html: str, app: str = "Web", ts: str = "2026-03-01T10:00:00.000Z") -> dict[str, object]:
    return {
        "id": sid,
        "created_at": ts,
        "content": html,
        "url": f"{BASE}/@brand/{sid}",
        "application": {"name": app, "website": None},
    }


async def test_list_since_cursor_oldest_first_with_plain_text_and_client() -> None:
    api = MockApi()
    api.on(
        "GET",
        f"{BASE}/api/v1/accounts/verify_credentials",
        httpx.Response(200, json={"id": "42", "acct": "brand"}),
    )
    api.on(
        "GET",
        f"{BASE}/api/v1/accounts/42/statuses",
        httpx.Response(
            200,
            json=[
                status(
                    "110000000000000003",
                    '<p>Sale &amp; more<br>today <a href="https://x.example/a">https://x.example/a</a></p>',
                    "Buffer",
                ),
                status("110000000000000002", "<p>Hello</p><p>world</p>"),
            ],
        ),
    )
    async with create_adapter("mastodon", "m1", CREDS, transport=api.transport, sleep=no_sleep) as m:
        page = await m.list_posts("110000000000000001")
    sent = api.last("GET", f"{BASE}/api/v1/accounts/42/statuses")
    assert sent.url.params["min_id"] == "110000000000000001"
    assert sent.headers["authorization"] == "Bearer masto-token-abcdef"
    assert [p.post_id for p in page.posts] == ["110000000000000002", "110000000000000003"]
    assert page.posts[0].text == "Hello\n\nworld"
    assert page.posts[1].text == "Sale & more\ntoday https://x.example/a"
    assert page.posts[1].client == "Buffer"
    assert page.posts[1].created_at == "2026-03-01T10:00:00Z"
    assert page.cursor == "110000000000000003"


async def test_publish_uses_idempotency_key_and_delete_tolerates_gone() -> None:
    api = MockApi()
    api.on("POST", f"{BASE}/api/v1/statuses", httpx.Response(200, json=status("7", "<p>hi</p>")))
    api.on("DELETE", f"{BASE}/api/v1/statuses/7", httpx.Response(404, json={"error": "Record not found"}))
    async with create_adapter("mastodon", "m1", CREDS, transport=api.transport, sleep=no_sleep) as m:
        post = await m.publish("hi")
        await m.delete_post("7")
    sent = api.last("POST", f"{BASE}/api/v1/statuses")
    assert body(sent) == {"status": "hi"} and sent.headers["idempotency-key"]
    assert post.post_id == "7"


async def test_delete_rate_limit_surfaces_retry_after() -> None:
    api = MockApi()
    api.on(
        "DELETE",
        f"{BASE}/api/v1/statuses/9",
        httpx.Response(
            429,
            headers={"x-ratelimit-reset": "2999-01-01T00:00:00.000Z"},
            json={"error": "Too many requests"},
        ),
    )
    async with create_adapter("mastodon", "m1", CREDS, transport=api.transport, sleep=no_sleep) as m:
        with pytest.raises(PlatformRateLimited) as err:
            await m.delete_post("9")
    assert err.value.retry_after is not None and err.value.retry_after > 3600
    assert m.info.limits.delete is not None and (
        m.info.limits.delete.count,
        m.info.limits.delete.per_seconds,
    ) == (30, 1800)


async def test_revoke_token_and_declared_gaps() -> None:
    api = MockApi()
    api.on("POST", f"{BASE}/oauth/revoke", httpx.Response(200, json={}))
    async with create_adapter("mastodon", "m1", CREDS, transport=api.transport, sleep=no_sleep) as m:
        await m.revoke_token()
        with pytest.raises(PlatformNotSupported) as err:
            await m.revoke_sessions()
        with pytest.raises(PlatformNotSupported):
            await m.lock()
    assert form(api.last("POST", f"{BASE}/oauth/revoke")) == {
        "client_id": "cid-1",
        "client_secret": "csecret-123456",
        "token": "masto-token-abcdef",
    }
    assert "Sessions" in err.value.instructions
    assert not m.info.supports(Capability.CHANGE_PASSWORD)


# -- replies and moderation (documented: statuses, statuses/:id/context) ---------------------------
def reply_status(sid: str, author_id: str, acct: str, parent: str, html: str) -> dict[str, object]:
    return {
        **status(sid, html),
        "in_reply_to_id": parent,
        "account": {"id": author_id, "acct": acct},
        "url": f"{BASE}/@{acct}/{sid}",
    }


async def test_reply_lists_context_and_deletes_only_own_replies() -> None:
    api = MockApi()
    api.on(
        "GET",
        f"{BASE}/api/v1/accounts/verify_credentials",
        httpx.Response(200, json={"id": "42", "acct": "brand"}),
    )
    api.on(
        "POST",
        f"{BASE}/api/v1/statuses",
        httpx.Response(200, json=reply_status("120", "42", "brand", "110", "<p>Thanks!</p>")),
    )
    api.on(
        "GET",
        f"{BASE}/api/v1/statuses/100/context",
        httpx.Response(
            200,
            json={
                "ancestors": [],
                "descendants": [
                    reply_status("110", "7", "fan@other.example", "100", "<p>Nice <b>post</b></p>"),
                    reply_status("120", "42", "brand", "110", "<p>Thanks!</p>"),
                ],
            },
        ),
    )
    api.on(
        "GET",
        f"{BASE}/api/v1/statuses/110",
        httpx.Response(200, json=reply_status("110", "7", "fan", "100", "x")),
    )
    api.on(
        "GET",
        f"{BASE}/api/v1/statuses/120",
        httpx.Response(200, json=reply_status("120", "42", "brand", "110", "x")),
    )
    api.on("GET", f"{BASE}/api/v1/statuses/130", httpx.Response(404, json={"error": "Record not found"}))
    api.on("DELETE", f"{BASE}/api/v1/statuses/120", httpx.Response(200, json={}))
    async with create_adapter("mastodon", "m", CREDS, transport=api.transport, sleep=no_sleep) as m:
        posted = await m.reply("110", "Thanks!")
        comments = await m.list_comments("100")
        with pytest.raises(PlatformRejected, match="someone else"):
            await m.delete_comment("110")
        await m.delete_comment("120")
        await m.delete_comment("130")  # already gone
        with pytest.raises(PlatformNotSupported, match="Report"):
            await m.hide_comment("110")
    sent = body(api.last("POST", f"{BASE}/api/v1/statuses"))
    assert sent == {"status": "Thanks!", "in_reply_to_id": "110"}
    assert api.last("POST", f"{BASE}/api/v1/statuses").headers["idempotency-key"]
    assert posted.post_id == "120"
    assert [(c.comment_id, c.author, c.text, c.parent_id, c.own) for c in comments] == [
        ("110", "fan@other.example", "Nice post", "100", False),
        ("120", "brand", "Thanks!", "110", True),
    ]
    assert [r.url.path for r in api.requests if r.method == "DELETE"] == ["/api/v1/statuses/120"]


async def test_account_state_from_verify_credentials() -> None:
    api = MockApi()
    api.on(
        "GET",
        f"{BASE}/api/v1/accounts/verify_credentials",
        httpx.Response(
            200,
            json={
                "id": "42",
                "username": "brand",
                "acct": "brand",
                "display_name": "Brand",
                "note": "<p>Official</p>",
                "avatar": "https://files.social.example/accounts/avatars/1/original/a.png",
                "fields": [{"name": "Web", "value": '<a href="https://brand.example">brand.example</a>'}],
                "source": {"note": "Official", "fields": [{"name": "Web", "value": "https://brand.example"}]},
            },
        ),
    )
    api.on(
        "GET",
        "https://files.social.example/accounts/avatars/1/original/a.png",
        httpx.Response(200, content=b"avatar-bytes"),
    )
    async with create_adapter("mastodon", "m1", CREDS, transport=api.transport, sleep=no_sleep) as m:
        state = await m.account_state()
    assert state == {
        "handle": "brand",
        "display_name": "Brand",
        "avatar": content_hash(b"avatar-bytes"),
        "bio": "Official",
        "links": ["https://brand.example"],
    }
    avatar = api.last("GET", "https://files.social.example/accounts/avatars/1/original/a.png")
    assert "authorization" not in avatar.headers  # the token goes only to the instance's API
