"""When each account last posted (from the gate, the broker or the watcher).

``sentinel accounts audit`` uses it to name accounts silent for 90 days: candidates to
retire, and unwatched accounts are what attackers take over quietly.
"""

from __future__ import annotations

from collections.abc import Mapping

from sentinel.store import Store

MIGRATIONS = [
    """
    CREATE TABLE account_activity (
        account   TEXT PRIMARY KEY,
        last_post TEXT NOT NULL,
        posts     INTEGER NOT NULL DEFAULT 0
    )
    """,
]


def _ready(store: Store) -> None:
    store.migrate("activity", MIGRATIONS)


_UPSERT = (
    "INSERT INTO account_activity(account, last_post, posts) VALUES(?, ?, ?) "
    "ON CONFLICT(account) DO UPDATE SET last_post = max(last_post, excluded.last_post), "
    "posts = posts + excluded.posts"
)


def record_posts(store: Store, latest: Mapping[str, tuple[str, int]]) -> None:
    """Note many accounts' latest post time and post count in one transaction."""
    if not latest:
        return
    _ready(store)
    with store.transaction() as db:
        db.executemany(_UPSERT, [(a, ts, n) for a, (ts, n) in latest.items()])


class ActivityBuffer:
    """Post times gathered in memory and written in batches (the gate's hot path does no I/O)."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[str, int]] = {}

    def note(self, account: str, ts: str) -> None:
        last, n = self._pending.get(account, ("", 0))
        self._pending[account] = (max(last, ts), n + 1)

    def flush(self, store: Store) -> int:
        pending, self._pending = self._pending, {}
        record_posts(store, pending)
        return len(pending)


def last_posts(store: Store) -> dict[str, str]:
    _ready(store)
    return {
        str(r["account"]): str(r["last_post"])
        for r in store.query("SELECT account, last_post FROM account_activity")
    }
