from __future__ import annotations

from pathlib import Path

from sentinel.store import Store
from sentinel.watcher import PublishedLedger, native_post_id

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
