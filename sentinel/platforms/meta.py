"""Meta: Facebook Pages and Instagram business accounts (Graph API) and Threads (Threads API).

Facebook Page (https://developers.facebook.com/docs/pages-api/), with a Page access token:
``GET /{page-id}`` (verify), ``GET /{page-id}/posts?fields=id,message,created_time``
(list), ``POST /{page-id}/feed`` (publish), ``DELETE /{post-id}`` (delete). Comments
(https://developers.facebook.com/docs/graph-api/reference/object/comments/):
``POST /{object-id}/comments`` (reply to a post or a comment), ``GET /{object-id}/comments``
(list), ``POST /{comment-id}`` with ``is_hidden`` (hide / show), ``DELETE /{comment-id}``.

Instagram business (https://developers.facebook.com/docs/instagram-platform/):
``GET /{ig-user-id}?fields=id,username`` (verify), ``GET /{ig-user-id}/media?fields=id,caption,timestamp,permalink``
(list). Publishing needs an image or video and media cannot be deleted through the API.
Comments (https://developers.facebook.com/docs/instagram-platform/comment-moderation):
``POST /{ig-media-id}/comments`` (comment on a post), ``POST /{ig-comment-id}/replies``
(answer a comment), ``GET /{ig-media-id}/comments`` (list, with their replies),
``POST /{ig-comment-id}?hide=true|false`` (hide / show), ``DELETE /{ig-comment-id}``.

Threads (https://developers.facebook.com/docs/threads/): ``GET /me`` (verify),
``GET /{user-id}/threads`` (list), ``POST /{user-id}/threads`` + ``/threads_publish`` (publish,
two steps), ``DELETE /{media-id}`` (delete; 100 per 24 h), ``GET /refresh_access_token``
with ``grant_type=th_refresh_token`` (rotate the long-lived token). Replies
(https://developers.facebook.com/docs/threads/reply-management): a reply is a post with
``reply_to_id``; ``GET /{media-id}/replies`` (list), ``POST /{reply-id}/manage_reply`` with
``hide`` (hide / show); deleting is for the account's own replies only
(``is_reply_owned_by_me``).

Graph errors carry ``{"error": {"code": ...}}``: 190 is an invalid or expired token; 4,
17, 32, 613 and 80001-80014 are rate limits (Business Use Case limits scale with the
Page's engaged users, so no fixed count is recorded for Pages).
"""

from __future__ import annotations

from typing import Any

import httpx

from sentinel.errors import PlatformError
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
    page_since,
    state_snapshot,
)
from sentinel.platforms.errors import (
    PlatformAuthFailed,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformRejected,
)
from sentinel.platforms.http import api_path, retry_after_seconds
from sentinel.platforms.oauth import OAuthAdapter
from sentinel.platforms.post_length import TextLimit
from sentinel.platforms.timefmt import normalise_time
from sentinel.redact import register_secret

GRAPH = "https://graph.facebook.com/v21.0"
THREADS = "https://graph.threads.net/v1.0"
_RATE_CODES = frozenset({4, 17, 32, 613})

_META_MANUAL = {
    Capability.CHANGE_PASSWORD: "the password belongs to the people with access to the Page: each "
    "changes it at https://accountscenter.facebook.com > Password and security",
    Capability.REVOKE_SESSIONS: "Meta Business Suite > Settings > People: remove unknown people and "
    "partners; each admin logs out other sessions in Accounts Center > Where you're logged in",
    Capability.LOCK_ACCOUNT: "Meta has no self-lock: remove every person's access in Meta Business "
    "Suite > Settings > People, then report at https://www.facebook.com/hacked",
    Capability.APP_PASSWORDS: "Meta has no app passwords; tokens are issued per app and system user",
    Capability.REVOKE_TOKEN: "Business Settings > Users > System users: revoke the token, or remove "
    "the app under Business Settings > Integrations",
    Capability.ROTATE_CREDENTIAL: "generate a new Page token for the system user in Business Settings, "
    "store it with `sentinel vault`, then revoke the old one",
    Capability.ACCOUNT_STATE: "the Threads API shows no profile changes, people or sessions: check "
    "Accounts Center > Password and security > Where you're logged in, and Meta Business Suite > "
    "Settings > People",
}


