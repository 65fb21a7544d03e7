"""Delivery against a real HTTP receiver on 127.0.0.1 that answers 429, 500, hangs, or is down."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import itertools
import time
from typing import Any

import pytest
from structlog.testing import capture_logs

from sentinel.alerts.dispatcher import Dispatcher
from sentinel.alerts.model import Alert
from sentinel.alerts.outbox import AlertOutbox
from sentinel.alerts.receivers import build_receivers
from sentinel.metrics import ALERT_EVENTS, counted
from sentinel.store import Store
from tests.alerts.conftest import alerts_settings
from tests.alerts.httpreceiver import Hang, HttpReceiver, Reply
from tests.alerts.verify import verify

SECRET = "whsec_" + base64.b64encode(b"sentinel-test-signing-key-32byte").decode()


def config(url: str, **over: Any) -> dict[str, Any]:
    receivers = over.pop("receivers", None) or {
        "hook": {
            "type": "webhook",
            "url": f"{url}/hook",
            "token": SECRET,
            "timeout": "0.5s",
            "group_by": ["dedup_key"],
        }
    }
    return {
        "receivers": receivers,
        "group_wait": "0s",
        "group_interval": "0s",
        "backoff_initial": "0.05s",
        "backoff_max": "0.2s",
        "poll_interval": "0.1s",
        **over,
    }


def alert(n: int = 1, **kw: Any) -> Alert:
    return Alert(kind="held_post", summary=f"post {n} held", accounts=(f"acct-{n}",), rule="r", **kw)


async def until(predicate: Any, dispatcher: Dispatcher | None = None, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        if dispatcher is not None:
            await dispatcher.tick()
        await asyncio.sleep(0.02)


async def test_delivers_through_429_500_and_a_timeout(store: Store, http_receiver: HttpReceiver) -> None:
    http_receiver.on("/hook", Reply(429, {"Retry-After": "1"}, "slow down"), Reply(500, body="boom"), Hang(3))
    outbox = AlertOutbox(store, alerts_settings(config(http_receiver.url)))
    dispatcher = Dispatcher(outbox, build_receivers(outbox.settings))
    before = counted(ALERT_EVENTS, event="delivery_attempts_failed", receiver="hook")
    outbox.raise_alert(alert())
    try:
        await until(lambda: outbox.counts()["delivered"] == 1, dispatcher)
    finally:
        await dispatcher.stop()
    reqs = http_receiver.to("/hook")
    assert len(reqs) == 4
    assert [r.answered for r in reqs] == [429, 500, None, 200]
    assert len({r.headers["webhook-id"] for r in reqs}) == 1  # one idempotency key for every retry
    assert all(verify(SECRET, r.headers, r.body) for r in reqs)
    assert reqs[1].at - reqs[0].at >= 0.95  # Retry-After honoured
    assert http_receiver.accepted("/hook")[0].json()["data"]["alerts"][0]["summary"] == "post 1 held"
    d = outbox.deliveries("delivered")[0]
    assert d.attempts == 4 and d.last_error == ""
    assert counted(ALERT_EVENTS, event="delivery_attempts_failed", receiver="hook") == before + 3


async def test_a_rejected_payload_is_dead_lettered_with_a_log_line_and_a_metric(
    store: Store, http_receiver: HttpReceiver
) -> None:
    http_receiver.on("/hook", Reply(400, body="invalid_payload"))
    outbox = AlertOutbox(store, alerts_settings(config(http_receiver.url)))
    dispatcher = Dispatcher(outbox, build_receivers(outbox.settings))
    before = counted(ALERT_EVENTS, event="deliveries_dead_lettered", receiver="hook")
    outbox.raise_alert(alert())
    with capture_logs() as logs:
        await dispatcher.tick()
    dead = outbox.dead()
    assert len(dead) == 1 and "HTTP 400" in dead[0].last_error
    assert counted(ALERT_EVENTS, event="deliveries_dead_lettered", receiver="hook") == before + 1
    assert next(e for e in logs if e["event"] == "alert.dead_letter")["receiver"] == "hook"
    # Fixed on the receiver's side: retry brings it back and it goes through.
    assert outbox.retry([dead[0].id]) == 1
    await dispatcher.tick()
    await dispatcher.stop()
    assert outbox.counts()["delivered"] == 1 and outbox.dead() == []


async def test_a_delivery_failing_past_dead_after_goes_to_dead_letters(
    store: Store, http_receiver: HttpReceiver
) -> None:
    http_receiver.default = lambda _: Reply(503, body="down")
    outbox = AlertOutbox(store, alerts_settings(config(http_receiver.url, dead_after="0.5s")))
    dispatcher = Dispatcher(outbox, build_receivers(outbox.settings))
    outbox.raise_alert(alert())
    try:
        await until(lambda: outbox.counts()["dead"] == 1, dispatcher)
    finally:
        await dispatcher.stop()
    assert len(http_receiver.to("/hook")) >= 2
    assert "still failing" in outbox.dead()[0].last_error


async def test_rate_limit_spaces_messages_per_receiver(store: Store, http_receiver: HttpReceiver) -> None:
    receivers = {
        "chat": {
            "type": "slack",
            "url": f"{http_receiver.url}/slack",
            "min_interval": "0.3s",
            "group_by": ["account"],
        }
    }
    outbox = AlertOutbox(store, alerts_settings(config(http_receiver.url, receivers=receivers)))
    dispatcher = Dispatcher(outbox, build_receivers(outbox.settings))
    for n in range(3):
        outbox.raise_alert(alert(n))
    try:
        await until(lambda: outbox.counts()["delivered"] == 3, dispatcher)
    finally:
        await dispatcher.stop()
    times = [r.at for r in http_receiver.to("/slack")]
    assert len(times) == 3
    assert all(b - a >= 0.28 for a, b in itertools.pairwise(times))


async def test_the_loop_wakes_on_a_new_alert(store: Store, http_receiver: HttpReceiver) -> None:
    outbox = AlertOutbox(store, alerts_settings(config(http_receiver.url, poll_interval="60s")))
    dispatcher = Dispatcher(outbox, build_receivers(outbox.settings))
    await dispatcher.start()
    try:
        outbox.raise_alert(alert())
        await until(lambda: outbox.counts()["delivered"] == 1)  # the loop ran, now it waits 60 s
        outbox.raise_alert(alert(2))
        await until(lambda: outbox.counts()["delivered"] == 2, timeout=30)  # far sooner than 60 s
    finally:
        await dispatcher.stop()


async def test_stopped_with_alerts_pending_they_are_delivered_after_restart(
    store: Store, http_receiver: HttpReceiver
) -> None:
    http_receiver.default = lambda _: Reply(503, body="down")
    settings = alerts_settings(config(http_receiver.url))
    outbox = AlertOutbox(store, settings)
    dispatcher = Dispatcher(outbox, build_receivers(settings))
    await dispatcher.start()
    ids = [outbox.raise_alert(alert(n)).id for n in range(5)]
    await until(lambda: len(http_receiver.to("/hook")) >= 5)
    await dispatcher.stop()
    assert len(outbox.pending()) == 5 and outbox.counts()["delivered"] == 0
    store.close()

    http_receiver.default = lambda _: Reply(200)
    reopened = Store(store.path)
    try:
        outbox2 = AlertOutbox(reopened, settings)
        dispatcher2 = Dispatcher(outbox2, build_receivers(settings))
        await dispatcher2.start()
        try:
            await until(lambda: outbox2.counts()["delivered"] == 5)
        finally:
            await dispatcher2.stop()
    finally:
        reopened.close()
    got = [a["id"] for r in http_receiver.accepted("/hook") for a in r.json()["data"]["alerts"]]
    assert sorted(got) == sorted(ids)


@pytest.mark.parametrize("status", [401, 404])
async def test_permanent_statuses_are_not_retried(
    store: Store, http_receiver: HttpReceiver, status: int
) -> None:
    http_receiver.default = lambda _: Reply(status, body="no")
    outbox = AlertOutbox(store, alerts_settings(config(http_receiver.url)))
    dispatcher = Dispatcher(outbox, build_receivers(outbox.settings))
    outbox.raise_alert(alert())
    await dispatcher.tick()
    await dispatcher.tick()
    await dispatcher.stop()
    assert len(http_receiver.to("/hook")) == 1
    assert outbox.dead()[0].last_error.startswith(f"rejected: HTTP {status}")


async def test_an_alert_raised_from_another_thread_wakes_the_loop(
    store: Store, http_receiver: HttpReceiver
) -> None:
    outbox = AlertOutbox(store, alerts_settings(config(http_receiver.url, poll_interval="60s")))
    dispatcher = Dispatcher(outbox, build_receivers(outbox.settings))
    await dispatcher.start()
    try:
        outbox.raise_alert(alert())
        await until(lambda: outbox.counts()["delivered"] == 1)  # the loop ran, now it waits 60 s
        await asyncio.to_thread(outbox.raise_alert, alert(7))
        await until(lambda: outbox.counts()["delivered"] == 2, timeout=30)  # far sooner than 60 s
    finally:
        await dispatcher.stop()


async def test_one_failure_does_not_hold_up_the_rest(store: Store, http_receiver: HttpReceiver) -> None:
    http_receiver.on("/hook", Reply(500, body="hiccup"))
    outbox = AlertOutbox(
        store, alerts_settings(config(http_receiver.url, backoff_initial="5s", backoff_max="10s"))
    )
    dispatcher = Dispatcher(outbox, build_receivers(outbox.settings))
    outbox.raise_alert(alert(1))
    outbox.raise_alert(alert(2))
    await dispatcher.tick()
    await dispatcher.stop()
    assert [r.answered for r in http_receiver.to("/hook")] == [500, 200]
    assert outbox.counts()["delivered"] == 1 and len(outbox.pending()) == 1


async def test_a_receiver_that_is_down_is_not_hammered(store: Store, http_receiver: HttpReceiver) -> None:
    http_receiver.default = lambda _: Reply(503, body="down")
    outbox = AlertOutbox(
        store, alerts_settings(config(http_receiver.url, backoff_initial="5s", backoff_max="10s"))
    )
    dispatcher = Dispatcher(outbox, build_receivers(outbox.settings))
    for n in range(5):
        outbox.raise_alert(alert(n))
    await dispatcher.tick()
    await dispatcher.tick()
    await dispatcher.stop()
    assert len(http_receiver.to("/hook")) == 2  # two failures in a row: the receiver backs off
    assert len(outbox.pending()) == 5


async def test_a_critical_group_gaining_accounts_reaches_the_receiver_without_waiting_group_interval(
    store: Store, http_receiver: HttpReceiver
) -> None:
    settings = config(http_receiver.url, group_interval="1h", critical_interval="0s", poll_interval="60s")
    settings["receivers"]["hook"]["group_by"] = ["kind"]
    outbox = AlertOutbox(store, alerts_settings(settings))
    dispatcher = Dispatcher(outbox, build_receivers(outbox.settings))

    def freeze(account: str, severity: str = "critical") -> Alert:
        return Alert(kind="freeze", severity=severity, summary=f"{account} frozen", accounts=(account,))

    def accounts_sent() -> list[list[str]]:
        return [r.json()["data"]["accounts"] for r in http_receiver.accepted("/hook")]

    await dispatcher.start()
    try:
        outbox.raise_alert(freeze("acct-1"))
        await until(lambda: accounts_sent() == [["acct-1"]])
        outbox.raise_alert(freeze("acct-2"))  # the worm reached another account: sent now, not in an hour
        await until(lambda: accounts_sent() == [["acct-1"], ["acct-2"]])
        outbox.raise_alert(freeze("acct-3", severity="warning"))  # not critical: waits for group_interval
        again = dataclasses.replace(freeze("acct-2"), summary="acct-2 frozen again")
        outbox.raise_alert(again)  # critical, but about an account already reported: waits too
        flush_at = outbox.next_flush_at()
        assert flush_at is not None and flush_at > time.time() + 3000
        assert outbox.counts()["waiting"] == 2
    finally:
        await dispatcher.stop()
