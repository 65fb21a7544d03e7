"""TikTok through its Display and Login Kit APIs (https://developers.tiktok.com/doc/).

Endpoints used:

- ``GET /v2/user/info/?fields=open_id,display_name`` (verify)
- ``POST /v2/video/list/?fields=id,title,video_description,create_time,share_url`` (list)
- ``POST /v2/oauth/token/`` with ``grant_type=refresh_token`` (rotate)
- ``POST /v2/oauth/revoke/`` (revoke)

Credentials: ``access_token``, ``refresh_token``, ``client_key``, ``client_secret``. The API
cannot delete videos, and publishing is a video upload (Content Posting API), which Sentinel
does not broker.
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
from sentinel.platforms.oauth import OAuthAdapter
from sentinel.platforms.post_length import TextLimit
from sentinel.platforms.timefmt import utc_z

INFO = PlatformInfo(
    platform="tiktok",
    text_limit=TextLimit(
        4_000,
        "characters",
        "https://developers.tiktok.com/doc/content-posting-api-reference-direct-post",
        note="a video's caption takes 2,200 UTF-16 units, a photo post's description 4,000",
    ),
    renews="oauth_token",
    capabilities=frozenset(
        {
            Capability.LIST_TIMELINE,
            Capability.VERIFY_CREDENTIAL,
            Capability.ROTATE_CREDENTIAL,
            Capability.REVOKE_TOKEN,
        }
    ),
    limits=RateLimits(
        read=RateLimit(600, 60, "https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit"),
        poll_interval=300.0,
    ),
    manual={
        Capability.ACCOUNT_STATE: "the Display API shows no security settings: check the TikTok app, "
        "Settings and privacy > Security > Manage devices and Security alerts",
        Capability.PUBLISH: "publishing is a video upload: use the TikTok app or TikTok Studio",
        Capability.DELETE_POST: "the API cannot delete videos: in the TikTok app open the video, ... > Delete",
        Capability.CHANGE_PASSWORD: "TikTok app: Profile > Settings and privacy > Account > Password",
        Capability.REVOKE_SESSIONS: "TikTok app: Settings and privacy > Security > Manage devices: remove "
        "every unknown device",
        Capability.LOCK_ACCOUNT: "TikTok has no self-lock: change the password, remove devices, report at "
        "https://www.tiktok.com/legal/report/feedback",
        Capability.APP_PASSWORDS: "TikTok has no app passwords",
        Capability.REPLY: "the Display API cannot comment: reply in the TikTok app or TikTok Studio",
        Capability.LIST_COMMENTS: "the Display API cannot read comments: TikTok Studio > Comments",
        Capability.HIDE_COMMENT: "TikTok Studio > Comments: filter or hide the comment, or turn "
        "comments off on the video (... > Privacy settings)",
        Capability.DELETE_COMMENT: "in the TikTok app long-press the comment under your video > Delete",
    },
    endpoints=(
        "GET /v2/user/info/",
        "POST /v2/video/list/",
        "POST /v2/oauth/token/",
        "POST /v2/oauth/revoke/",
    ),
)


class TikTokAdapter(OAuthAdapter):
    info = INFO
    base_url = "https://open.tiktokapis.com"

    def _client(self) -> dict[str, str]:
        return {"client_key": self.need("client_key"), "client_secret": self.need("client_secret")}

    async def verify(self, credentials: Any = None) -> Identity:
        token = (credentials or self.credentials).get("access_token") or self.token
        data = await self.http.json(
            "GET", "/v2/user/info/", params={"fields": "open_id,display_name"}, token=token
        )
        user = (data.get("data") or {}).get("user") or {}
        return Identity(user_id=str(user.get("open_id", "")), handle=str(user.get("display_name", "")))

    async def list_posts(self, cursor: str | None = None, limit: int = 20) -> TimelinePage:
        data = await self.api(
            "POST",
            "/v2/video/list/",
            params={"fields": "id,title,video_description,create_time,share_url"},
            json={"max_count": max(1, min(limit, 20))},
            idempotent=True,
        )
        posts = [
            Post(
                post_id=str(v["id"]),
                text=str(v.get("video_description") or v.get("title") or ""),
                created_at=utc_z(float(v.get("create_time", 0))),
                url=str(v.get("share_url", "")),
            )
            for v in (data.get("data") or {}).get("videos", [])
        ]
        return page_since(posts, cursor, limit)

    async def rotate_credential(self) -> dict[str, str]:
        changed = await self.refresh_grant(
            "/v2/oauth/token/",
            {**self._client(), "grant_type": "refresh_token", "refresh_token": self.need("refresh_token")},
        )
        await self.verify({"access_token": changed["access_token"]})
        return changed

    async def revoke_token(self) -> None:
        await self.revoke_at("/v2/oauth/revoke/", {**self._client(), "token": self.token})