def graph_error(response: httpx.Response, message: str) -> PlatformError | None:
    try:
        err = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    if not isinstance(err, dict):
        return None
    code = err.get("code")
    if code == 190 or code in (10, 200):
        return PlatformAuthFailed(message)
    if code in _RATE_CODES or (isinstance(code, int) and 80001 <= code <= 80014):
        return PlatformRateLimited(message, retry_after=retry_after_seconds(response.headers))
    if code == 100 and "does not exist" in str(err.get("message", "")).lower():
        return PlatformNotFound(message)
    return None


class _GraphAdapter(OAuthAdapter):
    def classify(self, response: httpx.Response, message: str) -> PlatformError | None:
        return graph_error(response, message)

    async def _delete(self, object_id: str) -> None:
        try:
            await self.api("DELETE", api_path(object_id))
        except PlatformNotFound:
            return

    async def _comment(self, path: str, text: str) -> Post:
        data = await self.api("POST", path, data={"message": text})
        return Post(post_id=str(data["id"]), text=text, created_at="")


FACEBOOK_INFO = PlatformInfo(
    platform="facebook",
    text_limit=TextLimit(
        63_206,
        "characters",
        "https://developers.facebook.com/docs/graph-api/reference/page/feed/",
        note="the Page feed's message; the Graph API reference names no maximum, 63,206 is the "
        "figure Facebook gives for a post (not verified in Meta's API documents)",
    ),
    push=frozenset({Push.WEBHOOK}),
    capabilities=POSTING | COMMENTS | {Capability.ACCOUNT_STATE},
    state_fields=frozenset(
        {"handle", "display_name", "avatar", "bio", "links", "email", "phone", "delegate"}
    ),
    limits=RateLimits(poll_interval=120.0),
    manual=_META_MANUAL,
    notes={
        Capability.LIST_TIMELINE: "Business Use Case rate limits scale with the Page's engaged users "
        "(https://developers.facebook.com/docs/graph-api/overview/rate-limiting/)"
    },
    endpoints=(
        "GET /{page-id}",
        "GET /{page-id}/posts",
        "POST /{page-id}/feed",
        "DELETE /{post-id}",
        "GET|POST /{object-id}/comments",
        "POST /{comment-id} (is_hidden)",
        "DELETE /{comment-id}",
    ),
)


