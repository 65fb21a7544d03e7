"""Account-event detectors on their own: what each one says, and what it leaves alone."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sentinel.engine.account_events import parse_account_event
from sentinel.engine.detectors.account import did_migration, many_changes, unfamiliar_change_source
from sentinel.engine.detectors.base import DETECTORS
from sentinel.engine.settings import EngineSettings
from sentinel.engine.state import AccountState
from sentinel.engine.takeover_context import AccountContext
from sentinel.engine.takeover_state import ChangeState
from sentinel.inventory import Account

ACCOUNT = Account(id="x", platform="bluesky", handle="@x", timezone="UTC", publishing="gated")
TS = "2026-05-02T06:21:31Z"


def ctx(
    field: str, old: Any, new: Any, changes: ChangeState | None = None, ip: str = "192.0.2.1"
) -> AccountContext:
    raw = {
        "kind": "account",
        "id": "a",
        "ts": TS,
        "account": "x",
        "field": field,
        "old": old,
        "new": new,
        "ip": ip,
    }
    return AccountContext(
        parse_account_event(raw),
        ACCOUNT,
        changes or ChangeState(),
        AccountState(),
        EngineSettings(),
        ZoneInfo("UTC"),
    )


def params(name: str, **kw: Any) -> dict[str, Any]:
    return DETECTORS[name].compile_params(kw)


def test_did_migration_names_what_moved() -> None:
    doc = {"id": "did:plc:a", "pds": "https://pds.example.com", "rotation_keys": ["did:key:1", "did:key:2"]}
    moved = {**doc, "pds": "https://evil.example.net"}
    hit = did_migration(ctx("did", doc, moved), params("did_migration"))
    assert hit is not None and "PDS https://pds.example.com -> https://evil.example.net" in hit[0]
    reordered = {**doc, "rotation_keys": ["did:key:2", "did:key:1"]}
    assert did_migration(ctx("did", doc, reordered), params("did_migration")) is None
    rekeyed = did_migration(ctx("did", doc, {**doc, "rotation_keys": ["did:key:9"]}), params("did_migration"))
    assert rekeyed is not None and rekeyed[0] == "rotation keys changed"
    assert did_migration(ctx("handle", "@a", "@b"), params("did_migration")) is None


def test_many_changes_counts_distinct_fields_and_ignores_sessions() -> None:
    t = datetime.fromisoformat(TS).timestamp()
    st = ChangeState(recent={"x": deque([(t - 60, "session"), (t - 60, "pinned_post"), (t - 30, "handle")])})
    assert many_changes(ctx("email", "a", "b", st), params("many_changes")) is None
    st.recent["x"].append((t - 20, "app_password"))
    hit = many_changes(ctx("email", "a", "b", st), params("many_changes"))
    assert hit is not None and hit[0].startswith("3 fields changed within 15 min")
    old = ChangeState(recent={"x": deque([(t - 1800, "handle"), (t - 1700, "app_password")])})
    assert many_changes(ctx("email", "a", "b", old), params("many_changes")) is None


def test_unfamiliar_source_waits_for_the_learning_period() -> None:
    t = datetime(2026, 5, 2, tzinfo=UTC).timestamp()
    young = ChangeState(first_ts=t - 86400)
    p = params("unfamiliar_change_source")
    assert unfamiliar_change_source(ctx("app_password", None, "g", young), p) is None
    grown = ChangeState(first_ts=t - 30 * 86400, sources={"203.0.113.200": t})
    assert unfamiliar_change_source(ctx("app_password", None, "g", grown), p) is not None
    assert unfamiliar_change_source(ctx("app_password", None, "g", grown, ip="203.0.113.200"), p) is None
    assert unfamiliar_change_source(ctx("app_password", "g", None, grown), p) is None  # a removal
    assert unfamiliar_change_source(ctx("bio", "a", "b", grown), p) is None
    assert unfamiliar_change_source(ctx("app_password", None, "g", grown, ip=""), p) is None
