from __future__ import annotations

from sentinel.alerts.receivers.mattermost import MattermostReceiver
from sentinel.alerts.render import Message
from tests.alerts.conftest import receiver_settings
from tests.alerts.receivers.conftest import Capture

URL = "https://chat.example.org/hooks/xxxgenerated-key-123"


def mm() -> MattermostReceiver:
    return MattermostReceiver(
        "mm", receiver_settings(type="mattermost", url=URL, username="Sentinel"), url=URL
    )


def test_incoming_webhook_shape(message: Message) -> None:
    body = mm().render(message)
    assert body["username"] == "Sentinel"
    assert body["text"].startswith("#### [CRITICAL]")
    (att,) = body["attachments"]
    assert att["color"] == "#B00020" and att["fallback"]
    assert "**What Sentinel did**" in att["text"] and "✘ platform_revoke FAILED" in att["text"]
    assert "@everyone" not in att["text"]
    assert "[Runbook](https://wiki.example.org/runbooks/hijack)" in att["text"]


def test_post_limit(huge_message: Message) -> None:
    assert len(mm().render(huge_message)["attachments"][0]["text"]) <= 16_383
    small = MattermostReceiver("mm", receiver_settings(type="mattermost", url=URL, max_chars=1200), url=URL)
    text = small.render(huge_message)["attachments"][0]["text"]
    assert len(text) <= 1200 and text.endswith("[truncated]")


async def test_send(message: Message) -> None:
    cap = Capture()
    async with cap.client() as client:
        outcome = await mm().send(client, mm().render(message), "k")
    assert outcome.delivered and str(cap.requests[0].url) == URL
