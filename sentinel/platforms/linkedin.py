"""LinkedIn organisation or member posts through the versioned REST Posts API
(https://learn.microsoft.com/linkedin/marketing/community-management/shares/posts-api).

Endpoints used:

- ``GET /rest/posts?q=author&author={urn}`` (list, newest first)
- ``POST /rest/posts`` (publish; the new post's URN is in the ``x-restli-id`` header)
- ``DELETE /rest/posts/{urn}`` (delete)
- ``POST https://www.linkedin.com/oauth/v2/introspectToken`` (verify)
- ``POST https://www.linkedin.com/oauth/v2/accessToken`` with ``grant_type=refresh_token`` (rotate;
  programmatic refresh tokens are granted to approved Marketing partners)
- ``POST https://www.linkedin.com/oauth/v2/revoke`` (revoke)
- ``POST /rest/socialActions/{urn}/comments`` (comment on a post, or answer a comment with
  ``parentComment``), ``GET /rest/socialActions/{urn}/comments`` (list),
  ``DELETE /rest/socialActions/{urn}/comments/{comment-id}?actor=`` (delete; Page admins may
  delete comments on the Page's posts). LinkedIn has no API to hide a comment.

Credentials: ``access_token``, ``author`` (``urn:li:organization:...`` or ``urn:li:person:...``),
``client_id``, ``client_secret``, optional ``refresh_token``. Requests carry
``LinkedIn-Version`` and ``X-Restli-Protocol-Version: 2.0.0``.

Rate limits are per application and member per day and shown only in the developer portal;
the recorded figure is the documented member share limit (150 posts a day).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

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
    content_hash,
    page_since,
    state_snapshot,
)
from sentinel.platforms.errors import PlatformAuthFailed, PlatformNotFound
from sentinel.platforms.http import api_path
from sentinel.platforms.oauth import OAuthAdapter
from sentinel.platforms.post_length import TextLimit
from sentinel.platforms.timefmt import utc_z

OAUTH = "https://www.linkedin.com/oauth/v2"
API_VERSION = "202405"
COMMENT_URN = re.compile(r"urn:li:comment:\((?P<object>urn:li:[a-zA-Z]+:[^,]+),(?P<id>[^)]+)\)")
"""``urn:li:comment:(urn:li:activity:123,456)``: the commented object and the comment's id."""

INFO = PlatformInfo(
    platform="linkedin",
    text_limit=TextLimit(
        3_000,
        "characters",
        "https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api",
        note="a post's commentary; comments take 1,250",
    ),
    renews="oauth_token",
    state_fields=frozenset({"handle", "display_name", "avatar", "bio", "links", "delegate"}),
    capabilities=(
        POSTING | COMMENTS | {Capability.ROTATE_CREDENTIAL, Capability.REVOKE_TOKEN, Capability.ACCOUNT_STATE}
    )
    - {Capability.HIDE_COMMENT},
    limits=RateLimits(
        write=RateLimit(
            150, 86400, "https://learn.microsoft.com/linkedin/shared/api-guide/concepts/rate-limits"
        ),
        poll_interval=300.0,
    ),
    manual={
        Capability.CHANGE_PASSWORD: "each Page admin changes their own LinkedIn password at "
        "https://www.linkedin.com/mypreferences/d/change-password",
        Capability.REVOKE_SESSIONS: "each Page admin signs out of all sessions under Settings > Sign in & "
        "security > Where you're signed in; Page super admins remove unknown admins under Admin tools > Manage admins",
        Capability.LOCK_ACCOUNT: "LinkedIn has no self-lock for Pages: remove every admin but the incident "
        "lead (Admin tools > Manage admins) and report at https://www.linkedin.com/help/linkedin/ask/TS-RHA",
        Capability.APP_PASSWORDS: "LinkedIn has no app passwords; each tool holds its own OAuth token",
        Capability.HIDE_COMMENT: "LinkedIn cannot hide a comment: delete it, or on the post open the "
        "comment's ... menu > Report; a Page admin can also turn comments off for the post",
    },
    notes={
        Capability.ROTATE_CREDENTIAL: "needs a refresh token, granted to approved Marketing partners",
        Capability.DELETE_COMMENT: "comments on the author's own posts (Page admins), or its own comments",
    },
    endpoints=(
        "GET /rest/posts?q=author",
        "POST /rest/posts",
        "DELETE /rest/posts/{urn}",
        "POST /oauth/v2/introspectToken",
        "POST /oauth/v2/accessToken",
        "POST /oauth/v2/revoke",
        "GET|POST /rest/socialActions/{urn}/comments",
        "DELETE /rest/socialActions/{urn}/comments/{comment-id}",
    ),
)


