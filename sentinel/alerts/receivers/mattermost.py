"""Mattermost incoming webhooks.

Body: ``{"text": markdown, "username": ..., "attachments": [{"fallback", "color", "title",
"text", "footer"}]}``. A post holds at most 16,383 characters; quoted text has ``@channel``
style mentions neutralised before it gets here.
"""

from __future__ import annotations

from typing import Any

from sentinel.alerts.receivers.base import Receiver, colour, markdown
from sentinel.alerts.render import Message, truncate


class MattermostReceiver(Receiver):
    type = "mattermost"
    max_chars = 16_383

    def render(self, message: Message) -> dict[str, Any]:
        text = markdown(message, self.limit - 200)
        return {
            "username": self.settings.username,
            "text": truncate(f"#### {message.headline}", 200),
            "attachments": [
                {
                    "fallback": truncate(message.headline, 200),
                    "color": colour(message),
                    "text": text,
                }
            ],
        }
