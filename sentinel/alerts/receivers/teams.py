"""Microsoft Teams through a Workflows ("When a Teams webhook request is received") webhook.

Body: ``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <AdaptiveCard 1.4>}]}``. Teams
rejects messages over about 28 KB, so the card is shrunk to fit. (The old Office 365
connector ``MessageCard`` format is retired and not supported.)
"""

from __future__ import annotations

from typing import Any

from sentinel.alerts.receivers.base import Receiver, fit
from sentinel.alerts.render import Message, truncate

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_BYTES = 27_000
TITLE_COLOURS = {"critical": "Attention", "error": "Attention", "warning": "Warning", "info": "Accent"}


class TeamsReceiver(Receiver):
    type = "teams"
    max_chars = 8000

    def render(self, message: Message) -> dict[str, Any]:
        return fit(lambda cap: self._render(message, min(cap, self.limit)), MAX_BYTES, self.limit)

    def _render(self, m: Message, cap: int) -> dict[str, Any]:
        colour = "Good" if m.status == "resolved" else TITLE_COLOURS.get(m.severity, "Default")
        body: list[dict[str, Any]] = [
            {
                "type": "TextBlock",
                "text": truncate(m.headline, 400),
                "weight": "Bolder",
                "size": "Medium",
                "color": colour,
                "wrap": True,
            },
            {
                "type": "FactSet",
                "facts": [
                    {"title": "Status", "value": m.status_label},
                    {"title": "Incident", "value": truncate(m.incident_key, 200)},
                ],
            },
        ]
        for s in m.sections:
            body.append(
                {
                    "type": "TextBlock",
                    "text": s.heading,
                    "weight": "Bolder",
                    "wrap": True,
                    "spacing": "Medium",
                }
            )
            body.append({"type": "TextBlock", "text": truncate("\n\n".join(s.lines), cap), "wrap": True})
        if m.commands:
            body.append({"type": "TextBlock", "text": "What to do next", "weight": "Bolder", "wrap": True})
            body.append(
                {
                    "type": "TextBlock",
                    "text": truncate("\n\n".join(m.commands), cap),
                    "fontType": "Monospace",
                    "wrap": True,
                }
            )
        body.append(
            {
                "type": "TextBlock",
                "text": truncate(m.footer, 400),
                "isSubtle": True,
                "size": "Small",
                "wrap": True,
            }
        )
        card: dict[str, Any] = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "msteams": {"width": "Full"},
            "body": body,
        }
        if m.links:
            card["actions"] = [{"type": "Action.OpenUrl", "title": t, "url": u} for t, u in m.links]
        return {
            "type": "message",
            "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}],
        }
