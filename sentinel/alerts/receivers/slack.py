"""Slack incoming webhooks with Block Kit.

Body: ``{"text": fallback, "blocks": [...]}``; a header block (plain text, 150 characters),
section blocks (mrkdwn, 3,000 characters each), an actions block with link buttons and a
context footer. Slack allows about one message per second per webhook and answers 429 with
``Retry-After`` when exceeded; ``&``, ``<`` and ``>`` are escaped so quoted text cannot
form links or ``<!channel>`` mentions.
"""

from __future__ import annotations

from typing import Any

from sentinel.alerts.receivers.base import Receiver, fit
from sentinel.alerts.render import Message, truncate

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
MAX_BYTES = 35_000


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackReceiver(Receiver):
    type = "slack"
    max_chars = SECTION_LIMIT

    def render(self, message: Message) -> dict[str, Any]:
        return fit(lambda cap: self._render(message, min(cap, self.limit)), MAX_BYTES, self.limit)

    def _render(self, m: Message, cap: int) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": truncate(m.headline, HEADER_LIMIT)}},
        ]
        for s in m.sections:
            text = f"*{escape(s.heading)}*\n" + escape("\n".join(s.lines))
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, cap)}})
        if m.commands:
            code = "*What to do next*\n```" + escape("\n".join(m.commands)) + "```"
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": truncate(code, cap)}})
        if m.links:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {"type": "button", "text": {"type": "plain_text", "text": t[:75]}, "url": u[:3000]}
                        for t, u in m.links
                    ],
                }
            )
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(escape(m.footer), cap)}]}
        )
        return {"text": truncate(escape(m.headline), cap), "blocks": blocks[:50]}
