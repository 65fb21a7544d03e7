"""Fixtures for the alert tests: a real local HTTP receiver, a fake clock, an outbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sentinel.alerts.outbox import AlertOutbox
from sentinel.alerts.settings import AlertsSettings, ReceiverSettings
from sentinel.settings import build_section
from sentinel.store import Store
from tests.alerts.httpreceiver import HttpReceiver
from tests.alerts.synapse import synapse  # noqa: F401  (session fixture: a real Matrix homeserver)


class FakeClock:
    """Seconds since the epoch that move only when told to."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def http_receiver_server() -> Iterator[HttpReceiver]:
    server = HttpReceiver().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http_receiver(http_receiver_server: HttpReceiver) -> Iterator[HttpReceiver]:
    http_receiver_server.reset()
    yield http_receiver_server
    http_receiver_server.reset()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "state.sqlite3")
    try:
        yield s
    finally:
        s.close()


def alerts_settings(raw: dict[str, Any]) -> AlertsSettings:
    """``[alerts]`` from a dict, through the same validation as the config file."""
    return build_section(AlertsSettings, raw, "alerts")


def receiver_settings(**raw: Any) -> ReceiverSettings:
    return build_section(ReceiverSettings, raw, "alerts.receivers.test")


def make_outbox(store: Store, clock: FakeClock, raw: dict[str, Any], **kw: Any) -> AlertOutbox:
    return AlertOutbox(store, alerts_settings(raw), clock=clock, **kw)
