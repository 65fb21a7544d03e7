"""Adapter for the sandbox platform (``sentinel.platforms.sandbox_server``).

The sandbox offers every capability, so it drives demos and end-to-end tests of the whole
response loop. Credentials: ``identifier`` (handle), ``password``, optional ``app_password``
and ``app_password_name``, and ``service`` (the sandbox URL) unless ``base_url`` is given.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from sentinel.errors import PlatformError
from sentinel.platforms.base import (
    AdapterBase,
    AppPassword,
    Capability,
    Comment,
    Identity,
    PlatformInfo,
    Post,
    Push,
    RateLimit,
    RateLimits,
    TimelinePage,
    state_snapshot,
)
from sentinel.platforms.errors import PlatformAuthFailed, PlatformLocked, PlatformNotFound, PlatformRejected
from sentinel.platforms.http import api_path
from sentinel.platforms.post_length import TextLimit
from sentinel.redact import register_secret

DEFAULT_SERVICE = "http://127.0.0.1:8480"

INFO = PlatformInfo(
    platform="sandbox",
    text_limit=TextLimit(
        5_000,
        "characters",
        "sentinel/platforms/sandbox_server.py (MAX_TEXT)",
        note="the local demo platform; it refuses a longer post as the real ones do",
    ),
    renews="app_password",
    push=frozenset({Push.STREAM}),
    capabilities=frozenset(Capability),
    state_fields=frozenset({"handle", "display_name", "bio", "links", "email", "two_factor", "app_password"}),
    limits=RateLimits(
        delete=RateLimit(30, 1800, "sandbox: mirrors Mastodon's 30 deletes per 30 min"),
        write=RateLimit(300, 10800, "sandbox"),
        read=RateLimit(300, 300, "sandbox"),
        poll_interval=30.0,
    ),
    endpoints=(
        "POST /api/sessions",
        "GET /api/session",
        "DELETE /api/sessions",
        "GET /api/accounts/{handle}/posts",
        "POST /api/posts",
        "DELETE /api/posts/{id}",
        "GET /api/posts/{id}/replies",
        "POST /api/posts/{id}/hide",
        "GET|POST /api/app-passwords",
        "DELETE /api/app-passwords/{name}",
        "POST /api/password",
        "POST /api/lock",
        "POST /api/unlock",
        "GET|PATCH /api/profile",
    ),
)


def _locked_hook(response: httpx.Response, message: str) -> PlatformError | None:
    if response.status_code == 423:
        return PlatformLocked(message)
    if response.status_code == 403 and any(k in response.text for k in ("NotAuthor", "NotModerator")):
        return PlatformRejected(message)  # not the account's to moderate: logging in again won't help
    return None


class SandboxAdapter(AdapterBase):
    info = INFO
    default_timeout = 10.0

    def __init__(self, account: str, credentials: Mapping[str, str], **options: Any) -> None:
        super().__init__(account, credentials, **options)
        self._tokens: dict[str, str] = {}

    def api_root(self, base_url: str | None) -> str:
        self.service = (base_url or self.credentials.get("service") or DEFAULT_SERVICE).rstrip("/")
        return self.service

    def classify(self, response: httpx.Response, message: str) -> PlatformError | None:
        return _locked_hook(response, message)

    @property
    def handle(self) -> str:
        handle = self.credentials.get("identifier", "")
        if not handle:
            raise PlatformAuthFailed(f"account {self.account!r} on sandbox: credential has no 'identifier'")
        return handle

    async def _login(self, password: str) -> dict[str, Any]:
        data: dict[str, Any] = await self.http.json(
            "POST", "/api/sessions", json={"handle": self.handle, "password": password}
        )
        register_secret(str(data["token"]))
        return data

    def _key(self, kind: str) -> str:
        return "app" if kind == "app" and self.credentials.get("app_password") else "main"

    async def _token(self, kind: str) -> str:
        key = self._key(kind)
        if key not in self._tokens:
            secret = self.credentials.get("app_password" if key == "app" else "password", "")
            if not secret:
                raise PlatformAuthFailed(
                    f"account {self.account!r} on sandbox: this step needs the main password"
                )
            self._tokens[key] = str((await self._login(secret))["token"])
        return self._tokens[key]

    async def _call(self, kind: str, method: str, path: str, **kwargs: Any) -> Any:
        token = await self._token(kind)
        try:
            return await self.http.json(method, path, token=token, **kwargs)
        except PlatformAuthFailed:
            # The session may have been ended (password change, revocation): log in once more.
            self._tokens.pop(self._key(kind), None)
            token = await self._token(kind)
            return await self.http.json(method, path, token=token, **kwargs)

    async def verify(self, credentials: Mapping[str, str] | None = None) -> Identity:
        creds = credentials if credentials is not None else self.credentials
        secret = creds.get("app_password") or creds.get("password") or ""
        register_secret(secret)
        data = await self._login(secret)
        if credentials is not None:
            await self.http.request("DELETE", "/api/session", token=str(data["token"]))
        return Identity(
            user_id=str(data["handle"]), handle=str(data["handle"]), active=not data.get("locked")
        )

    async def list_posts(self, cursor: str | None = None, limit: int = 50) -> TimelinePage:
        params: dict[str, Any] = {"limit": max(1, min(limit, 100))}
        if cursor is not None:
            params["since"] = cursor or "0"
        data = await self.http.json("GET", api_path("api", "accounts", self.handle, "posts"), params=params)
        posts = tuple(
            Post(
                post_id=str(p["id"]),
                text=str(p["text"]),
                created_at=str(p["created_at"]),
                client=str(p["client"]),
            )
            for p in data.get("posts", [])
        )
        return TimelinePage(
            posts=posts,
            cursor=str(data.get("cursor", "0")),
            more=cursor is not None and len(posts) >= params["limit"],
        )

    async def publish(self, text: str, client: str = "Sentinel") -> Post:
        return _post(await self._call("app", "POST", "/api/posts", json={"text": text, "client": client}))

    async def reply(self, post_id: str, text: str) -> Post:
        body = {"text": text, "client": "Sentinel", "reply_to": post_id}
        return _post(await self._call("app", "POST", "/api/posts", json=body))

    async def list_comments(self, post_id: str, limit: int = 50) -> list[Comment]:
        data = await self.http.json("GET", api_path("api", "posts", post_id, "replies"))
        return [
            Comment(
                comment_id=str(p["id"]),
                text=str(p["text"]),
                author=str(p.get("author", "")),
                created_at=str(p["created_at"]),
                parent_id=post_id,
                hidden=bool(p.get("hidden")),
                own=p.get("author") == self.handle,
            )
            for p in data.get("replies", [])[:limit]
        ]

    async def hide_comment(self, comment_id: str, hidden: bool = True) -> None:
        await self._call("app", "POST", api_path("api", "posts", comment_id, "hide"), json={"hidden": hidden})

    async def delete_comment(self, comment_id: str) -> None:
        await self.delete_post(comment_id)

    async def delete_post(self, post_id: str) -> None:
        try:
            await self._call("app", "DELETE", api_path("api", "posts", post_id))
        except PlatformNotFound:
            return  # already gone

    async def revoke_sessions(self) -> None:
        for app in await self.list_app_passwords():
            await self.revoke_app_password(app.name)
        await self._call("main", "DELETE", "/api/sessions")

    async def create_app_password(self, name: str) -> AppPassword:
        data = await self._call("main", "POST", "/api/app-passwords", json={"name": name})
        register_secret(str(data["password"]))
        return AppPassword(
            name=str(data["name"]), created_at=str(data["created_at"]), secret=str(data["password"])
        )

    async def list_app_passwords(self) -> list[AppPassword]:
        data = await self._call("main", "GET", "/api/app-passwords")
        return [
            AppPassword(name=str(a["name"]), created_at=str(a["created_at"])) for a in data["app_passwords"]
        ]

    async def revoke_app_password(self, name: str) -> None:
        await self._call("main", "DELETE", api_path("api", "app-passwords", name))

    async def rotate_credential(self) -> dict[str, str]:
        """New app password, verified, then the old one revoked (like Bluesky)."""
        name = f"sentinel-{int(time.time() * 1000)}"
        created = await self.create_app_password(name)
        try:
            await self.verify({"app_password": created.secret})
        except PlatformError:
            await self.revoke_app_password(name)
            raise
        old = self.credentials.get("app_password_name")
        if old and old != name:
            await self.revoke_app_password(old)
        self.credentials.update({"app_password": created.secret, "app_password_name": name})
        self._tokens.pop("app", None)
        return {"app_password": created.secret, "app_password_name": name}

    async def change_password(self, new_password: str) -> None:
        register_secret(new_password)
        await self._call(
            "main",
            "POST",
            "/api/password",
            json={"current": self.credentials.get("password", ""), "new": new_password},
        )
        self.credentials["password"] = new_password

    async def lock(self) -> None:
        await self._call("main", "POST", "/api/lock")

    async def unlock(self) -> None:
        await self._call("main", "POST", "/api/unlock")

    async def account_state(self) -> dict[str, Any]:
        data = await self._call("main", "GET", "/api/profile")
        return state_snapshot(
            INFO,
            handle=data.get("handle"),
            display_name=data.get("display_name"),
            bio=data.get("bio"),
            links=data.get("links"),
            email=data.get("email"),
            two_factor=data.get("two_factor") or "off",
            app_password=data.get("app_passwords"),
        )


def _post(p: Mapping[str, Any]) -> Post:
    return Post(
        post_id=str(p["id"]),
        text=str(p["text"]),
        created_at=str(p["created_at"]),
        client=str(p["client"]),
    )
