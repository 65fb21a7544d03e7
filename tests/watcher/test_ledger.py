from __future__ import annotations

from pathlib import Path

import pytest

from sentinel.errors import StoreError
from sentinel.store import Store
from sentinel.watcher import PublishedLedger, native_post_id
from tests.waiting import wait_for

T0 = 1_772_359_200.0  # 2026-03-01T10:00:00Z


def ledger(tmp_path: Path) -> PublishedLedger:
    return PublishedLedger(Store(tmp_path / "s.sqlite3"))


def test_match_by_post_id_with_or_without_platform_prefix(tmp_path: Path) -> None:
    led = ledger(tmp_path)
    led.record("a1", "Hello", post_id="x:123", ts=T0, source="broker")
    assert led.match("a1", "123", "completely different text", T0 + 5000) == "post_id"
    assert led.match("a2", "123", "Hello", T0) is None  # another account


def test_match_by_normalised_text_within_window_once(tmp_path: Path) -> None:
    led = ledger(tmp_path)
    led.record("a1", "Big  NEWS:\ncheck https://northwind.com", ts=T0)
    assert led.match("a1", "p1", "big news: check https://northwind.com", T0 + 600) == "text"
    # One allowance covers one post: a copy posted again is out-of-band.
    assert led.match("a1", "p2", "big news: check https://northwind.com", T0 + 610) is None


def test_a_text_match_needs_the_same_links(tmp_path: Path) -> None:
    led = ledger(tmp_path)
    led.record("a1", "Our spring sale https://northwind.com/spring", ts=T0)
    # the approved words with another link: not this allowance (out-of-band on a gated account)
    assert (
        led.match("a1", "p1", "Our spring sale https://northwind.com.spring-sale.io/spring", T0 + 5) is None
    )
    assert led.match("a1", "p2", "Our spring sale https://northwind.com/Spring", T0 + 5) is None
    assert led.match("a1", "p3", "Our spring sale https://northwind.com/spring", T0 + 6) == "text"


def test_text_outside_window_does_not_match(tmp_path: Path) -> None:
    led = ledger(tmp_path)
    led.record("a1", "launch day", ts=T0)
    assert led.match("a1", "p1", "launch day", T0 + 901) is None
    assert led.match("a1", "p1", "launch day", "2026-03-01T10:14:00Z") == "text"


def test_broker_match_uses_up_the_gate_allowance_for_the_same_text(tmp_path: Path) -> None:
    led = ledger(tmp_path)
    led.record("a1", "same words", ts=T0)  # gate allowed
    led.record("a1", "same words", post_id="77", ts=T0 + 1, source="broker")
    assert led.match("a1", "77", "same words", T0 + 2) == "post_id"
    assert led.match("a1", "78", "same words", T0 + 3) is None


def test_native_post_id() -> None:
    assert native_post_id("bluesky:3abc") == "3abc"
    assert native_post_id("at://did:plc:x/app.bsky.feed.post/3abc") == "3abc"
    assert native_post_id("1234_99") == "1234_99"


async def test_in_the_event_loop_rows_are_written_together_and_seen_by_match(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    led = PublishedLedger(store, flush_delay=0.05)
    led.record("a1", "first post", ts=T0)
    led.record("a1", "second post", ts=T0 + 1)
    assert led.queued == 2
    assert store.query_one("SELECT COUNT(*) AS n FROM watcher_published")["n"] == 0  # type: ignore[index]
    assert led.match("a1", "p1", "first post", T0 + 5) == "text"  # match writes the queue first
    assert led.queued == 0
    led.record("a1", "third post", ts=T0 + 2)
    await wait_for(lambda: not led.queued, what="the timer's write")  # without a match
    assert store.query_one("SELECT COUNT(*) AS n FROM watcher_published")["n"] == 3  # type: ignore[index]
    other = PublishedLedger(Store(tmp_path / "s.sqlite3"))  # another process sees them
    assert other.match("a1", "p3", "third post", T0 + 3) == "text"


async def test_a_full_batch_is_written_at_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    led = PublishedLedger(store, flush_delay=60, batch=3)
    for i in range(3):
        led.record("a1", f"post {i}", ts=T0 + i)
    assert led.queued == 0  # written at once, not after the 60 s delay
    assert store.query_one("SELECT COUNT(*) AS n FROM watcher_published")["n"] == 3  # type: ignore[index]
    led.record("a1", "post 3", ts=T0 + 3)
    assert led.flush() == 1 and led.queued == 0


async def test_rows_survive_a_failed_write(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    led = PublishedLedger(store, flush_delay=60)
    led.record("a1", "kept", ts=T0)
    blocker = Store(tmp_path / "s.sqlite3")
    blocker.execute("PRAGMA busy_timeout=0")
    with blocker.transaction():  # another writer holds the database
        store.execute("PRAGMA busy_timeout=0")
        with pytest.raises(StoreError):
            led.flush()
        assert led.queued == 1
    assert led.flush() == 1
    assert led.match("a1", "p", "kept", T0) == "text"


def test_rows_written_before_text_keys_still_match(tmp_path: Path) -> None:
    from sentinel.watcher.ledger import COMPONENT, MIGRATIONS

    store = Store(tmp_path / "s.sqlite3")
    store.migrate(COMPONENT, MIGRATIONS[:1])  # a database from before the key column
    store.execute(
        "INSERT INTO watcher_published(account, post_id, norm_text, ts, source) VALUES (?, ?, ?, ?, ?)",
        ("a1", None, "old allowance", T0, "gate"),
    )
    led = PublishedLedger(store)
    assert store.query("SELECT link_key FROM watcher_published")[0]["link_key"] == 0
    led.record("a1", "new allowance", ts=T0 + 1)
    assert led.match("a1", "p1", "Old allowance", T0 + 10) == "text"
    assert led.match("a1", "p2", "new allowance", T0 + 10) == "text"
    assert led.match("a1", "p3", "old allowance", T0 + 20) is None  # used up


def test_text_lookups_use_the_key_index(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    PublishedLedger(store)
    plan = store.query(
        "EXPLAIN QUERY PLAN SELECT id FROM watcher_published WHERE account = ? AND text_key IN (?, 0) "
        "AND norm_text = ? AND used = 0 AND ts BETWEEN ? AND ? ORDER BY ABS(ts - ?) LIMIT 1",
        ("a1", 5, "x", 0.0, 1.0, 0.5),
    )
    assert "watcher_published_key" in " ".join(str(r["detail"]) for r in plan)


async def test_write_ahead_log_is_checkpointed_off_the_loop(tmp_path: Path) -> None:
    def wal_bytes(checkpoint_rows: int) -> int:
        return (tmp_path / f"{checkpoint_rows}.sqlite3-wal").stat().st_size

    for checkpoint_rows in (200, 10**9):
        led = PublishedLedger(
            Store(tmp_path / f"{checkpoint_rows}.sqlite3"), batch=100, checkpoint_rows=checkpoint_rows
        )
        for i in range(6000):
            led.record(f"a{i % 12}", f"post number {i} about things", ts=T0 + i)
            if i % 100 == 99:
                # a full batch was written; the worker thread checkpoints, however busy the machine
                await led.checkpoints_settled()
        assert led.queued == 0
    # SQLite alone lets the log grow to 1,000 pages (4 MB) before the committing call copies it
    assert wal_bytes(10**9) > 3_000_000
    assert wal_bytes(200) < 1_500_000
