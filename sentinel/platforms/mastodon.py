"""Mastodon, through its REST API (https://docs.joinmastodon.org/methods/).

Endpoints used:

- ``GET /api/v1/accounts/verify_credentials`` (whose token this is)
- ``GET /api/v1/accounts/:id/statuses`` with ``min_id`` / ``limit`` (the account's own posts)
- ``POST /api/v1/statuses`` with an ``Idempotency-Key`` (publish; ``in_reply_to_id`` for a reply)
- ``GET /api/v1/statuses/:id/context`` (the replies under a post: ``descendants``)
- ``GET /api/v1/statuses/:id`` (whose status a reply is, before deleting it)
- ``DELETE /api/v1/statuses/:id`` (delete)
- ``POST /oauth/revoke`` (revoke Sentinel's own access token)

Credentials: ``access_token``, ``service`` (the instance URL), optional ``account_id``,
``client_id`` and ``client_secret`` (needed to revoke the token).

Rate limits (https://docs.joinmastodon.org/api/rate-limits/): 300 calls per 5 minutes per
account; deleting statuses 30 per 30 minutes. Mastodon has no API to end a user's other
sessions, change the password, create app passwords or suspend one's own account: those
steps are manual. Nor can an account hide or delete other people's replies to its posts
(``DELETE /api/v1/statuses/:id`` deletes only the caller's own statuses): report them to
the instance's moderators, or block the author.
"""

from __future__ import annotations

import uuid
from typing import Any

from sentinel.platforms.base import (
    COMMENTS,
    POSTING,
    Capability,
    Comment,
    Identity,
    PlatformInfo,
    Post,
    Push,
    RateLimit,
    RateLimits,
    TimelinePage,
    not_own,
    state_snapshot,
)
from sentinel.platforms.errors import PlatformNotFound
from sentinel.platforms.htmltext import html_to_text
from sentinel.platforms.http import api_path
from sentinel.platforms.oauth import OAuthAdapter
from sentinel.platforms.post_length import TextLimit
from sentinel.platforms.timefmt import normalise_time

_LIMITS = "https://docs.joinmastodon.org/api/rate-limits/"

INFO = PlatformInfo(
    platform="mastodon",
    text_limit=TextLimit(
        100_000,
        "characters",
        "https://docs.joinmastodon.org/entities/Instance/#max_characters",
        link_length=23,
        remote_mentions_free=True,
        note="each server sets configuration.statuses.max_characters (500 by default; some allow "
        "tens of thousands) and counts a link as characters_reserved_per_url (23): Sentinel cannot "
        "know the server's setting at the gate, so it allows 100,000",
    ),
    push=frozenset({Push.STREAM}),
    capabilities=(POSTING | COMMENTS | {Capability.REVOKE_TOKEN, Capability.ACCOUNT_STATE})
    - {Capability.HIDE_COMMENT},
    state_fields=frozenset({"handle", "display_name", "avatar", "bio", "links"}),
    limits=RateLimits(
        delete=RateLimit(30, 1800, _LIMITS),
        write=RateLimit(300, 300, _LIMITS),
        read=RateLimit(300, 300, _LIMITS),
        poll_interval=60.0,
    ),
    manual={
        Capability.REVOKE_SESSIONS: "sign in on the instance's web site, Preferences > Account > "
        "Sessions: revoke every session; Preferences > Account > Authorized apps: revoke every app",
        Capability.CHANGE_PASSWORD: "Preferences > Account > Security: set a new password from Vault",
        Capability.ROTATE_CREDENTIAL: "Mastodon tokens do not expire or refresh: authorise Sentinel's "
        "app again (Preferences > Development), store the new token with `sentinel vault`, then revoke the old",
        Capability.LOCK_ACCOUNT: "ask the instance's moderators to suspend the account (Mastodon has "
        "no self-lock); meanwhile revoke every session and app",
        Capability.APP_PASSWORDS: "Mastodon has no app passwords; each tool has its own OAuth token, "
        "listed under Preferences > Account > Authorized apps",
        Capability.HIDE_COMMENT: "Mastodon cannot hide a reply under a post: open the reply, ... > Report "
        "(the instance's moderators can remove it), or ... > Block the author",
    },
    notes={
        Capability.DELETE_COMMENT: "only the account's own replies; report other people's to the moderators",
        Capability.LIST_COMMENTS: "the replies the account's instance knows of (remote replies arrive by federation)",
    },
    endpoints=(
        "GET /api/v1/accounts/verify_credentials",
        "GET /api/v1/accounts/:id/statuses",
        "POST /api/v1/statuses",
        "DELETE /api/v1/statuses/:id",
        "GET /api/v1/statuses/:id",
        "GET /api/v1/statuses/:id/context",
        "POST /oauth/revoke",
    ),
)


