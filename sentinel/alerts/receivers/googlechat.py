"""Google Chat incoming webhooks.

Body: ``{"text": ..., "thread": {"threadKey": incident}}`` posted with
``messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD``, so the firing notice, its
reminders and its resolution share one thread. Text uses Chat's formatting (``*bold*``,
`` `code` ``, ``<url|text>``) and is kept under 4,096 characters. A space accepts about one
message per second.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from sentinel.alerts.receivers.base import Outcome, Receiver
from sentinel.alerts.render import Message, truncate


class GoogleChatReceiver(Receiver):
    type = "googlechat"
    max_chars = 4096

    def render(self, message: Message) -> dict[str, Any]:
        out = [f"*{message.headline}*"]
        for s in message.sections:
            out.append(f"*{s.heading}*")
            out.extend(s.lines)
        if message.commands:
            out.append("*What to do next*")
            out.extend(f"`{c}`" for c in message.commands)
        out.extend(f"<{u}|{t}>" for t, u in message.links)
        out.append(message.footer)
        thread = hashlib.sha256(message.incident_key.encode()).hexdigest()[:32]
        return {"text": truncate("\n".join(out), self.limit), "thread": {"threadKey": f"sentinel-{thread}"}}

    async def send(self, client: httpx.AsyncClient, body: dict[str, Any], key: str) -> Outcome:
        sep = "&" if "?" in self.url else "?"
        url = f"{self.url}{sep}messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
        return await self.post_json(client, url, body)
