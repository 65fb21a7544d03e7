"""Discord webhooks with an embed.

Body: ``{"content", "username", "allowed_mentions": {"parse": []}, "embeds": [{"title"
(256), "description" (4,096), "color", "fields": [{"name" (256), "value" (1,024)}] (25),
"footer": {"text"} (2,048), "timestamp"}]}``, all embed text together at most 6,000
characters. ``?wait=true`` makes Discord answer only once the message is stored. A 429
carries ``retry_after`` (seconds) in its JSON body.
"""

from __future__ import annotations

from typing import Any

import httpx

from sentinel.alerts.receivers.base import Outcome, Receiver, colour
from sentinel.alerts.render import Message, truncate

EMBED_TOTAL = 6000


class DiscordReceiver(Receiver):
    type = "discord"
    max_chars = 4096

    def render(self, message: Message) -> dict[str, Any]:
        cap = 1024
        while True:
            embed = self._embed(message, cap)
            total = len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
            total += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
            if total <= EMBED_TOTAL or cap <= 64:
                break
            cap //= 2
        return {
            "username": self.settings.username,
            "content": truncate(message.headline, 2000),
            "allowed_mentions": {"parse": []},
            "embeds": [embed],
        }

    def _embed(self, m: Message, cap: int) -> dict[str, Any]:
        fields = [
            {
                "name": truncate(s.heading, 256),
                "value": truncate("\n".join(s.lines), min(cap, 1024)),
                "inline": False,
            }
            for s in m.sections
        ]
        if m.commands:
            commands = "\n".join(f"`{c}`" for c in m.commands)
            fields.append(
                {"name": "What to do next", "value": truncate(commands, min(cap, 1024)), "inline": False}
            )
        links = " · ".join(f"[{t}]({u})" for t, u in m.links)
        return {
            "title": truncate(m.title, 256),
            "description": truncate(links or m.status_label, min(self.limit, cap * 4)),
            "color": int(colour(m).lstrip("#"), 16),
            "fields": fields[:25],
            "footer": {"text": truncate(m.footer, 2048)},
        }

    async def send(self, client: httpx.AsyncClient, body: dict[str, Any], key: str) -> Outcome:
        sep = "&" if "?" in self.url else "?"
        return await self.post_json(client, f"{self.url}{sep}wait=true", body)

    def classify(self, response: httpx.Response) -> Outcome:
        outcome = super().classify(response)
        if response.status_code == 429:
            try:
                after = float(response.json().get("retry_after"))
            except (ValueError, TypeError, AttributeError):
                return outcome
            return Outcome(False, retry_after=after, error=outcome.error, status=429)
        return outcome
