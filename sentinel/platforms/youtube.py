"""YouTube channels through the YouTube Data API v3 (https://developers.google.com/youtube/v3).

Endpoints used:

- ``GET /youtube/v3/channels?part=id,contentDetails&mine=true`` (verify, find the uploads playlist)
- ``GET /youtube/v3/playlistItems?part=snippet,contentDetails&playlistId=UU...`` (list uploads, 1 quota unit)
- ``DELETE /youtube/v3/videos?id=...`` (delete, 50 quota units)
- ``POST https://oauth2.googleapis.com/token`` with ``grant_type=refresh_token`` (rotate the access token)
- ``POST https://oauth2.googleapis.com/revoke`` (revoke)

Credentials: ``access_token``, ``refresh_token``, ``client_id``, ``client_secret``, optional
``channel_id``. Publishing means uploading a video, which Sentinel does not broker.

Quota: 10,000 units a day per project by default, so at most 200 deletions a day
(https://developers.google.com/youtube/v3/determine_quota_cost).
"""

from __future__ import annotations

from typing import Any

from sentinel.platforms.base import (
    Capability,
    Identity,
    PlatformInfo,
    Post,
    RateLimit,
    RateLimits,
    TimelinePage,
    page_since,
)
from sentinel.platforms.errors import PlatformNotFound
from sentinel.platforms.oauth import OAuthAdapter
from sentinel.platforms.timefmt import normalise_time

GOOGLE_OAUTH = "https://oauth2.googleapis.com"
_QUOTA = "https://developers.google.com/youtube/v3/determine_quota_cost"

INFO = PlatformInfo(
    platform="youtube",
    capabilities=frozenset(
        {
            Capability.LIST_TIMELINE,
            Capability.DELETE_POST,
            Capability.VERIFY_CREDENTIAL,
            Capability.ROTATE_CREDENTIAL,
            Capability.REVOKE_TOKEN,
        }
    ),
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
    notes={Capability.ROTATE_CREDENTIAL: "issues a new access token; Google keeps the refresh token"},
    endpoints=(
        "GET /youtube/v3/channels",
        "GET /youtube/v3/playlistItems",
        "DELETE /youtube/v3/videos",
        "POST oauth2.googleapis.com/token",
        "POST oauth2.googleapis.com/revoke",
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
