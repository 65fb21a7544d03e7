"""Live updates: a server-sent event stream per signed-in page.

The stream asks the API (with the person's token, so they learn only of what they may
see) every ``poll`` seconds for what the overview shows — held posts waiting, open
incidents, the newest alerts — and sends a ``change`` event when any of it changed; the
page's script then fetches itself again and swaps its content. Asking the API rather than
listening inside the daemon also catches what a responder's CLI in another process did to
the shared state store. One Vault identity keeps at most ``MAX_STREAMS`` streams open (more
are answered 429): each holds one of the server's ``[api] max_connections`` for as long as
it lasts, and a token allowed to sign in must not be able to take them all and leave the
gate answering 503 to everyone.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from sentinel.console.api_client import SignedOut
from sentinel.console.sessions import Session

if TYPE_CHECKING:
    from sentinel.console.pages import Console

HEARTBEAT = 15.0
MAX_STREAMS = 4
"""Live streams one Vault identity may hold open at once (a few browser tabs)."""


class Live:
    def __init__(self, console: Console, poll: float = 1.0, max_streams: int = MAX_STREAMS) -> None:
        self.console = console
        self.poll = poll
        self.max_streams = max_streams
        self.open: dict[str, int] = {}
        """Streams open per identity (the session's actor)."""

    async def snapshot(self, session: Session) -> dict[str, Any]:
        """What the person sees change: counts for the page and a digest of the details."""
        api, token = self.console.api, session.token
        held, incidents, alerts = await asyncio.gather(
            api.get(token, "/v1/held", status="held"),
            api.get(token, "/v1/incidents", status="open"),
            api.get(token, "/v1/alerts", limit="10"),
        )
        held_rows = held.body.get("held", []) if held.ok else []
        incident_rows = incidents.body.get("incidents", []) if incidents.ok else []
        alert_rows = alerts.body.get("alerts", []) if alerts.ok else []
        detail = json.dumps(
            [
                [h.get("id") for h in held_rows],
                [[i.get("id"), i.get("accounts")] for i in incident_rows],
                [[a.get("id"), a.get("status"), a.get("accounts")] for a in alert_rows],
            ],
            sort_keys=True,
        )
        return {
            "held": len(held_rows),
            "incidents": len(incident_rows),
            "alert": alert_rows[0].get("summary", "") if alert_rows else "",
            "digest": hashlib.sha256(detail.encode()).hexdigest()[:16],
        }

    async def events(self, session: Session) -> AsyncIterator[str]:
        last = ""
        quiet = 0.0
        while self.console.sessions.alive(session):
            try:
                snap = await self.snapshot(session)
            except SignedOut:
                yield "event: signedout\ndata: {}\n\n"
                return
            if snap["digest"] != last:
                kind = "hello" if not last else "change"
                last = snap["digest"]
                yield f"event: {kind}\ndata: {json.dumps(snap)}\n\n"
                quiet = 0.0
            elif quiet >= HEARTBEAT:
                yield ": keep-alive\n\n"
                quiet = 0.0
            await asyncio.sleep(self.poll)
            quiet += self.poll
        yield "event: signedout\ndata: {}\n\n"

    async def stream(self, request: Request, session: Session) -> Response:
        who = session.actor
        if self.open.get(who, 0) >= self.max_streams:
            return PlainTextResponse(
                f"{self.max_streams} live views are open for {who} already: close one",
                status_code=429,
                headers={"Cache-Control": "no-store"},
            )
        self.open[who] = self.open.get(who, 0) + 1
        return _Counted(
            self.events(session),
            lambda: self._closed(who),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    def _closed(self, who: str) -> None:
        left = self.open.get(who, 1) - 1
        if left > 0:
            self.open[who] = left
        else:
            self.open.pop(who, None)


class _Counted(StreamingResponse):
    """A stream that calls ``closed`` once it ends, however it ends (finished, the client
    gone before or during it, the server stopping)."""

    def __init__(self, content: AsyncIterator[str], closed: Callable[[], None], **kw: Any) -> None:
        super().__init__(content, **kw)
        self._on_close = closed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()
