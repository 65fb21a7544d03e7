"""Live updates: a server-sent event stream per signed-in page.

The stream asks the API (with the person's token, so they learn only of what they may
see) every ``poll`` seconds for what the overview shows — held posts waiting, open
incidents, the newest alerts — and sends a ``change`` event when any of it changed; the
page's script then fetches itself again and swaps its content. Asking the API rather than
listening inside the daemon also catches what a responder's CLI in another process did to
the shared state store.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from sentinel.console.api_client import SignedOut
from sentinel.console.sessions import Session

if TYPE_CHECKING:
    from sentinel.console.pages import Console

HEARTBEAT = 15.0


class Live:
    def __init__(self, console: Console, poll: float = 1.0) -> None:
        self.console = console
        self.poll = poll

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
        return StreamingResponse(
            self.events(session),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
