"""End to end: an alert raised in Sentinel arrives in a room of a real Synapse homeserver."""

from __future__ import annotations

from typing import Any

import pytest

from sentinel.alerts.dispatcher import Dispatcher
from sentinel.alerts.model import Alert, Step
from sentinel.alerts.outbox import AlertOutbox
from sentinel.alerts.receivers import build_receivers
from sentinel.store import Store
from tests.alerts.conftest import alerts_settings
from tests.alerts.synapse import Synapse
from tests.waiting import wait_until

pytestmark = pytest.mark.synapse


async def test_alert_and_resolution_arrive_in_the_room_exactly_once(synapse: Synapse, store: Store) -> None:
    synapse.register("responder", "responder-pass-1", admin=True)
    synapse.register("sentinel-bot", "sentinel-bot-pass-1")
    human = synapse.login("responder", "responder-pass-1")
    bot = synapse.login("sentinel-bot", "sentinel-bot-pass-1")
    room = synapse.create_room(bot, alias="sentinel-alerts")
    synapse.join(bot, human, "@responder:sentinel.test", room)
    settings = alerts_settings(
        {
            "receivers": {
                "matrix": {
                    "type": "matrix",
                    "url": synapse.url,
                    "token": bot,
                    "room": "#sentinel-alerts:sentinel.test",
                }
            },
            "group_wait": "0s",
            "group_interval": "0s",
        }
    )
    outbox = AlertOutbox(store, settings, runbook_url="https://wiki.example.org/hijack")
    dispatcher = Dispatcher(outbox, build_receivers(settings))
    outbox.raise_alert(
        Alert(
            kind="freeze",
            severity="critical",
            summary="out-of-band post on brand-news",
            accounts=("brand-news",),
            rule="oob.unknown_client",
            post_excerpt="Giveaway! https://evil.com/claim",
            steps=(Step("gate_block", True), Step("rotate", True)),
            dedup_key="inc-1",
        )
    )
    try:
        await dispatcher.tick()
        delivery = outbox.deliveries("delivered")[0]
        # A retry after a lost answer reuses the transaction id: Synapse does not post twice.
        outcome = await dispatcher.receivers["matrix"].send(dispatcher.client, delivery.body, delivery.key)
        assert outcome.delivered
        outbox.resolve("inc-1", summary="brand-news unfrozen by alice")
        await dispatcher.tick()
    finally:
        await dispatcher.stop()

    def both() -> Any:
        events = synapse.messages(human, room)  # read as the responder, a member of the room
        return events if len(events) >= 2 else None

    events = wait_until("both messages in the room", both, every=0.1)
    bodies = [e["content"]["body"] for e in events]
    assert len(bodies) == 2, bodies
    assert bodies[0].startswith("[CRITICAL] Account frozen: out-of-band post on brand-news")
    assert "hxxps://evil[.]com/claim" in bodies[0] and "https://evil.com" not in bodies[0]
    assert 'sentinel unfreeze brand-news --reason "..."' in bodies[0]
    assert "https://wiki.example.org/hijack" in events[0]["content"]["formatted_body"]
    assert events[0]["content"]["msgtype"] == "m.notice"
    assert bodies[1].startswith("[RESOLVED] Resolved — Account frozen")
    assert {e["sender"] for e in events} == {"@sentinel-bot:sentinel.test"}
