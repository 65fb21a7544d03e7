"""Matrix rooms through the client-server API.

``PUT {homeserver}/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{txnId}`` with
``Authorization: Bearer <access token>`` and an ``m.notice`` event (plain ``body`` plus
``org.matrix.custom.html``). The transaction id is the notification's idempotency key, so
a retry after a lost answer does not post twice. A room alias (``#room:server``) is
resolved once through ``/directory/room``. Events must stay under 64 KiB. A 429 carries
``retry_after_ms`` in its JSON body.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

import httpx

from sentinel.alerts.receivers.base import Outcome, Receiver, encode, fit
from sentinel.alerts.render import Message, truncate
from sentinel.redact import scrub

MAX_BYTES = 60_000


class MatrixReceiver(Receiver):
    type = "matrix"
    max_chars = 20_000

    _room_id: str | None = None

    def render(self, message: Message) -> dict[str, Any]:
        return fit(lambda cap: self._render(message, min(cap, self.limit)), MAX_BYTES, self.limit)

    def _render(self, m: Message, cap: int) -> dict[str, Any]:
        parts = [f"<h4>{html.escape(m.headline)}</h4>"]
        for s in m.sections:
            lines = "<br>".join(html.escape(x) for x in s.lines)
            parts.append(f"<p><b>{html.escape(s.heading)}</b><br>{truncate(lines, cap)}</p>")
        if m.commands:
            parts.append("<p><b>What to do next</b></p><pre><code>")
            parts.append(truncate(html.escape("\n".join(m.commands)), cap) + "</code></pre>")
        if m.links:
            parts.append(
                "<p>"
                + " · ".join(f'<a href="{html.escape(u)}">{html.escape(t)}</a>' for t, u in m.links)
                + "</p>"
            )
        parts.append(f"<p><small>{html.escape(m.footer)}</small></p>")
        return {
            "msgtype": "m.notice",
            "body": m.text(cap),
            "format": "org.matrix.custom.html",
            "formatted_body": "".join(parts),
        }

    @property
    def homeserver(self) -> str:
        return self.url.rstrip("/")

    def _auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    async def room_id(self, client: httpx.AsyncClient) -> str | Outcome:
        room = self.settings.room
        if room.startswith("!"):
            return room
        if self._room_id is None:
            url = f"{self.homeserver}/_matrix/client/v3/directory/room/{quote(room, safe='')}"
            try:
                response = await client.get(url, headers=self._auth())
            except httpx.HTTPError as e:
                return Outcome(False, error=scrub(f"resolving {room}: {e.__class__.__name__}: {e}"))
            if response.status_code != 200:
                return self.classify(response)
            self._room_id = str(response.json()["room_id"])
        return self._room_id

    async def send(self, client: httpx.AsyncClient, body: dict[str, Any], key: str) -> Outcome:
        room = await self.room_id(client)
        if isinstance(room, Outcome):
            return room
        url = (
            f"{self.homeserver}/_matrix/client/v3/rooms/{quote(room, safe='')}"
            f"/send/m.room.message/{quote(key, safe='')}"
        )
        return await self.request(client, "PUT", url, encode(body), self._auth())

    def classify(self, response: httpx.Response) -> Outcome:
        outcome = super().classify(response)
        if response.status_code == 429:
            try:
                after = float(response.json()["retry_after_ms"]) / 1000
            except (ValueError, TypeError, KeyError):
                return outcome
            return Outcome(False, retry_after=after, error=outcome.error, status=429)
        return outcome
