"""The console's way to the API: in-process requests carrying the signed-in person's token.

Every page reads and every form acts through the API's own routes, so a person can do in
the console exactly what their Vault token lets them do through the API — the same
authentication, the same capability checks, the same four-eyes and step-up rules — and
nothing else. No request leaves the process.

The API sees such a request coming from the browser the console is serving (``OnBehalf``
wraps the console app; the client address of its request, as the server determined it, is
given to the in-process request): a person pasting junk tokens into the sign-in form counts
against their own address's failed authentications, not against everyone's.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

_BROWSER: ContextVar[tuple[str, int] | None] = ContextVar("sentinel_console_browser", default=None)


class OnBehalf:
    """ASGI middleware of the console: the API calls a request makes carry its client."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        reset = _BROWSER.set((str(client[0]), int(client[1])) if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            _BROWSER.reset(reset)


def _from_browser(api: ASGIApp) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        browser = _BROWSER.get()
        if browser is not None:
            scope = {**scope, "client": browser}
        await api(scope, receive, send)

    return app


class SignedOut(Exception):
    """Vault no longer accepts the session's token (expired or revoked)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def error(self) -> str:
        err = self.body.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err.get("code") or "the request failed")
        return str(err or f"the request failed ({self.status})")

    @property
    def code(self) -> str:
        err = self.body.get("error")
        return str(err.get("code", "")) if isinstance(err, dict) else ""


class ApiClient:
    def __init__(self, api: ASGIApp) -> None:
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=_from_browser(api)), base_url="http://sentinel.console"
        )

    async def call(
        self,
        token: str,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> Answer:
        resp = await self._client.request(
            method, path, params=params, json=json, headers={"X-Vault-Token": token}
        )
        if resp.status_code == 401:
            raise SignedOut
        try:
            body = resp.json()
        except ValueError:
            body = {}
        return Answer(resp.status_code, body if isinstance(body, dict) else {"items": body})

    async def get(self, token: str, path: str, **params: str) -> Answer:
        return await self.call(token, "GET", path, params=params or None)

    async def post(self, token: str, path: str, json: Mapping[str, Any]) -> Answer:
        return await self.call(token, "POST", path, json=json)

    async def aclose(self) -> None:
        await self._client.aclose()