class LinkedInAdapter(OAuthAdapter):
    info = INFO
    base_url = "https://api.linkedin.com"
    extra_headers: ClassVar[Mapping[str, str]] = {
        "linkedin-version": API_VERSION,
        "x-restli-protocol-version": "2.0.0",
    }

    def _client(self) -> dict[str, str]:
        return {"client_id": self.need("client_id"), "client_secret": self.need("client_secret")}

    async def verify(self, credentials: Any = None) -> Identity:
        token = (credentials or self.credentials).get("access_token") or self.token
        data = await self.http.json(
            "POST", f"{OAUTH}/introspectToken", data={**self._client(), "token": token}
        )
        if not data.get("active"):
            raise PlatformAuthFailed(f"account {self.account!r} on linkedin: the access token is not active")
        return Identity(user_id=self.credentials.get("author", ""), handle=str(data.get("authorized_at", "")))

    async def list_posts(self, cursor: str | None = None, limit: int = 50) -> TimelinePage:
        params = {"q": "author", "author": self.need("author"), "count": min(limit, 100), "sortBy": "CREATED"}
        data = await self.api("GET", "/rest/posts", params=params)
        posts = [
            Post(
                post_id=str(p["id"]),
                text=str(p.get("commentary", "")),
                created_at=utc_z(float(p.get("publishedAt") or p.get("createdAt") or 0) / 1000),
            )
            for p in data.get("elements", [])
        ]
        return page_since(posts, cursor, limit)

    async def publish(self, text: str) -> Post:
        body = {
            "author": self.need("author"),
            "commentary": text,
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        response = await self.http.request("POST", "/rest/posts", json=body, token=self.token)
        return Post(post_id=response.headers.get("x-restli-id", ""), text=text, created_at="")

    async def delete_post(self, post_id: str) -> None:
        try:
            await self.http.request("DELETE", api_path("rest", "posts", post_id), token=self.token)
        except PlatformNotFound:
            return

    def _social(self, urn: str, *more: str) -> str:
        return api_path("rest", "socialActions", urn, "comments", *more)

    async def reply(self, post_id: str, text: str) -> Post:
        body: dict[str, Any] = {"actor": self.need("author"), "object": post_id, "message": {"text": text}}
        parent = COMMENT_URN.fullmatch(post_id)
        if parent:
            body.update(object=parent["object"], parentComment=post_id)
        response = await self.http.request("POST", self._social(post_id), json=body, token=self.token)
        data = response.json() if response.content else {}
        urn = str(data.get("commentUrn") or response.headers.get("x-restli-id", ""))
        return Post(post_id=urn, text=text, created_at="")

    async def list_comments(self, post_id: str, limit: int = 50) -> list[Comment]:
        data = await self.api("GET", self._social(post_id), params={"count": min(limit, 100)})
        me = self.credentials.get("author", "")
        return [
            Comment(
                comment_id=str(c.get("commentUrn") or c.get("id", "")),
                text=str((c.get("message") or {}).get("text", "")),
                author=str(c.get("actor", "")),
                created_at=utc_z(float((c.get("created") or {}).get("time") or 0) / 1000),
                parent_id=str(c.get("parentComment") or c.get("object") or post_id),
                own=bool(me) and c.get("actor") == me,
            )
            for c in data.get("elements", [])[:limit]
        ]

    async def delete_comment(self, comment_id: str) -> None:
        urn = COMMENT_URN.fullmatch(comment_id)
        if urn is None:
            raise PlatformNotFound(
                f"account {self.account!r} on linkedin: {comment_id!r} is not a comment URN "
                "(urn:li:comment:(<object>,<id>))"
            )
        path = self._social(urn["object"], urn["id"])
        try:
            await self.http.request("DELETE", path, params={"actor": self.need("author")}, token=self.token)
        except PlatformNotFound:
            return

    async def rotate_credential(self) -> dict[str, str]:
        changed = await self.refresh_grant(
            f"{OAUTH}/accessToken",
            {**self._client(), "grant_type": "refresh_token", "refresh_token": self.need("refresh_token")},
        )
        await self.verify({"access_token": changed["access_token"]})
        return changed

    async def revoke_token(self) -> None:
        await self.revoke_at(f"{OAUTH}/revoke", {**self._client(), "token": self.token})

    async def account_state(self) -> dict[str, Any]:
        """The organization (``GET /rest/organizations/{id}``) and its approved roles
        (``GET /rest/organizationAcls?q=organization``); the logo is named by its media URN."""
        urn = self.need("author")
        org = await self.api("GET", api_path("rest", "organizations", urn.rsplit(":", 1)[-1]))
        acls = await self.api(
            "GET", "/rest/organizationAcls", params={"q": "organization", "organization": urn}
        )
        logo = str((org.get("logoV2") or {}).get("original", ""))
        return state_snapshot(
            INFO,
            handle=str(org.get("vanityName", "")),
            display_name=str(org.get("localizedName", "")),
            avatar=content_hash(logo.encode()) if logo else None,
            bio=str(org.get("localizedDescription", "")),
            links=str(org.get("localizedWebsite", "")).split(),
            delegate=[
                f"{a.get('role', '')} · {a.get('roleAssignee', '')}"
                for a in acls.get("elements", [])
                if a.get("state", "APPROVED") == "APPROVED"
            ],
        )
