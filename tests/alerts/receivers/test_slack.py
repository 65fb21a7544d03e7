from __future__ import annotations

import httpx

from sentinel.alerts.receivers.slack import HEADER_LIMIT, SECTION_LIMIT, SlackReceiver
from sentinel.alerts.render import TRUNCATED, Message
from tests.alerts.conftest import receiver_settings
from tests.alerts.receivers.conftest import Capture

URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"


def slack() -> SlackReceiver:
    return SlackReceiver("chat", receiver_settings(type="slack", url=URL), url=URL)


def test_block_kit_shape(message: Message) -> None:
    body = slack().render(message)
    assert set(body) == {"text", "blocks"}
    blocks = body["blocks"]
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["type"] == "plain_text"
    assert len(blocks[0]["text"]["text"]) <= HEADER_LIMIT
    types = [b["type"] for b in blocks]
    assert types.count("section") >= 3 and "actions" in types and types[-1] == "context"
    assert len(blocks) <= 50
    text = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "hxxps://evil[.]com" in text and "https://evil.com" not in text
    assert "@everyone" not in text
    assert "brand-000" in text and "brand-039" in text
    assert 'sentinel unfreeze brand-000 --reason "..."' in text
    button = next(b for b in blocks if b["type"] == "actions")["elements"][0]
    assert button["url"] == "https://wiki.example.org/runbooks/hijack"


def test_text_is_escaped_so_quotes_cannot_make_links_or_mentions() -> None:
    from sentinel.alerts.model import Alert
    from sentinel.alerts.render import build_message

    a = Alert(kind="held_post", summary="held", post_excerpt="<!channel> <https://evil.com|click> & more")
    body = slack().render(build_message([a], "firing", "k"))
    text = str(body)
    assert "<!channel>" not in text and "<https" not in text and "&amp; more" in text


def test_sections_respect_limits_with_a_marker(huge_message: Message) -> None:
    body = slack().render(huge_message)
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    assert all(len(s) <= SECTION_LIMIT for s in sections)
    assert any(s.endswith(TRUNCATED) for s in sections)


async def test_send_posts_json_and_reads_retry_after(message: Message) -> None:
    cap = Capture(lambda r: httpx.Response(429, headers={"Retry-After": "7"}, text="rate_limited"))
    async with cap.client() as client:
        outcome = await slack().send(client, slack().render(message), "key-1")
    assert not outcome.delivered and not outcome.permanent and outcome.retry_after == 7
    assert cap.requests[0].url == URL and cap.requests[0].headers["content-type"] == "application/json"
    assert "XXXXXXXX" not in outcome.error


async def test_channel_archived_is_permanent(message: Message) -> None:
    cap = Capture(lambda r: httpx.Response(410, text="channel_is_archived"))
    async with cap.client() as client:
        outcome = await slack().send(client, slack().render(message), "k")
    assert outcome.permanent and "channel_is_archived" in outcome.error