class FacebookPageAdapter(_GraphAdapter):
    info = FACEBOOK_INFO
    base_url = GRAPH

    async def account_state(self) -> dict[str, Any]:
        """The Page's fields and, with ``business_id`` in the credential, the people assigned
        to it (``GET /{page-id}/assigned_users``: each one's tasks and name)."""
        page = self.need("page_id")
        fields = "name,username,about,website,emails,phone,picture{url}"
        data = await self.api("GET", api_path(page), params={"fields": fields})
        people: list[str] | None = None
        business = self.credentials.get("business_id")
        if business:
            users = await self.api("GET", api_path(page, "assigned_users"), params={"business": business})
            people = [
                f"{'/'.join(sorted(u.get('tasks') or []))} · {u.get('name', u.get('id', ''))}"
                for u in users.get("data", [])
            ]
        return state_snapshot(
            FACEBOOK_INFO,
            handle=str(data.get("username", "")),
            display_name=str(data.get("name", "")),
            avatar=await self.image_hash(((data.get("picture") or {}).get("data") or {}).get("url")),
            bio=str(data.get("about", "")),
            links=str(data.get("website", "")).split(),
            email=", ".join(str(e) for e in data.get("emails") or []),
            phone=str(data.get("phone", "")),
            delegate=people,
        )

    async def verify(self, credentials: Any = None) -> Identity:
        token = (credentials or self.credentials).get("access_token") or self.token
        data = await self.http.json(
            "GET", api_path(self.need("page_id")), params={"fields": "id,name"}, token=token
        )
        return Identity(user_id=str(data["id"]), handle=str(data.get("name", "")))

    async def list_posts(self, cursor: str | None = None, limit: int = 50) -> TimelinePage:
        params: dict[str, Any] = {"fields": "id,message,created_time,permalink_url", "limit": min(limit, 100)}
        data = await self.api("GET", api_path(self.need("page_id"), "posts"), params=params)
        posts = [
            Post(
                post_id=str(p["id"]),
                text=str(p.get("message", "")),
                created_at=normalise_time(str(p.get("created_time", ""))),
                url=str(p.get("permalink_url", "")),
            )
            for p in data.get("data", [])
        ]
        return page_since(posts, cursor, limit)

    async def publish(self, text: str) -> Post:
        return await self._comment(api_path(self.need("page_id"), "feed"), text)

    async def delete_post(self, post_id: str) -> None:
        await self._delete(post_id)

    async def reply(self, post_id: str, text: str) -> Post:
        return await self._comment(api_path(post_id, "comments"), text)

    async def list_comments(self, post_id: str, limit: int = 50) -> list[Comment]:
        params = {
            "fields": "id,message,from{id,name},created_time,is_hidden,permalink_url,parent{id}",
            "filter": "stream",
            "limit": min(limit, 100),
        }
        data = await self.api("GET", api_path(post_id, "comments"), params=params)
        page = self.need("page_id")
        return [
            Comment(
                comment_id=str(c["id"]),
                text=str(c.get("message", "")),
                author=str((c.get("from") or {}).get("name", "")),
                created_at=normalise_time(str(c.get("created_time", ""))),
                parent_id=str((c.get("parent") or {}).get("id") or post_id),
                hidden=bool(c.get("is_hidden")),
                own=str((c.get("from") or {}).get("id", "")) == page,
                url=str(c.get("permalink_url", "")),
            )
            for c in data.get("data", [])[:limit]
        ]

    async def hide_comment(self, comment_id: str, hidden: bool = True) -> None:
        await self.api("POST", api_path(comment_id), data={"is_hidden": "true" if hidden else "false"})

    async def delete_comment(self, comment_id: str) -> None:
        await self._delete(comment_id)


INSTAGRAM_INFO = PlatformInfo(
    platform="instagram",
    text_limit=TextLimit(
        2_200,
        "characters",
        "https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media",
        note="a caption takes 2,200 characters (the figure publishing tools document; Meta's media "
        "reference names none)",
    ),
    push=frozenset({Push.WEBHOOK}),
    capabilities=COMMENTS
    | {Capability.LIST_TIMELINE, Capability.VERIFY_CREDENTIAL, Capability.ACCOUNT_STATE},
    state_fields=frozenset({"handle", "display_name", "avatar", "bio", "links"}),
    limits=RateLimits(
        write=RateLimit(
            100, 86400, "https://developers.facebook.com/docs/instagram-platform/content-publishing"
        ),
        read=RateLimit(200, 3600, "https://developers.facebook.com/docs/graph-api/overview/rate-limiting/"),
        poll_interval=300.0,
    ),
    manual={
        **_META_MANUAL,
        Capability.PUBLISH: "Instagram posts need an image or video: publish through Meta Business Suite",
        Capability.DELETE_POST: "the API cannot delete media: open the post in the Instagram app, "
        "... > Delete (or archive it)",
    },
    notes={
        Capability.REPLY: "a reply to a post is a comment on it, a reply to a comment answers it; "
        "which one the id names is asked first (GET /{id}?fields=media_type, one extra read)",
    },
    endpoints=(
        "GET /{ig-user-id}",
        "GET /{ig-user-id}/media",
        "GET|POST /{ig-media-id}/comments",
        "GET /{id}?fields=media_type",
        "POST /{ig-comment-id}/replies",
        "POST /{ig-comment-id}?hide=",
        "DELETE /{ig-comment-id}",
    ),
)


