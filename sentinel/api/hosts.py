"""The Host allow-list: the served API answers only requests addressed to a name it is known by.

A page on another site can point its own DNS name at 127.0.0.1 (DNS rebinding); the
browser then sends that page's requests to the daemon with ``Host: <the attacker's name>``
and lets the page read the answers. Checking the Host header against ``[api]
allowed_hosts`` (default: the bind host, ``localhost``, ``127.0.0.1``, ``[::1]``, plus the
host of ``[api] public_url``) refuses those requests with ``400 host_not_allowed`` before
any route, body or token is looked at. An entry matches a Host with any port, or only its
own port when it names one; ``*`` turns the check off (unsafe: only behind a proxy that
checks the Host itself).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from sentinel.api.errors import error_response
from sentinel.net import parse_host

_SHOWN = 100
"""A refused Host is quoted in the error up to this many characters."""


@dataclass(frozen=True)
class AllowedHosts:
    """The names (``port`` ``None``: any port) a request's Host header may carry."""

    entries: frozenset[tuple[str, int | None]]
    anything: bool = False

    @classmethod
    def of(cls, hosts: Iterable[str]) -> AllowedHosts:
        """From checked config entries (``ApiSettings.validate`` names a bad one)."""
        listed = list(hosts)
        parsed = {parse_host(h) for h in listed if h != "*"}
        return cls(frozenset(p for p in parsed if p is not None), anything="*" in listed)

    def allows(self, host: str) -> bool:
        if self.anything:
            return True
        parsed = parse_host(host)
        if parsed is None:
            return False
        name, port = parsed
        return (name, None) in self.entries or (port is not None and (name, port) in self.entries)


class HostGuard:
    """ASGI middleware: a request whose Host is not allowed gets ``400 host_not_allowed``."""

    def __init__(self, app: ASGIApp, allowed: AllowedHosts) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.allowed.anything:
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
        if host is not None and self.allowed.allows(host):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        shown = host if host is None or len(host) <= _SHOWN else host[:_SHOWN] + "..."
        message = (
            "the request has no Host header"
            if shown is None
            else f"Host {shown!r} is not one this daemon answers to (see [api] allowed_hosts)"
        )
        response = error_response("host_not_allowed", message, host=shown)
        response.headers["Cache-Control"] = "no-store"
        await response(scope, receive, send)
