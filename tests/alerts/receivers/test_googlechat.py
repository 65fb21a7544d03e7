from __future__ import annotations

from sentinel.alerts.receivers.googlechat import GoogleChatReceiver
from sentinel.alerts.render import Message
from tests.alerts.conftest import receiver_settings
from tests.alerts.receivers.conftest import Capture

URL = "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=KEYKEYKEY&token=TOKTOKTOK"


def gchat() -> GoogleChatReceiver:
    return GoogleChatReceiver("gc", receiver_settings(type="googlechat", url=URL), url=URL)


def test_text_and_thread(message: Message, resolved_message: Message) -> None:
    body = gchat().render(message)
    assert body["text"].startswith("*[CRITICAL]")
    assert "<https://wiki.example.org/runbooks/hijack|Runbook>" in body["text"]
    assert body["thread"]["threadKey"].startswith("sentinel-")
    # Firing and resolved notices of one incident share a thread.
    assert gchat().render(resolved_message)["thread"] == body["thread"]


def test_limit(huge_message: Message) -> None:
    assert len(gchat().render(huge_message)["text"]) <= 4096


async def test_send_keeps_key_and_token_and_asks_for_threading(message: Message) -> None:
    cap = Capture()
    async with cap.client() as client:
        outcome = await gchat().send(client, gchat().render(message), "k")
    params = cap.requests[0].url.params
    assert outcome.delivered
    assert params["key"] == "KEYKEYKEY" and params["token"] == "TOKTOKTOK"
    assert params["messageReplyOption"] == "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
