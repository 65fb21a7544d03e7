from __future__ import annotations

import json

import httpx

from sentinel.alerts.receivers.teams import CARD_CONTENT_TYPE, MAX_BYTES, TeamsReceiver
from sentinel.alerts.render import Message
from tests.alerts.conftest import receiver_settings
from tests.alerts.receivers.conftest import Capture

URL = (
    "https://prod-00.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=SECRETSIG"
)


def teams() -> TeamsReceiver:
    return TeamsReceiver("teams", receiver_settings(type="teams", url=URL), url=URL)


def test_workflows_adaptive_card_envelope(message: Message) -> None:
    body = teams().render(message)
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == CARD_CONTENT_TYPE == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["body"][0]["type"] == "TextBlock" and card["body"][0]["color"] == "Attention"
    assert card["body"][1]["type"] == "FactSet"
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Runbook", "url": "https://wiki.example.org/runbooks/hijack"}
    ]
    assert "hxxps://evil[.]com" in json.dumps(card)


def test_resolved_is_green(resolved_message: Message) -> None:
    card = teams().render(resolved_message)["attachments"][0]["content"]
    assert card["body"][0]["color"] == "Good" and card["body"][0]["text"].startswith("[RESOLVED]")


def test_card_fits_teams_size_limit(huge_message: Message) -> None:
    body = teams().render(huge_message)
    assert len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()) <= MAX_BYTES
    assert "[truncated]" in json.dumps(body, ensure_ascii=False)


async def test_send(message: Message) -> None:
    cap = Capture(lambda r: httpx.Response(202))
    async with cap.client() as client:
        outcome = await teams().send(client, teams().render(message), "k")
    assert outcome.delivered and cap.json()["type"] == "message"
