"""X (Twitter) through the X API v2 with an OAuth 2.0 user-context token
(https://docs.x.com/x-api/).

Endpoints used:

- ``GET /2/users/me`` (whose token this is)
- ``GET /2/users/:id/tweets`` with ``since_id``, ``max_results``, ``pagination_token``
- ``POST /2/tweets`` (publish; ``reply.in_reply_to_tweet_id`` for a reply), ``DELETE /2/tweets/:id`` (delete)
- ``GET /2/tweets/search/recent`` with ``query=conversation_id:<id>`` (the replies under a post,
  last 7 days), ``GET /2/tweets/:id`` (whose post a reply is, before deleting it)
- ``PUT /2/tweets/:id/hidden`` (hide or show a reply to one of the account's posts; scope
  ``tweet.moderate.write``)
- ``POST /2/oauth2/token`` with ``grant_type=refresh_token`` (rotate: X rotates the refresh token too)
- ``POST /2/oauth2/revoke`` (revoke the old access token)

Credentials: ``access_token``, ``refresh_token``, ``client_id``, optional ``client_secret``
(confidential clients authenticate with HTTP Basic), optional ``user_id``.

Rate limits (per user, https://docs.x.com/x-api/fundamentals/rate-limits): deleting posts
50 per 15 minutes; creating posts 100 per 15 minutes; reading a user's posts 900 per 15
minutes at the Pro tier (far less on lower tiers: set ``[watcher] intervals.x``). X has no
API to change the password, end other sessions or lock an account, and deletes only the
account's own posts (other people's replies can be hidden).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sentinel.errors import PlatformError
from sentinel.logs import get_logger
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
from sentinel.platforms.http import api_path
from sentinel.platforms.oauth import OAuthAdapter
from sentinel.platforms.post_length import TextLimit
from sentinel.platforms.timefmt import normalise_time

log = get_logger(__name__)

_LIMITS = "https://docs.x.com/x-api/fundamentals/rate-limits"
MAX_PAGES = 5

INFO = PlatformInfo(
    platform="x",
    text_limit=TextLimit(
        25_000,
        "characters",
        "https://docs.x.com/fundamentals/counting-characters",
        link_length=23,
        note="280 for most accounts, 25,000 for Premium long posts (Sentinel cannot see the tier, so it "
        "allows the larger); X weighs an emoji or a CJK character as 2 and every link as 23",
    ),
    renews="oauth_token",
    push=frozenset({Push.WEBHOOK}),
    capabilities=POSTING
    | COMMENTS
    | {Capability.ROTATE_CREDENTIAL, Capability.REVOKE_TOKEN, Capability.ACCOUNT_STATE},
    state_fields=frozenset({"handle", "display_name", "avatar", "bio", "links", "pinned_post"}),
    limits=RateLimits(
        delete=RateLimit(50, 900, _LIMITS),
        write=RateLimit(100, 900, _LIMITS),
        read=RateLimit(900, 900, _LIMITS),
        poll_interval=120.0,
    ),
    manual={
        Capability.CHANGE_PASSWORD: "sign in at https://x.com, Settings and privacy > Your account > "
        "Change your password, use a new password from Vault, then store it with `sentinel vault`",
        Capability.REVOKE_SESSIONS: "Settings and privacy > Security and account access > Apps and "
        "sessions > Sessions: Log out all other sessions; then Connected apps: revoke unknown apps",
        Capability.LOCK_ACCOUNT: "X has no self-lock: change the password (which ends other sessions) "
        "and revoke connected apps; if you cannot sign in, use https://help.x.com/forms/hacked",
        Capability.APP_PASSWORDS: "X has no app passwords; each tool holds its own OAuth token",
    },
    notes={
        Capability.LIST_COMMENTS: "recent search: replies from the last 7 days; the API does not say "
        "which replies are hidden",
        Capability.DELETE_COMMENT: "only the account's own replies; hide other people's",
    },
    endpoints=(
        "GET /2/users/me",
        "GET /2/users/:id/tweets",
        "POST /2/tweets",
        "DELETE /2/tweets/:id",
        "GET /2/tweets/:id",
        "GET /2/tweets/search/recent",
        "PUT /2/tweets/:id/hidden",
        "POST /2/oauth2/token",
        "POST /2/oauth2/revoke",
    ),
)


class XAdapter(OAuthAdapter):
    info = INFO
    base_url = "https://api.x.com"

    def _client_auth(self) -> tuple[dict[str, str], tuple[str, str] | None]:
        client_id = self.need("client_id")
        secret = self.credentials.get("client_secret")
        if secret:
            return {}, (client_id, secret)
        return {"client_id": client_id}, None

    async def verify(self, credentials: Any = None) -> Identity:
        token = (credentials or self.credentials).get("access_token") or self.token
        data = (await self.http.json("GET", "/2/users/me", token=token))["data"]
        if credentials is None:
            self.credentials.setdefault("user_id", str(data["id"]))
        return Identity(user_id=str(data["id"]), handle=str(data.get("username", "")))

    async def _user_id(self) -> str:
        if not self.credentials.get("user_id"):
            await self.verify()
        return self.credentials["user_id"]

    async def list_posts(self, cursor: str | None = None, limit: int = 100) -> TimelinePage:
        params: dict[str, Any] = {
            "max_results": max(5, min(limit, 100)),
            "tweet.fields": "created_at,source,entities",
        }
        if cursor:
            params["since_id"] = cursor
        uid = await self._user_id()
        tweets: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES if cursor is not None else 1):
            data = await self.api("GET", api_path("2", "users", uid, "tweets"), params=params)
            tweets.extend(data.get("data") or [])
            token = (data.get("meta") or {}).get("next_token")
            if not token:
                break
            params["pagination_token"] = token
        posts = sorted(
            (
                Post(
                    post_id=str(t["id"]),
                    text=expanded_text(t),
                    created_at=normalise_time(str(t.get("created_at", ""))),
                    client=str(t.get("source", "")),
                    url=f"https://x.com/i/web/status/{t['id']}",
                )
                for t in tweets
            ),
            key=lambda p: int(p.post_id),
        )
        return TimelinePage(posts=tuple(posts), cursor=posts[-1].post_id if posts else (cursor or ""))

    async def publish(self, text: str) -> Post:
        return await self._tweet({"text": text})

    async def reply(self, post_id: str, text: str) -> Post:
        return await self._tweet({"text": text, "reply": {"in_reply_to_tweet_id": post_id}})

    async def _tweet(self, body: dict[str, Any]) -> Post:
        data = (await self.api("POST", "/2/tweets", json=body))["data"]
        return Post(post_id=str(data["id"]), text=str(data.get("text", body["text"])), created_at="")

    async def list_comments(self, post_id: str, limit: int = 50) -> list[Comment]:
        if not (post_id.isascii() and post_id.isdigit()):
            # Tweet ids are numbers; anything else would add terms to the search query.
            raise PlatformNotFound(f"account {self.account!r} on x: {post_id!r} is not a tweet id")
        params = {
            "query": f"conversation_id:{post_id}",
            "max_results": max(10, min(limit, 100)),
            "tweet.fields": "author_id,created_at,conversation_id,referenced_tweets",
            "expansions": "author_id",
            "user.fields": "username",
        }
        data = await self.api("GET", "/2/tweets/search/recent", params=params)
        users = {
            str(u["id"]): str(u.get("username", "")) for u in (data.get("includes") or {}).get("users", [])
        }
        own = await self._user_id()
        out = []
        for t in data.get("data") or []:
            parent = next(
                (str(r["id"]) for r in t.get("referenced_tweets") or [] if r.get("type") == "replied_to"), ""
            )
            author = str(t.get("author_id", ""))
            out.append(
                Comment(
                    comment_id=str(t["id"]),
                    text=str(t.get("text", "")),
                    author=users.get(author, author),
                    created_at=normalise_time(str(t.get("created_at", ""))),
                    parent_id=parent,
                    own=author == own,
                    url=f"https://x.com/i/web/status/{t['id']}",
                )
            )
        return sorted(out, key=lambda c: int(c.comment_id))[:limit]

    async def hide_comment(self, comment_id: str, hidden: bool = True) -> None:
        await self.api("PUT", api_path("2", "tweets", comment_id, "hidden"), json={"hidden": hidden})

    async def delete_comment(self, comment_id: str) -> None:
        try:
            data = await self.api(
                "GET", api_path("2", "tweets", comment_id), params={"tweet.fields": "author_id"}
            )
        except PlatformNotFound:
            return
        if not data.get("data"):
            return  # X answers 200 with an "errors" list (resource-not-found) for a deleted post
        if str(data["data"].get("author_id", "")) != await self._user_id():
            raise not_own(self, comment_id, "hide the reply instead")
        await self.delete_post(comment_id)

    async def delete_post(self, post_id: str) -> None:
        try:
            await self.api("DELETE", api_path("2", "tweets", post_id))
        except PlatformNotFound:
            return

    async def rotate_credential(self) -> dict[str, str]:
        """Refresh the token pair, then revoke the old access token."""
        old = self.token
        form, auth = self._client_auth()
        changed = await self.refresh_grant(
            "/2/oauth2/token",
            {**form, "grant_type": "refresh_token", "refresh_token": self.need("refresh_token")},
            auth,
        )
        await self.verify({"access_token": changed["access_token"]})
        # The new pair exists only here until the caller stores it: a failed revocation of the
        # old access token (it expires within 2 h anyway) must not lose it.
        try:
            await self.revoke_at(
                "/2/oauth2/revoke", {**form, "token": old, "token_type_hint": "access_token"}, auth
            )
        except PlatformError as e:
            log.warning("x.revoke_old_failed", account=self.account, error=e.message)
        return changed

    async def revoke_token(self) -> None:
        form, auth = self._client_auth()
        await self.revoke_at(
            "/2/oauth2/revoke", {**form, "token": self.token, "token_type_hint": "access_token"}, auth
        )

    async def account_state(self) -> dict[str, Any]:
        """``GET /2/users/me`` with the profile's user fields; e-mail, phone, two-factor,
        sessions and connected apps are not in the API."""
        fields = "name,username,description,profile_image_url,pinned_tweet_id,url,entities"
        me = (await self.api("GET", "/2/users/me", params={"user.fields": fields}))["data"]
        urls = (((me.get("entities") or {}).get("url") or {}).get("urls")) or []
        pinned = me.get("pinned_tweet_id")
        return state_snapshot(
            INFO,
            handle=str(me.get("username", "")),
            display_name=str(me.get("name", "")),
            avatar=await self.image_hash(me.get("profile_image_url")),
            bio=str(me.get("description", "")),
            links=[str(u.get("expanded_url") or u.get("url", "")) for u in urls],
            pinned_post=f"x:{pinned}" if pinned else None,
        )


def expanded_text(tweet: Mapping[str, Any]) -> str:
    """The tweet's text with X's t.co wrappers replaced by the links they stand for (its
    ``entities.urls``), attached media's wrappers left out: what the author wrote, to be
    compared with the text approved at the gate, links included."""
    text = str(tweet.get("text", ""))
    urls = ((tweet.get("entities") or {}).get("urls")) or []
    for u in urls:
        wrapped = str(u.get("url") or "")
        if wrapped:
            target = "" if u.get("media_key") else str(u.get("expanded_url") or wrapped)
            text = target.join(re.split(re.escape(wrapped) + r"(?![\w/])", text))
    return text.strip() if urls else text
