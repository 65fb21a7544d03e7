"""Account events: parsing (every error names the field) and recognising Sentinel's own changes."""

from __future__ import annotations

from typing import Any

import pytest

from sentinel.engine.account_events import parse_account_event
from sentinel.engine.events import EventError
from sentinel.engine.takeover_settings import TakeoverSettings

BASE: dict[str, Any] = {
    "kind": "account",
    "id": "a1",
    "ts": "2026-05-02T06:21:31Z",
    "account": "x",
    "field": "app_password",
    "old": None,
    "new": "graysky",
    "ip": "192.0.2.171",
    "client": "bsky.app",
}


def test_parse_and_list_semantics() -> None:
    ev = parse_account_event(BASE)
    assert ev.added and not ev.removed and ev.item == "graysky" and ev.iso == BASE["ts"]
    gone = parse_account_event({**BASE, "old": "graysky", "new": None})
    assert gone.removed and not gone.added and gone.item == "graysky"
    handle = parse_account_event({**BASE, "field": "handle", "old": "@a", "new": "@b"})
    assert not handle.added and not handle.removed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"field": "karma"}, "field 'field' must be one of"),
        ({"ts": "yesterday"}, "'ts' must be a UTC time"),
        ({"account": ""}, "field 'account' must not be empty"),
        ({"ip": 7}, "field 'ip' must be a string"),
        ({"old": None, "new": None}, "'old' and 'new' must not both be null"),
        ({"field": "did", "old": "did:plc:x", "new": None}, "field 'old' of a 'did' change"),
    ],
)
def test_malformed_events_name_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(EventError, match=message):
        parse_account_event({**BASE, **change})


def test_missing_field_is_named() -> None:
    raw = dict(BASE)
    del raw["new"]
    with pytest.raises(EventError, match="missing required field 'new'"):
        parse_account_event(raw)


def test_sentinels_own_changes_are_recognised_by_configuration() -> None:
    g = TakeoverSettings()
    own = parse_account_event({**BASE, "new": "sentinel-0506a", "client": "Sentinel", "ip": "198.51.100.250"})
    assert own.own(g)
    assert not parse_account_event({**BASE, "new": "sentinel-0506a"}).own(g)  # another client
    assert not parse_account_event({**BASE, "client": "Sentinel"}).own(g)  # not its name
    assert not own.own(TakeoverSettings(own_addresses=("198.51.100.1",)))  # not its egress
    assert own.own(TakeoverSettings(own_addresses=("198.51.100.250",)))
    unaddressed = parse_account_event({**BASE, "new": "sentinel-0506a", "client": "Sentinel", "ip": None})
    assert unaddressed.own(TakeoverSettings(own_addresses=("198.51.100.250",)))  # the platform shows none
    assert not own.own(TakeoverSettings(own_clients=()))
    locked = parse_account_event(
        {**BASE, "field": "two_factor", "old": "off", "new": "totp", "client": "Sentinel"}
    )
    assert locked.own(g)  # the responder's lockdown (no named item)
