"""The keyword sink the responder and rotator call: freeze, worm, unfreeze, rotation failure."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sentinel.alerts.bridge import LOST_ALERTS_KEY, alert_from_kwargs, outbox_sink, sink_for
from sentinel.alerts.model import Alert
from sentinel.alerts.outbox import AlertOutbox
from sentinel.alerts.render import Message
from sentinel.config import parse_config
from sentinel.store import Store


def test_freeze_keywords_from_the_responder() -> None:
    alert, resolved = alert_from_kwargs(
        kind="freeze",
        severity="critical",
        summary="brand-x frozen: out-of-band post",
        accounts=["brand-x"],
        steps={"gate_block": "done", "vault_deny": "done", "platform_revoke": "failed", "lock": "todo"},
        todo=["disable the app password in the platform's settings"],
        failed=["platform_revoke: HTTP 502"],
        incident=42,
        automatic=True,
    )
    assert not resolved
    assert alert.dedup_key == "incident:42" and alert.incident_id == "42"
    assert [(s.name, s.ok, s.detail) for s in alert.steps] == [
        ("gate_block", True, ""),
        ("vault_deny", True, ""),
        ("platform_revoke", False, "HTTP 502"),
        ("lock", False, "todo"),
    ]
    assert alert.next_steps[0] == "sentinel incidents show 42"
    assert alert.next_steps[-1] == "# to do by hand: disable the app password in the platform's settings"
    assert alert.details == {"frozen by": "Sentinel (automatic)"}


def test_rotation_failure_keywords_from_the_rotator() -> None:
    alert, _ = alert_from_kwargs(
        kind="rotation_failed",
        severity="error",
        summary="rotation of brand-x password failed",
        accounts=("brand-x",),
        details={"credential": "password", "cancel": "sentinel rotate --cancel brand-x"},
        extra_thing=3,
    )
    assert alert.details == {
        "credential": "password",
        "cancel": "sentinel rotate --cancel brand-x",
        "extra_thing": "3",
    }
    assert alert.next_steps == ("sentinel rotate brand-x",)


def _cfg() -> Any:
    return parse_config(
        {
            "alerts": {
                "group_wait": "0s",
                "group_interval": "0s",
                "receivers": {
                    "chat": {"type": "slack", "url": "http://127.0.0.1:9/chat"},
                    "pager": {"type": "pagerduty", "token": "pd-key-bridge-0001"},
                },
            }
        }
    )


def _render(receiver: str, message: Message, alerts: Any) -> dict[str, Any]:
    return {"receiver": receiver, "status": message.status, "accounts": list(message.accounts)}


def test_unfreezing_one_account_of_a_worm_resolves_only_it_and_the_page_at_the_end(store: Store) -> None:
    sink = outbox_sink(_cfg(), store)
    for acct in ("a1", "a2"):
        sink(
            kind="freeze",
            severity="critical",
            summary=f"{acct} frozen",
            accounts=[acct],
            incident=7,
            automatic=True,
        )
    outbox = AlertOutbox.from_config(store, _cfg())
    outbox.flush_due(_render)
    sink(
        kind="unfreeze",
        severity="info",
        summary="a1 unfrozen by alice: false alarm",
        accounts=["a1"],
        incident=7,
        resolved=True,
    )
    outbox.flush_due(_render)
    resolved = [d for d in outbox.pending() if d.status == "resolved"]
    assert [(d.receiver, d.body["accounts"]) for d in resolved] == [("chat", ["a1"])]  # the page stays open
    sink(
        kind="unfreeze",
        severity="info",
        summary="a2 unfrozen by alice",
        accounts=["a2"],
        incident=7,
        resolved=True,
    )
    outbox.flush_due(_render)
    resolved = [d for d in outbox.pending() if d.status == "resolved"]
    assert sorted((d.receiver, tuple(d.body["accounts"])) for d in resolved) == [
        ("chat", ("a1",)),
        ("chat", ("a2",)),
        ("pager", ("a2",)),
    ]


def test_unfreeze_without_an_open_alert_is_still_said(store: Store) -> None:
    sink = outbox_sink(_cfg(), store)
    sink(kind="unfreeze", severity="info", summary="b unfrozen", accounts=["b"], incident=None, resolved=True)
    rows = store.query("SELECT kind, status FROM alerts")
    assert [(r["kind"], r["status"]) for r in rows] == [("unfreeze", "firing")]


def test_the_sink_never_raises(store: Store) -> None:
    sink = outbox_sink(_cfg(), store)
    store.close()
    sink(kind="freeze", summary="x", accounts=["a"])  # the store is closed: logged, not raised
    assert isinstance(alert_from_kwargs(kind="x")[0], Alert)


def test_an_alert_raised_while_the_store_cannot_be_written_is_committed_once_it_can(store: Store) -> None:
    # a full disk or another process's write lock must not lose a containment alert
    sink = outbox_sink(_cfg(), store)
    store.execute("PRAGMA busy_timeout = 50")
    locker = sqlite3.connect(str(store.path), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        sink(kind="contain", severity="critical", summary="Vault identity mallory contained", accounts=["a"])
        sink(kind="freeze", severity="critical", summary="a frozen: out-of-band post", accounts=["a"])
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert kinds(store) == []
    sink(kind="store_unwritable", severity="error", summary="the store was unwritable from ... to ...")
    assert kinds(store) == ["contain", "freeze", "store_unwritable"]  # in the order raised
    sink(kind="other", severity="info", summary="later")  # each committed once
    assert kinds(store) == ["contain", "freeze", "store_unwritable", "other"]


def test_a_full_backlog_drops_milder_alerts_before_a_freeze_or_containment(store: Store) -> None:
    sink = sink_for(AlertOutbox.from_config(store, _cfg()), limit=2)
    with locked(store):
        sink(kind="freeze", severity="critical", summary="a frozen", accounts=["a"])
        sink(kind="rule_file_error", severity="error", summary="rules unreadable")
        sink(kind="contain", severity="error", summary="identity contained", accounts=["a"])
        sink(kind="held_post", severity="warning", summary="held")
    sink(kind="store_unwritable", severity="warning", summary="was unwritable")
    assert kinds(store) == ["freeze", "contain", "store_unwritable"]


def test_critical_alerts_dropped_from_a_full_backlog_are_said_once_the_store_is_back(store: Store) -> None:
    sink = sink_for(AlertOutbox.from_config(store, _cfg()), limit=1)
    with locked(store):
        sink(kind="freeze", severity="critical", summary="a frozen", accounts=["a"])
        sink(kind="lockdown", severity="critical", summary="lockdown", accounts=["b"])
    sink(kind="store_unwritable", severity="warning", summary="was unwritable")
    assert kinds(store) == ["lockdown", "store_unwritable", "alerts_lost"]
    lost = store.query_one("SELECT * FROM alerts WHERE kind = 'alerts_lost'")
    assert lost is not None and lost["severity"] == "critical" and lost["dedup_key"] == LOST_ALERTS_KEY
    summary = json.loads(lost["body"])["summary"]
    assert "1 critical alert(s) were dropped" in summary and "freeze x1" in summary
    sink(kind="other", severity="info", summary="later")
    assert kinds(store) == ["lockdown", "store_unwritable", "alerts_lost", "other"]  # said once


@contextmanager
def locked(store: Store) -> Iterator[None]:
    """Another process holds the store's write lock (the store waits 50 ms for it)."""
    store.execute("PRAGMA busy_timeout = 50")
    locker = sqlite3.connect(str(store.path), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        locker.execute("ROLLBACK")
        locker.close()


def kinds(store: Store) -> list[str]:
    return [r["kind"] for r in store.query("SELECT kind FROM alerts ORDER BY seq")]
