"""Writes the store refused are kept in order, written late, and bounded."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import structlog

from sentinel.backlog import Backlog, Weight
from sentinel.errors import StoreError
from sentinel.metrics import BACKLOG_DROPS, counted

RANKS = {"critical": 0, "error": 1, "warning": 2, "info": 3}


def weigh(item: str) -> Weight:
    """Items named ``severity:name``."""
    severity = item.partition(":")[0]
    return Weight(item.partition(":")[2], severity, RANKS[severity])


class Store:
    def __init__(self) -> None:
        self.broken = False
        self.written: list[tuple[str, bool]] = []

    def write(self, item: str, late: bool) -> None:
        if self.broken:
            raise StoreError("database or disk is full")
        self.written.append((item, late))


def test_what_the_store_refused_is_written_first_and_marked_late() -> None:
    store = Store()
    backlog = Backlog(store.write, "test")
    assert backlog.submit("a")
    store.broken = True
    assert not backlog.submit("b") and not backlog.submit("c")
    assert not backlog.flush() and len(backlog) == 2
    store.broken = False
    assert backlog.submit("d")
    assert store.written == [("a", False), ("b", True), ("c", True), ("d", False)]
    assert len(backlog) == 0 and backlog.flush()


def test_past_the_limit_the_oldest_are_dropped() -> None:
    store = Store()
    backlog = Backlog(store.write, "test", limit=2)
    store.broken = True
    for item in "abc":
        backlog.submit(item)
    store.broken = False
    assert backlog.flush()
    assert [item for item, _ in store.written] == ["b", "c"]


def test_full_says_the_next_item_would_push_the_oldest_out() -> None:
    store = Store()
    backlog = Backlog(store.write, "test", limit=2)
    store.broken = True
    backlog.submit("a")
    assert not backlog.full
    backlog.submit("b")
    assert backlog.full
    store.broken = False
    assert backlog.flush() and not backlog.full


def test_a_full_backlog_drops_the_least_severe_oldest_first_never_a_critical_one() -> None:
    info_before = counted(BACKLOG_DROPS, what="weighed", severity="info")
    store, backlog, logs = held_while_broken(
        3, "critical:freeze", "info:one", "warning:w", "info:two", "critical:lockdown", "info:three"
    )
    store.broken = False
    assert backlog.flush()
    assert [item for item, _ in store.written] == ["critical:freeze", "warning:w", "critical:lockdown"]
    assert counted(BACKLOG_DROPS, what="weighed", severity="info") == info_before + 3
    drops = [e for e in logs if e["event"] == "weighed.held_dropped"]
    assert [(e["kind"], e["severity"], e["log_level"]) for e in drops] == [
        ("one", "info", "warning"),
        ("two", "info", "warning"),
        ("three", "info", "warning"),  # the newest, when it is the mildest of all
    ]
    assert backlog.take_lost() == []


def test_a_critical_item_is_dropped_only_from_a_backlog_of_criticals_and_said_loudly() -> None:
    critical_before = counted(BACKLOG_DROPS, what="weighed", severity="critical")
    store, backlog, logs = held_while_broken(2, "critical:freeze", "critical:contain", "critical:lockdown")
    assert counted(BACKLOG_DROPS, what="weighed", severity="critical") == critical_before + 1
    said = [e for e in logs if e["event"] == "weighed.critical_dropped"]
    assert len(said) == 1 and said[0]["log_level"] == "error" and said[0]["kind"] == "freeze"
    assert backlog.take_lost() == [Weight("freeze", "critical", 0)]
    assert backlog.take_lost() == []  # said once
    store.broken = False
    assert backlog.flush()
    assert [item for item, _ in store.written] == ["critical:contain", "critical:lockdown"]


def held_while_broken(limit: int, *items: str) -> tuple[Store, Backlog[str], list[MutableMapping[str, Any]]]:
    """A weighing backlog of ``limit`` given ``items`` while the store refuses; its log lines."""
    store = Store()
    backlog = Backlog(store.write, "weighed", limit=limit, describe=weigh)
    store.broken = True
    with structlog.testing.capture_logs() as logs:
        for item in items:
            backlog.submit(item)
    return store, backlog, logs
