from __future__ import annotations

from pathlib import Path

from sentinel.activity import ActivityBuffer, last_posts, record_posts
from sentinel.store import Store


def test_latest_post_wins_and_buffer_flushes_in_one_batch(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as store:
        record_posts(store, {"a": ("2026-11-02T00:00:00Z", 1)})
        buf = ActivityBuffer()
        buf.note("a", "2026-11-01T00:00:00Z")  # older than what is stored: kept out
        buf.note("b", "2026-11-03T00:00:00Z")
        buf.note("b", "2026-11-04T00:00:00Z")
        assert last_posts(store) == {"a": "2026-11-02T00:00:00Z"}  # nothing written before flush
        assert buf.flush(store) == 2
        assert buf.flush(store) == 0
        assert last_posts(store) == {"a": "2026-11-02T00:00:00Z", "b": "2026-11-04T00:00:00Z"}
        posts = {r["account"]: r["posts"] for r in store.query("SELECT account, posts FROM account_activity")}
        assert posts == {"a": 2, "b": 2}