class InstagramAdapter(_GraphAdapter):
    info = INSTAGRAM_INFO
    base_url = GRAPH

    async def account_state(self) -> dict[str, Any]:
        """The Instagram professional account's profile fields (its people are the Page's)."""
        fields = "username,name,biography,website,profile_picture_url"
        data = await self.api("GET", api_path(self.need("ig_user_id")), params={"fields": fields})
        return state_snapshot(
            INSTAGRAM_INFO,
            handle=str(data.get("username", "")),
            display_name=str(data.get("name", "")),
            avatar=await self.image_hash(data.get("profile_picture_url")),
            bio=str(data.get("biography", "")),
            links=str(data.get("website", "")).split(),
        )

    async def verify(self, credentials: Any = None) -> Identity:
        token = (credentials or self.credentials).get("access_token") or self.token
        data = await self.http.json(
            "GET", api_path(self.need("ig_user_id")), params={"fields": "id,username"}, token=token
        )
        return Identity(user_id=str(data["id"]), handle=str(data.get("username", "")))

    async def list_posts(self, cursor: str | None = None, limit: int = 50) -> TimelinePage:
        params = {"fields": "id,caption,timestamp,permalink", "limit": min(limit, 100)}
        data = await self.api("GET", api_path(self.need("ig_user_id"), "media"), params=params)
        posts = [
            Post(
                post_id=str(m["id"]),
                text=str(m.get("caption", "")),
                created_at=normalise_time(str(m.get("timestamp", ""))),
                url=str(m.get("permalink", "")),
            )
            for m in data.get("data", [])
        ]
        return page_since(posts, cursor, limit)

    async def reply(self, post_id: str, text: str) -> Post:
        try:
            await self.api("GET", api_path(post_id), params={"fields": "media_type"})
        except PlatformRejected:
            # "nonexisting field (media_type) on node type (IGComment)": the id names a comment
            return await self._comment(api_path(post_id, "replies"), text)
        return await self._comment(api_path(post_id, "comments"), text)

    async def list_comments(self, post_id: str, limit: int = 50) -> list[Comment]:
        fields = "id,text,username,from{id},timestamp,hidden"
        params = {"fields": f"{fields},replies{{{fields}}}", "limit": min(limit, 50)}
        data = await self.api("GET", api_path(post_id, "comments"), params=params)
        me = self.need("ig_user_id")

        def comment(c: dict[str, Any], parent: str) -> Comment:
            return Comment(
                comment_id=str(c["id"]),
                text=str(c.get("text", "")),
                author=str(c.get("username", "")),
                created_at=normalise_time(str(c.get("timestamp", ""))),
                parent_id=parent,
                hidden=bool(c.get("hidden")),
                own=str((c.get("from") or {}).get("id", "")) == me,
            )

        out = []
        for c in data.get("data", []):
            out.append(comment(c, post_id))
            out.extend(comment(r, str(c["id"])) for r in (c.get("replies") or {}).get("data", []))
        return out[:limit]

    async def hide_comment(self, comment_id: str, hidden: bool = True) -> None:
        await self.api("POST", api_path(comment_id), params={"hide": "true" if hidden else "false"})

    async def delete_comment(self, comment_id: str) -> None:
        await self._delete(comment_id)


THREADS_INFO = PlatformInfo(
    platform="threads",
    text_limit=TextLimit(
        500,
        "characters",
        "https://developers.facebook.com/documentation/threads/posts",
        note="Threads counts an emoji as its UTF-8 bytes; a text attachment (up to 10,000) is not the "
        "post's text",
    ),
    renews="oauth_token",
    capabilities=POSTING | COMMENTS | {Capability.ROTATE_CREDENTIAL},
    limits=RateLimits(
        delete=RateLimit(
            100, 86400, "https://developers.facebook.com/docs/threads/troubleshooting#rate-limiting"
        ),
        write=RateLimit(
            250, 86400, "https://developers.facebook.com/docs/threads/troubleshooting#rate-limiting"
        ),
        poll_interval=120.0,
    ),
    manual=_META_MANUAL,
    notes={
        Capability.ROTATE_CREDENTIAL: "refreshes the long-lived token (valid 60 days); the old one "
        "is not revoked by the API",
        Capability.DELETE_COMMENT: "only the account's own replies; hide other people's",
        Capability.LIST_COMMENTS: "top-level replies (GET /{media-id}/replies), not the whole conversation",
    },
    endpoints=(
        "GET /me",
        "GET /{user-id}/threads",
        "POST /{user-id}/threads",
        "POST /{user-id}/threads_publish",
        "DELETE /{media-id}",
        "GET /refresh_access_token",
        "GET /{media-id}/replies",
        "GET /{media-id}?fields=is_reply_owned_by_me",
        "POST /{reply-id}/manage_reply",
    ),
)