class MastodonAdapter(OAuthAdapter):
    info = INFO

    def api_root(self, base_url: str | None) -> str:
        return base_url or self.credentials.get("service", "").rstrip("/")

    async def verify(self, credentials: Any = None) -> Identity:
        token = (credentials or self.credentials).get("access_token") or self.token
        data = await self.http.json("GET", "/api/v1/accounts/verify_credentials", token=token)
        if credentials is None:
            self.credentials.setdefault("account_id", str(data["id"]))
        return Identity(
            user_id=str(data["id"]), handle=str(data.get("acct", "")), active=not data.get("suspended")
        )

    async def _account_id(self) -> str:
        if not self.credentials.get("account_id"):
            await self.verify()
        return self.credentials["account_id"]

    def _post(self, status: dict[str, Any]) -> Post:
        app = status.get("application") or {}
        return Post(
            post_id=str(status["id"]),
            text=html_to_text(str(status.get("content") or "")),
            created_at=normalise_time(str(status.get("created_at", ""))),
            client=str(app.get("name", "")) if isinstance(app, dict) else "",
            url=str(status.get("url") or ""),
        )

    async def list_posts(self, cursor: str | None = None, limit: int = 40) -> TimelinePage:
        limit = max(1, min(limit, 40))
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["min_id"] = cursor or "0"
        data = await self.api(
            "GET", api_path("api", "v1", "accounts", await self._account_id(), "statuses"), params=params
        )
        posts = sorted((self._post(s) for s in data), key=lambda p: int(p.post_id))
        newest = posts[-1].post_id if posts else (cursor or "0")
        return TimelinePage(
            posts=tuple(posts), cursor=newest, more=cursor is not None and len(posts) >= limit
        )

    async def publish(self, text: str) -> Post:
        return await self._status({"status": text})

    async def reply(self, post_id: str, text: str) -> Post:
        return await self._status({"status": text, "in_reply_to_id": post_id})

    async def _status(self, body: dict[str, str]) -> Post:
        data = await self.api(
            "POST",
            "/api/v1/statuses",
            json=body,
            headers={"idempotency-key": str(uuid.uuid4())},
            idempotent=True,
        )
        return self._post(data)

    async def list_comments(self, post_id: str, limit: int = 50) -> list[Comment]:
        data = await self.api("GET", api_path("api", "v1", "statuses", post_id, "context"))
        own = await self._account_id()
        return [
            Comment(
                comment_id=str(s["id"]),
                text=html_to_text(str(s.get("content") or "")),
                author=str((s.get("account") or {}).get("acct", "")),
                created_at=normalise_time(str(s.get("created_at", ""))),
                parent_id=str(s.get("in_reply_to_id") or ""),
                own=str((s.get("account") or {}).get("id", "")) == own,
                url=str(s.get("url") or ""),
            )
            for s in (data.get("descendants") or [])[:limit]
        ]

    async def delete_comment(self, comment_id: str) -> None:
        try:
            status = await self.api("GET", api_path("api", "v1", "statuses", comment_id))
        except PlatformNotFound:
            return
        author = str((status.get("account") or {}).get("id", ""))
        if author != await self._account_id():
            raise not_own(self, comment_id, "report it to the instance's moderators or block its author")
        await self.delete_post(comment_id)

    async def delete_post(self, post_id: str) -> None:
        try:
            await self.api("DELETE", api_path("api", "v1", "statuses", post_id))
        except PlatformNotFound:
            return

    async def revoke_token(self) -> None:
        await self.revoke_at(
            "/oauth/revoke",
            {
                "client_id": self.need("client_id"),
                "client_secret": self.need("client_secret"),
                "token": self.token,
            },
        )

    async def account_state(self) -> dict[str, Any]:
        """``verify_credentials``: the profile as its owner sees it (``source`` holds the plain
        bio and the profile fields); e-mail, two-factor and authorized apps are not in the API."""
        me = await self.api("GET", "/api/v1/accounts/verify_credentials")
        source = me.get("source") or {}
        fields = source.get("fields") or me.get("fields") or []
        return state_snapshot(
            INFO,
            handle=str(me.get("acct") or me.get("username") or ""),
            display_name=str(me.get("display_name", "")),
            avatar=await self.image_hash(me.get("avatar")),
            bio=str(source.get("note") if "note" in source else me.get("note", "")),
            links=[str(f.get("value", "")) for f in fields if isinstance(f, dict)],
        )
