"""TikTok adapter against the documented Display / Login Kit shapes (httpx.MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from sentinel.platforms import PlatformNotSupported, create_adapter
from tests.platforms.mockapi import MockApi, body, form, no_sleep

API = "https://open.tiktokapis.com"
CREDS = {
    "access_token": "act.token123",
    "refresh_token": "rft.token123",
    "client_key": "ck",
    "client_secret": "cs-123456",
}


async def test_video_list_and_token_refresh() -> None:
    api = MockApi()
    api.on(
        "POST",
        f"{API}/v2/video/list/",
        httpx.Response(
            200,
            json={
                "data": {
                    "videos": [
                        {
                            "id": "7001",
                            "title": "t",
                            "video_description": "new video",
                            "create_time": 1772359200,
                        }
                    ],
                    "cursor": 1772359200000,
                    "has_more": False,
                },
                "error": {"code": "ok", "message": ""},
            },
        ),
    )
    api.on(
        "POST",
        f"{API}/v2/oauth/token/",
        httpx.Response(
            200, json={"access_token": "act.new", "refresh_token": "rft.new", "expires_in": 86400}
        ),
    )
    api.on(
        "GET",
        f"{API}/v2/user/info/",
        httpx.Response(200, json={"data": {"user": {"open_id": "o1", "display_name": "Brand"}}}),
    )
    async with create_adapter("tiktok", "tt", dict(CREDS), transport=api.transport, sleep=no_sleep) as tt:
        page = await tt.list_posts(None)
        changed = await tt.rotate_credential()
        with pytest.raises(PlatformNotSupported, match="cannot delete"):
            await tt.delete_post("7001")
    assert [(p.post_id, p.text, p.created_at) for p in page.posts] == [
        ("7001", "new video", "2026-03-01T10:00:00Z")
    ]
    assert body(api.last("POST", f"{API}/v2/video/list/")) == {"max_count": 20}
    assert changed["refresh_token"] == "rft.new"
    assert form(api.last("POST", f"{API}/v2/oauth/token/"))["client_key"] == "ck"
