"""A generic JSON webhook signed the Standard Webhooks way.

Headers: ``webhook-id`` (the notification's idempotency key, the same on every retry),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature:
v1,<base64 HMAC-SHA256 over "{id}.{timestamp}.{body}">``. The secret is written
``whsec_<base64 key>``; a secret without that prefix is used as raw UTF-8 bytes. The
body is ``{"type", "timestamp", "data": {...}}``. ``type`` names the event the way
integrators subscribe to it: ``post.held``, ``account.frozen`` (a freeze or lockdown),
``account.unfrozen``, ``rotation.failed``; any other alert is ``alert.firing`` and every
resolved notice ``alert.resolved`` (see ``event_type``);
``data.alerts`` are the alerts as stored (scrubbed of secrets, links not defanged so
automation can read indicators; at most 200, ``data.alert_ids`` lists every one), and
``data.text`` the same message people see.
See docs/alerts.md for how a receiver verifies it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from sentinel.alerts.model import Alert
from sentinel.alerts.receivers.base import Outcome, Receiver, encode
from sentinel.alerts.render import Message
from sentinel.errors import ConfigError
from sentinel.redact import scrub_obj

SECRET_PREFIX = "whsec_"
MAX_ALERTS = 200
EVENT_TYPES = {
    "held_post": "post.held",
    "freeze": "account.frozen",
    "lockdown": "account.frozen",
    "unfreeze": "account.unfrozen",
    "rotation_failed": "rotation.failed",
}
"""Alert kinds integrators subscribe to, by their Standard Webhooks event ``type``."""


def event_type(kind: str, status: str) -> str:
    """The payload's ``type``: the integrator event for a firing alert of a known kind."""
    if status == "firing" and kind in EVENT_TYPES:
        return EVENT_TYPES[kind]
    return f"alert.{status}"


def secret_key(secret: str) -> bytes:
    """The HMAC key for a ``whsec_`` secret (or the raw bytes of any other string)."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError("webhook signing secret starts with whsec_ but is not valid base64") from None
    return secret.encode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, msg_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


class WebhookReceiver(Receiver):
    type = "webhook"
    max_chars = 100_000
    clock: Callable[[], float] = staticmethod(time.time)

    def render(self, message: Message) -> dict[str, Any]:
        return self.render_for(message, ())

    def render_for(self, message: Message, alerts: Sequence[Alert]) -> dict[str, Any]:
        data = [a.to_dict() for a in alerts[:MAX_ALERTS]]
        return {
            "type": event_type(message.kind, message.status),
            "timestamp": message.created_iso,
            "data": {
                "incident_key": message.incident_key,
                "status": message.status,
                "severity": message.severity,
                "kind": message.kind,
                "title": message.title,
                "repeat": message.repeat,
                "accounts": list(message.accounts),
                "text": message.text(self.limit),
                "commands": list(message.commands),
                "links": [{"text": t, "url": u} for t, u in message.links],
                "alert_ids": list(message.alert_ids),
                "alerts": scrub_obj(data),
                "alerts_truncated": len(alerts) > len(data),
            },
        }

    async def send(self, client: httpx.AsyncClient, body: dict[str, Any], key: str) -> Outcome:
        now = int(self.clock())
        payload = encode(body)
        headers = signed_headers(self.token, f"msg_{key}", payload, now)
        return await self.request(client, "POST", self.url, payload, headers)
