"""YouTube channels through the YouTube Data API v3 (https://developers.google.com/youtube/v3).

Endpoints used:

- ``GET /youtube/v3/channels?part=id,contentDetails&mine=true`` (verify, find the uploads playlist)
- ``GET /youtube/v3/playlistItems?part=snippet,contentDetails&playlistId=UU...`` (list uploads, 1 quota unit)
- ``DELETE /youtube/v3/videos?id=...`` (delete, 50 quota units)
- ``POST https://oauth2.googleapis.com/token`` with ``grant_type=refresh_token`` (rotate the access token)
- ``POST https://oauth2.googleapis.com/revoke`` (revoke)
- ``POST /youtube/v3/commentThreads?part=snippet`` (comment on a video) and
  ``POST /youtube/v3/comments?part=snippet`` with ``parentId`` (answer a comment), 50 units each
- ``GET /youtube/v3/commentThreads?part=snippet,replies&videoId=...`` (list, 1 unit)
- ``POST /youtube/v3/comments/setModerationStatus`` (hide: ``heldForReview``; show again:
  ``published``; 50 units)
- ``GET /youtube/v3/comments?part=snippet&id=...`` and ``DELETE /youtube/v3/comments?id=...``
  (delete the channel's own comments; 50 units)

Credentials: ``access_token``, ``refresh_token``, ``client_id``, ``client_secret``, optional
``channel_id``. Publishing means uploading a video, which Sentinel does not broker.

Quota: 10,000 units a day per project by default, so at most 200 deletions a day
(https://developers.google.com/youtube/v3/determine_quota_cost).
"""

from __future__ import annotations

import re
from typing import Any

from sentinel.platforms.base import (
    COMMENTS,
    POSTING,
    Capability,
    Comment,
    Identity,
    PlatformInfo,
    Post,
    RateLimit,
    RateLimits,
    TimelinePage,
    not_own,
    page_since,
    state_snapshot,
)
from sentinel.platforms.errors import PlatformNotFound
from sentinel.platforms.oauth import OAuthAdapter
from sentinel.platforms.post_length import TextLimit
from sentinel.platforms.timefmt import normalise_time

GOOGLE_OAUTH = "https://oauth2.googleapis.com"
VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
"""Video ids are 11 characters; comment ids are longer."""
HIDDEN_STATUSES = frozenset({"heldForReview", "likelySpam", "rejected"})
_QUOTA = "https://developers.google.com/youtube/v3/determine_quota_cost"

INFO = PlatformInfo(
    platform="youtube",
    text_limit=TextLimit(
        10_000,
        "characters",
        "https://developers.google.com/youtube/v3/docs/commentThreads",
        note="what passes the gate here are replies (comments) and community or description text: a "
        "video description takes 5,000 bytes, a comment 10,000 characters (not found in the API "
        "reference; the larger is allowed)",
    ),
    renews="oauth_token",
    state_fields=frozenset({"handle", "display_name", "avatar", "bio"}),
    capabilities=(
        POSTING | COMMENTS | {Capability.ROTATE_CREDENTIAL, Capability.REVOKE_TOKEN, Capability.ACCOUNT_STATE}
    )
    - {Capability.PUBLISH},
    limits=RateLimits(
        delete=RateLimit(200, 86400, _QUOTA),
        read=RateLimit(10000, 86400, _QUOTA),
        poll_interval=300.0,
    ),
    manual={
        Capability.PUBLISH: "publishing is a video upload: use YouTube Studio",
        Capability.CHANGE_PASSWORD: "change the owning Google account's password at "
        "https://myaccount.google.com/signinoptions/password",
        Capability.REVOKE_SESSIONS: "https://myaccount.google.com/device-activity: sign out every unknown "
        "device; https://myaccount.google.com/permissions: remove unknown apps; YouTube Studio > Settings > "
        "Permissions: remove unknown people",
        Capability.LOCK_ACCOUNT: "YouTube has no self-lock: end any live stream in YouTube Studio, set "
        "recent uploads to private, and start recovery at https://support.google.com/youtube/answer/76187",
        Capability.APP_PASSWORDS: "Google app passwords do not apply to the YouTube Data API",
    },
    notes={
        Capability.ROTATE_CREDENTIAL: "issues a new access token; Google keeps the refresh token",
        Capability.HIDE_COMMENT: "sets the comment 'held for review' (YouTube Studio > Comments > Held "
        "for review shows it; publishing it again unhides it)",
        Capability.DELETE_COMMENT: "only the channel's own comments; hide other people's (held for review) "
        "or remove them in YouTube Studio",
        Capability.LIST_COMMENTS: "top-level comments with the replies the API includes (up to 5 per thread)",
    },
    endpoints=(
        "GET /youtube/v3/channels",
        "GET /youtube/v3/playlistItems",
        "DELETE /youtube/v3/videos",
        "POST oauth2.googleapis.com/token",
        "POST oauth2.googleapis.com/revoke",
        "GET|POST /youtube/v3/commentThreads",
        "GET|POST|DELETE /youtube/v3/comments",
        "POST /youtube/v3/comments/setModerationStatus",
    ),
)


