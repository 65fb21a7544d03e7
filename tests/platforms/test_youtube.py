"""YouTube Data API v3 adapter against the documented shapes (httpx.MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from sentinel.platforms import PlatformNotSupported, PlatformRejected, create_adapter
from sentinel.platforms.base import content_hash
from tests.platforms.mockapi import MockApi, body, form, no_sleep

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


# -- replies and moderation (documented: commentThreads, comments, setModerationStatus) ------------
def yt_comment(cid: str, author: str, text: str, parent: str = "", status: str = "") -> dict[str, object]:
    snippet: dict[str, object] = {
        "authorDisplayName": author,
        "authorChannelId": {"value": "UCabc" if author == "Brand" else "UCfan"},
        "textDisplay": text,
        "textOriginal": text,
        "publishedAt": "2026-03-01T10:00:00Z",
    }
    if parent:
        snippet["parentId"] = parent
    if status:
        snippet["moderationStatus"] = status
    return {"kind": "youtube#comment", "id": cid, "snippet": snippet}


async def test_comment_threads_reply_list_hide_and_delete_only_own() -> None:
    api = MockApi()
    api.on(
        "POST",
        f"{API}/commentThreads",
        httpx.Response(200, json={"kind": "youtube#commentThread", "id": "UgzTop1"}),
    )
    api.on(
        "POST",
        f"{API}/comments",
        httpx.Response(200, json=yt_comment("UgzTop1.reply9", "Brand", "Thanks!", "UgzTop1")),
    )
    api.on(
        "GET",
        f"{API}/commentThreads",
        httpx.Response(
            200,
            json={
                "items": [
                    {
                        "id": "UgzTop1",
                        "snippet": {
                            "videoId": "dQw4w9WgXcQ",
                            "topLevelComment": yt_comment("UgzTop1", "Fan", "great video"),
                            "totalReplyCount": 1,
                        },
                        "replies": {
                            "comments": [yt_comment("UgzTop1.reply9", "Brand", "Thanks!", "UgzTop1")]
                        },
                    },
                    {
                        "id": "UgzSpam",
                        "snippet": {
                            "videoId": "dQw4w9WgXcQ",
                            "topLevelComment": yt_comment(
                                "UgzSpam", "Fan", "crypto giveaway", status="heldForReview"
                            ),
                        },
                    },
                ]
            },
        ),
    )
    api.on("POST", f"{API}/comments/setModerationStatus", httpx.Response(204))

    def lookup(request: httpx.Request) -> httpx.Response:
        cid = request.url.params["id"]
        known = {
            "UgzSpam": yt_comment("UgzSpam", "Fan", "x"),
            "UgzTop1.reply9": yt_comment(cid, "Brand", "x"),
        }
        return httpx.Response(200, json={"items": [known[cid]] if cid in known else []})

    api.on("GET", f"{API}/comments", lookup)
    api.on("DELETE", f"{API}/comments", httpx.Response(204))
    creds = {**CREDS, "channel_id": "UCabc"}
    async with create_adapter("youtube", "yt", creds, transport=api.transport, sleep=no_sleep) as yt:
        top = await yt.reply("dQw4w9WgXcQ", "Welcome, everyone")
        answer = await yt.reply("UgzTop1", "Thanks!")
        comments = await yt.list_comments("dQw4w9WgXcQ")
        await yt.hide_comment("UgzSpam")
        await yt.hide_comment("UgzSpam", hidden=False)
        with pytest.raises(PlatformRejected, match="held for review"):
            await yt.delete_comment("UgzSpam")
        await yt.delete_comment("UgzTop1.reply9")
        await yt.delete_comment("UgzGone")  # already gone
    assert (top.post_id, answer.post_id) == ("UgzTop1", "UgzTop1.reply9")
    assert body(api.last("POST", f"{API}/commentThreads")) == {
        "snippet": {
            "videoId": "dQw4w9WgXcQ",
            "topLevelComment": {"snippet": {"textOriginal": "Welcome, everyone"}},
        }
    }
    assert body(api.last("POST", f"{API}/comments")) == {
        "snippet": {"parentId": "UgzTop1", "textOriginal": "Thanks!"}
    }
    assert [(c.comment_id, c.author, c.parent_id, c.hidden, c.own) for c in comments] == [
        ("UgzTop1", "Fan", "dQw4w9WgXcQ", False, False),
        ("UgzTop1.reply9", "Brand", "UgzTop1", False, True),
        ("UgzSpam", "Fan", "dQw4w9WgXcQ", True, False),
    ]
    statuses = [
        r.url.params["moderationStatus"] for r in api.requests if r.url.path.endswith("setModerationStatus")
    ]
    assert statuses == ["heldForReview", "published"]
    deletes = [r.url.params["id"] for r in api.requests if r.method == "DELETE"]
    assert deletes == ["UgzTop1.reply9"]


async def test_account_state_from_the_channel_snippet() -> None:
    thumb = "https://yt3.ggpht.com/abc=s800"
    api = MockApi()
    api.on(
        "GET",
        f"{API}/channels",
        httpx.Response(
            200,
            json={
                "items": [
                    {
                        "id": "UC123",
                        "snippet": {
                            "title": "Brand",
                            "description": "Videos",
                            "customUrl": "@brand",
                            "thumbnails": {"default": {"url": thumb + "8"}, "high": {"url": thumb}},
                        },
                    }
                ]
            },
        ),
    )
    api.on("GET", thumb, httpx.Response(200, content=b"yt-pic"))
    async with create_adapter("youtube", "yt", CREDS, transport=api.transport, sleep=no_sleep) as yt:
        state = await yt.account_state()
    assert state == {
        "handle": "@brand",
        "display_name": "Brand",
        "avatar": content_hash(b"yt-pic"),
        "bio": "Videos",
    }
    assert api.last("GET", f"{API}/channels").url.params["mine"] == "true"
