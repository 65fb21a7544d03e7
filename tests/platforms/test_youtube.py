"""YouTube Data API v3 adapter against the documented shapes (httpx.MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from sentinel.platforms import PlatformNotSupported, create_adapter
from tests.platforms.mockapi import MockApi, form, no_sleep

API = "https://www.googleapis.com/youtube/v3"
CREDS = {
    "access_token": "ya29.old-token",
    "refresh_token": "1//refresh-token",
    "client_id": "cid.apps.googleusercontent.com",
    "client_secret": "gsecret-123456",
}


async def test_uploads_playlist_listing_and_delete() -> None:
    api = MockApi()
    api.on(
        "GET",
        f"{API}/channels",
        httpx.Response(
            200,
            json={"items": [{"id": "UCabc", "contentDetails": {"relatedPlaylists": {"uploads": "UUabc"}}}]},
        ),
    )
    api.on(
        "GET",
        f"{API}/playlistItems",
        httpx.Response(
            200,
            json={
                "items": [
                    {
                        "snippet": {
                            "title": "LIVE: free crypto",
                            "description": "send 1 BTC",
                            "publishedAt": "2026-03-01T10:00:00Z",
                        },
                        "contentDetails": {"videoId": "vid1", "videoPublishedAt": "2026-03-01T10:00:00Z"},
                    }
                ]
            },
        ),
    )
    api.on("DELETE", f"{API}/videos", httpx.Response(204))
    async with create_adapter("youtube", "yt", dict(CREDS), transport=api.transport, sleep=no_sleep) as yt:
        page = await yt.list_posts("")
        await yt.delete_post("vid1")
        with pytest.raises(PlatformNotSupported, match="video upload"):
            await yt.publish("text")
    assert api.last("GET", f"{API}/playlistItems").url.params["playlistId"] == "UUabc"
    assert [(p.post_id, p.text) for p in page.posts] == [("vid1", "LIVE: free crypto\nsend 1 BTC")]
    assert api.last("DELETE", f"{API}/videos").url.params["id"] == "vid1"


async def test_refresh_and_revoke_at_google_oauth() -> None:
    api = MockApi()
    api.on(
        "POST",
        "https://oauth2.googleapis.com/token",
        httpx.Response(200, json={"access_token": "ya29.new-token", "expires_in": 3599}),
    )
    api.on("GET", f"{API}/channels", httpx.Response(200, json={"items": [{"id": "UCabc"}]}))
    api.on("POST", "https://oauth2.googleapis.com/revoke", httpx.Response(200))
    async with create_adapter("youtube", "yt", dict(CREDS), transport=api.transport, sleep=no_sleep) as yt:
        changed = await yt.rotate_credential()
        await yt.revoke_token()
    assert changed == {"access_token": "ya29.new-token", "expires_in": "3599"}
    assert (
        form(api.last("POST", "https://oauth2.googleapis.com/token"))["refresh_token"] == "1//refresh-token"
    )
    assert form(api.last("POST", "https://oauth2.googleapis.com/revoke")) == {"token": "ya29.new-token"}
