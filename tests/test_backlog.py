"""Writes the store refused are kept in order, written late, and bounded."""

from __future__ import annotations

from sentinel.backlog import Backlog
from sentinel.errors import StoreError


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
