from __future__ import annotations

import httpx

from sentinel.alerts.receivers.pagerduty import PagerDutyReceiver, pd_dedup_key
from sentinel.alerts.render import Message
from sentinel.alerts.settings import PAGERDUTY_EVENTS_URL
from tests.alerts.conftest import receiver_settings
from tests.alerts.receivers.conftest import Capture

KEY = "R0UTINGKEY0123456789abcdefabcdef"


def pd() -> PagerDutyReceiver:
    return PagerDutyReceiver("pager", receiver_settings(type="pagerduty", token=KEY), token=KEY)


def test_trigger_event_shape_without_the_routing_key(message: Message) -> None:
    body = pd().render(message)
    assert "routing_key" not in body  # the stored body never holds the key
    assert body["event_action"] == "trigger" and body["dedup_key"] == "inc-worm"
    p = body["payload"]
    assert p["severity"] == "critical" and p["source"] == "sentinel"
    assert len(p["summary"]) <= 1024 and p["timestamp"] == "2027-01-15T08:00:00Z"
    assert "What to do next" in p["custom_details"]
    assert body["links"] == [{"href": "https://wiki.example.org/runbooks/hijack", "text": "Runbook"}]


def test_resolve_event(resolved_message: Message) -> None:
    assert pd().render(resolved_message) == {"event_action": "resolve", "dedup_key": "inc-worm"}


def test_long_dedup_keys_are_shortened_stably() -> None:
    k = pd_dedup_key("x" * 400)
    assert len(k) <= 255 and k == pd_dedup_key("x" * 400) and k != pd_dedup_key("x" * 401)


async def test_send_adds_routing_key_and_posts_to_events_api(message: Message) -> None:
    cap = Capture(lambda r: httpx.Response(202, json={"status": "success", "dedup_key": "inc-worm"}))
    async with cap.client() as client:
        outcome = await pd().send(client, pd().render(message), "k")
    assert outcome.delivered
    assert str(cap.requests[0].url) == PAGERDUTY_EVENTS_URL == "https://events.pagerduty.com/v2/enqueue"
    sent = cap.json()
    assert sent["routing_key"] == KEY and sent["dedup_key"] == "inc-worm"


async def test_invalid_event_is_permanent(message: Message) -> None:
    cap = Capture(lambda r: httpx.Response(400, json={"status": "invalid event", "errors": ["x"]}))
    async with cap.client() as client:
        outcome = await pd().send(client, pd().render(message), "k")
    assert outcome.permanent
