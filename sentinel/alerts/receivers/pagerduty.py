"""PagerDuty Events API v2.

``POST https://events.pagerduty.com/v2/enqueue`` with ``{"routing_key", "event_action":
"trigger" | "resolve", "dedup_key", "payload": {"summary" (1,024), "source", "severity",
"timestamp", "component", "group", "class", "custom_details"}, "links", "client"}``.
The dedup key is the incident key, so a repeated trigger updates the same incident and the
resolve sent on unfreeze closes it. The routing key is added only when sending: it is
never stored in the outbox. PagerDuty answers 202 and rejects events over 512 KB.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from sentinel.alerts.receivers.base import Outcome, Receiver, fit
from sentinel.alerts.render import Message, truncate
from sentinel.alerts.settings import PAGERDUTY_EVENTS_URL

MAX_BYTES = 500_000


def pd_dedup_key(incident_key: str) -> str:
    """PagerDuty dedup keys are at most 255 characters."""
    if len(incident_key) <= 255:
        return incident_key
    return incident_key[:190] + "#" + hashlib.sha256(incident_key.encode()).hexdigest()


class PagerDutyReceiver(Receiver):
    type = "pagerduty"
    max_chars = 1024

    @property
    def endpoint(self) -> str:
        return self.url or PAGERDUTY_EVENTS_URL

    def render(self, message: Message) -> dict[str, Any]:
        key = pd_dedup_key(message.incident_key)
        if message.status == "resolved":
            return {"event_action": "resolve", "dedup_key": key}
        return fit(lambda cap: self._trigger(message, key, cap), MAX_BYTES, 20_000)

    def _trigger(self, m: Message, key: str, cap: int) -> dict[str, Any]:
        details: dict[str, Any] = {s.heading: truncate("\n".join(s.lines), cap) for s in m.sections}
        if m.commands:
            details["What to do next"] = list(m.commands)
        details["alert_ids"] = list(m.alert_ids)
        return {
            "event_action": "trigger",
            "dedup_key": key,
            "payload": {
                "summary": truncate(m.title, self.limit),
                "source": "sentinel",
                "severity": m.severity,
                "timestamp": m.created_iso,
                "component": truncate(", ".join(m.accounts), 255) or "sentinel",
                "group": m.kind,
                "class": m.kind,
                "custom_details": details,
            },
            "links": [{"href": u, "text": t} for t, u in m.links],
            "client": "Sentinel",
        }

    async def send(self, client: httpx.AsyncClient, body: dict[str, Any], key: str) -> Outcome:
        return await self.post_json(client, self.endpoint, {"routing_key": self.token, **body})