class ThreadsAdapter(_GraphAdapter):
    info = THREADS_INFO
    base_url = THREADS

    async def verify(self, credentials: Any = None) -> Identity:
        token = (credentials or self.credentials).get("access_token") or self.token
        data = await self.http.json("GET", "/me", params={"fields": "id,username"}, token=token)
        if credentials is None:
            self.credentials.setdefault("user_id", str(data["id"]))
        return Identity(user_id=str(data["id"]), handle=str(data.get("username", "")))

    async def _uid(self) -> str:
        if not self.credentials.get("user_id"):
            await self.verify()
        return self.credentials["user_id"]

    async def list_posts(self, cursor: str | None = None, limit: int = 50) -> TimelinePage:
        params = {"fields": "id,text,timestamp,permalink", "limit": min(limit, 100)}
        data = await self.api("GET", api_path(await self._uid(), "threads"), params=params)
        posts = [
            Post(
                post_id=str(t["id"]),
                text=str(t.get("text", "")),
                created_at=normalise_time(str(t.get("timestamp", ""))),
                url=str(t.get("permalink", "")),
            )
            for t in data.get("data", [])
        ]
        return page_since(posts, cursor, limit)

    async def publish(self, text: str) -> Post:
        return await self._thread({"media_type": "TEXT", "text": text})

    async def reply(self, post_id: str, text: str) -> Post:
        return await self._thread({"media_type": "TEXT", "text": text, "reply_to_id": post_id})

    async def _thread(self, form: dict[str, str]) -> Post:
        uid = await self._uid()
        container = await self.api("POST", api_path(uid, "threads"), data=form)
        data = await self.api(
            "POST", api_path(uid, "threads_publish"), data={"creation_id": str(container["id"])}
        )
        return Post(post_id=str(data["id"]), text=form["text"], created_at="")

    async def list_comments(self, post_id: str, limit: int = 50) -> list[Comment]:
        params = {
            "fields": "id,text,username,timestamp,permalink,hide_status,is_reply_owned_by_me,replied_to",
            "limit": min(limit, 100),
        }
        data = await self.api("GET", api_path(post_id, "replies"), params=params)
        return [
            Comment(
                comment_id=str(r["id"]),
                text=str(r.get("text", "")),
                author=str(r.get("username", "")),
                created_at=normalise_time(str(r.get("timestamp", ""))),
                parent_id=str((r.get("replied_to") or {}).get("id") or post_id),
                hidden=r.get("hide_status") == "HIDDEN",
                own=bool(r.get("is_reply_owned_by_me")),
                url=str(r.get("permalink", "")),
            )
            for r in data.get("data", [])[:limit]
        ]

    async def hide_comment(self, comment_id: str, hidden: bool = True) -> None:
        await self.api(
            "POST", api_path(comment_id, "manage_reply"), data={"hide": "true" if hidden else "false"}
        )

    async def delete_comment(self, comment_id: str) -> None:
        try:
            data = await self.api("GET", api_path(comment_id), params={"fields": "id,is_reply_owned_by_me"})
        except PlatformNotFound:
            return
        if not data.get("is_reply_owned_by_me"):
            raise not_own(self, comment_id, "hide the reply instead")
        await self._delete(comment_id)

    async def delete_post(self, post_id: str) -> None:
        await self._delete(post_id)

    async def rotate_credential(self) -> dict[str, str]:
        data = await self.api(
            "GET",
            "/refresh_access_token",
            params={"grant_type": "th_refresh_token", "access_token": self.token},
        )
        token = str(data["access_token"])
        register_secret(token)
        await self.verify({"access_token": token})
        changed = {"access_token": token, "expires_in": str(data.get("expires_in", ""))}
        self.credentials.update(changed)
        return changed
