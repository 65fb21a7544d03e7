"""What every receiver shares: rendering to a JSON body, sending it, reading the answer.

A receiver turns a ``Message`` into its service's JSON body (``render``, pure, run once
when the notification is created so every retry sends the same thing) and sends a body
(``send``) with an idempotency key that stays the same across retries. The answer
becomes an ``Outcome``: delivered, retry (maybe after a time the service asked for), or
permanent failure (the request itself is wrong; retrying cannot help).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from sentinel.alerts.model import Alert
from sentinel.alerts.render import Message, truncate
from sentinel.alerts.settings import ReceiverSettings
from sentinel.redact import scrub
from sentinel.retry import retry_after_seconds

RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
SEVERITY_COLOURS = {"critical": "#B00020", "error": "#E65100", "warning": "#F9A825", "info": "#1565C0"}
RESOLVED_COLOUR = "#2E7D32"


@dataclass(frozen=True, slots=True)
class Outcome:
    delivered: bool
    retry_after: float | None = None
    permanent: bool = False
    error: str = ""
    status: int | None = None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    return retry_after_seconds({"retry-after": value}, now) if value else None


def colour(message: Message) -> str:
    return (
        RESOLVED_COLOUR if message.status == "resolved" else SEVERITY_COLOURS.get(message.severity, "#607D8B")
    )


class Receiver(ABC):
    """One configured receiver (``[alerts.receivers.NAME]``) with its secrets resolved."""

    type: ClassVar[str]
    max_chars: ClassVar[int] = 40_000
    """The service's documented limit for the main text (``max_chars`` in config overrides it)."""

    def __init__(self, name: str, settings: ReceiverSettings, url: str = "", token: str = "") -> None:
        self.name = name
        self.settings = settings
        self.url = url
        self.token = token

    @property
    def limit(self) -> int:
        return self.settings.max_chars or self.max_chars

    @abstractmethod
    def render(self, message: Message) -> dict[str, Any]:
        """The service's JSON body for ``message`` (within its size limits)."""

    def render_for(self, message: Message, alerts: Sequence[Alert]) -> dict[str, Any]:
        """The body for one notification; receivers that carry the raw alerts override this."""
        return self.render(message)

    async def send(self, client: httpx.AsyncClient, body: dict[str, Any], key: str) -> Outcome:
        """Deliver ``body``; ``key`` is the same for every retry of one notification."""
        return await self.post_json(client, self.url, body)

    async def post_json(
        self, client: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> Outcome:
        return await self.request(client, "POST", url, encode(body), headers)

    async def request(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        content: bytes,
        headers: dict[str, str] | None = None,
    ) -> Outcome:
        all_headers = {"content-type": "application/json", **(headers or {})}
        timeout = (
            float(self.settings.timeout) if self.settings.timeout is not None else httpx.USE_CLIENT_DEFAULT
        )
        try:
            response = await client.request(
                method, url, content=content, headers=all_headers, timeout=timeout
            )
        except httpx.TimeoutException as e:
            return Outcome(False, error=f"timed out ({e.__class__.__name__})")
        except httpx.HTTPError as e:
            return Outcome(False, error=scrub(f"{e.__class__.__name__}: {e}"))
        return self.classify(response)

    def classify(self, response: httpx.Response) -> Outcome:
        status = response.status_code
        if 200 <= status < 300:
            return Outcome(True, status=status)
        snippet = scrub(" ".join(response.text[:200].split()))
        error = f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}"
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status in RETRYABLE_STATUS or status >= 500:
            return Outcome(False, retry_after=retry_after, error=error, status=status)
        return Outcome(False, permanent=True, error=error, status=status)


def fit(render: Callable[[int], dict[str, Any]], max_bytes: int, start: int = 4000) -> dict[str, Any]:
    """``render(cap)`` with the largest per-text cap (halving from ``start``) whose JSON fits ``max_bytes``."""
    cap = start
    while True:
        body = render(cap)
        if len(encode(body)) <= max_bytes or cap <= 100:
            return body
        cap //= 2


def encode(body: dict[str, Any]) -> bytes:
    """The exact bytes sent (and, for signed webhooks, signed)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def markdown(message: Message, limit: int, bold: str = "**", code: bool = True) -> str:
    """Markdown shared by Mattermost, Discord, Matrix and Google Chat (``bold`` differs)."""
    out: list[str] = []
    for s in message.sections:
        out.append(f"{bold}{s.heading}{bold}")
        out.extend(s.lines)
        out.append("")
    if message.commands:
        out.append(f"{bold}What to do next{bold}")
        out.extend(f"`{c}`" if code else c for c in message.commands)
        out.append("")
    if message.links:
        out.append(" · ".join(f"[{t}]({u})" for t, u in message.links))
    out.append(message.footer)
    return truncate("\n".join(out).strip(), limit)
