from __future__ import annotations

import httpx

from sentinel.alerts.receivers.discord import EMBED_TOTAL, DiscordReceiver
from sentinel.alerts.render import Message
from tests.alerts.conftest import receiver_settings
from tests.alerts.receivers.conftest import Capture

URL = "https://discord.com/api/webhooks/123456/very-secret-webhook-token"


def discord() -> DiscordReceiver:
    return DiscordReceiver("dc", receiver_settings(type="discord", url=URL), url=URL)


def _embed_chars(embed: dict) -> int:  # type: ignore[type-arg]
    n = len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
    return n + sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])


def test_embed_shape_and_no_mentions(message: Message) -> None:
    body = discord().render(message)
    assert body["allowed_mentions"] == {"parse": []}
    assert len(body["content"]) <= 2000
    (embed,) = body["embeds"]
    assert embed["color"] == 0xB00020
    assert len(embed["title"]) <= 256 and len(embed["fields"]) <= 25
    assert all(len(f["value"]) <= 1024 and len(f["name"]) <= 256 for f in embed["fields"])
    assert _embed_chars(embed) <= EMBED_TOTAL
    assert "[Runbook](https://wiki.example.org/runbooks/hijack)" in embed["description"]


def test_huge_message_fits_the_6000_character_embed_limit(huge_message: Message) -> None:
    embed = discord().render(huge_message)["embeds"][0]
    assert _embed_chars(embed) <= EMBED_TOTAL
    assert any(f["value"].endswith("[truncated]") for f in embed["fields"])


async def test_wait_true_and_429_body_retry_after(message: Message) -> None:
    cap = Capture(
        lambda r: httpx.Response(
            429, json={"message": "You are being rate limited.", "retry_after": 0.75, "global": False}
        )
    )
    async with cap.client() as client:
        outcome = await discord().send(client, discord().render(message), "k")
    assert cap.requests[0].url.params["wait"] == "true"
    assert not outcome.delivered and outcome.retry_after == 0.75
    assert "very-secret-webhook-token" not in outcome.error