class YouTubeAdapter(OAuthAdapter):
    info = INFO
    base_url = "https://www.googleapis.com"

    async def verify(self, credentials: Any = None) -> Identity:
        token = (credentials or self.credentials).get("access_token") or self.token
        data = await self.http.json(
            "GET", "/youtube/v3/channels", params={"part": "id,contentDetails", "mine": "true"}, token=token
        )
        items = data.get("items") or []
        if not items:
            raise PlatformNotFound(f"account {self.account!r} on youtube: the token owns no channel")
        channel = items[0]
        if credentials is None:
            self.credentials.setdefault("channel_id", str(channel["id"]))
            uploads = ((channel.get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads")
            if uploads:
                self.credentials.setdefault("uploads_playlist", str(uploads))
        return Identity(user_id=str(channel["id"]))

    async def _uploads(self) -> str:
        if not self.credentials.get("uploads_playlist"):
            channel = self.credentials.get("channel_id", "")
            if channel.startswith("UC"):
                self.credentials["uploads_playlist"] = "UU" + channel[2:]
            else:
                await self.verify()
        return self.need("uploads_playlist")

    async def list_posts(self, cursor: str | None = None, limit: int = 50) -> TimelinePage:
        params = {
            "part": "snippet,contentDetails",
            "playlistId": await self._uploads(),
            "maxResults": min(limit, 50),
        }
        data = await self.api("GET", "/youtube/v3/playlistItems", params=params)
        posts = []
        for item in data.get("items", []):
            snippet = item.get("snippet") or {}
            details = item.get("contentDetails") or {}
            vid = str(details.get("videoId") or (snippet.get("resourceId") or {}).get("videoId", ""))
            title, description = str(snippet.get("title", "")), str(snippet.get("description", ""))
            posts.append(
                Post(
                    post_id=vid,
                    text=f"{title}\n{description}".strip(),
                    created_at=normalise_time(
                        str(details.get("videoPublishedAt") or snippet.get("publishedAt", ""))
                    ),
                    url=f"https://www.youtube.com/watch?v={vid}",
                )
            )
        return page_since(posts, cursor, limit)

    async def delete_post(self, post_id: str) -> None:
        try:
            await self.http.request("DELETE", "/youtube/v3/videos", params={"id": post_id}, token=self.token)
        except PlatformNotFound:
            return

    async def reply(self, post_id: str, text: str) -> Post:
        if VIDEO_ID.fullmatch(post_id):
            path = "/youtube/v3/commentThreads"
            body: dict[str, Any] = {
                "snippet": {"videoId": post_id, "topLevelComment": {"snippet": {"textOriginal": text}}}
            }
        else:
            path, body = "/youtube/v3/comments", {"snippet": {"parentId": post_id, "textOriginal": text}}
        data = await self.api("POST", path, params={"part": "snippet"}, json=body)
        return Post(post_id=str(data["id"]), text=text, created_at="")

    async def list_comments(self, post_id: str, limit: int = 50) -> list[Comment]:
        params = {
            "part": "snippet,replies",
            "videoId": post_id,
            "maxResults": min(limit, 100),
            "textFormat": "plainText",
        }
        data = await self.api("GET", "/youtube/v3/commentThreads", params=params)
        channel = self.credentials.get("channel_id", "")
        out = []
        for thread in data.get("items", []):
            top = (thread.get("snippet") or {}).get("topLevelComment") or {}
            out.append(self._comment(top, post_id, channel))
            for r in (thread.get("replies") or {}).get("comments", []):
                out.append(self._comment(r, str(top.get("id", "")), channel))
        return out[:limit]

    def _comment(self, item: dict[str, Any], parent: str, channel: str) -> Comment:
        sn = item.get("snippet") or {}
        author = str((sn.get("authorChannelId") or {}).get("value", ""))
        return Comment(
            comment_id=str(item.get("id", "")),
            text=str(sn.get("textOriginal") or sn.get("textDisplay") or ""),
            author=str(sn.get("authorDisplayName") or author),
            created_at=normalise_time(str(sn.get("publishedAt", ""))),
            parent_id=str(sn.get("parentId") or parent),
            hidden=sn.get("moderationStatus") in HIDDEN_STATUSES,
            own=bool(channel) and author == channel,
        )

    async def hide_comment(self, comment_id: str, hidden: bool = True) -> None:
        params = {"id": comment_id, "moderationStatus": "heldForReview" if hidden else "published"}
        await self.http.request(
            "POST",
            "/youtube/v3/comments/setModerationStatus",
            params=params,
            token=self.token,
            idempotent=True,
        )

    async def delete_comment(self, comment_id: str) -> None:
        data = await self.api("GET", "/youtube/v3/comments", params={"part": "snippet", "id": comment_id})
        items = data.get("items") or []
        if not items:
            return  # already gone
        author = str(((items[0].get("snippet") or {}).get("authorChannelId") or {}).get("value", ""))
        if not self.credentials.get("channel_id"):
            await self.verify()
        if author != self.credentials.get("channel_id"):
            raise not_own(self, comment_id, "hide it (held for review) or remove it in YouTube Studio")
        try:
            await self.http.request(
                "DELETE", "/youtube/v3/comments", params={"id": comment_id}, token=self.token
            )
        except PlatformNotFound:
            return

    async def rotate_credential(self) -> dict[str, str]:
        changed = await self.refresh_grant(
            f"{GOOGLE_OAUTH}/token",
            {
                "client_id": self.need("client_id"),
                "client_secret": self.need("client_secret"),
                "grant_type": "refresh_token",
                "refresh_token": self.need("refresh_token"),
            },
        )
        await self.verify({"access_token": changed["access_token"]})
        return changed

    async def revoke_token(self) -> None:
        await self.revoke_at(f"{GOOGLE_OAUTH}/revoke", {"token": self.token})

    async def account_state(self) -> dict[str, Any]:
        """``channels.list`` (``snippet``) of the token's own channel; its
        managers, e-mail and two-factor live in the Google account, outside the API."""
        params = {"part": "snippet", "mine": "true"}
        items = (await self.api("GET", "/youtube/v3/channels", params=params)).get("items") or [{}]
        snippet = items[0].get("snippet") or {}
        thumbs = snippet.get("thumbnails") or {}
        avatar = (thumbs.get("high") or thumbs.get("default") or {}).get("url")
        return state_snapshot(
            INFO,
            handle=str(snippet.get("customUrl", "")),
            display_name=str(snippet.get("title", "")),
            avatar=await self.image_hash(avatar),
            bio=str(snippet.get("description", "")),
        )
