"""When each account last posted (from the gate, the broker or the watcher).

``sentinel accounts audit`` uses it to name accounts silent for 90 days: candidates to
retire, and unwatched accounts are what attackers take over quietly.
"""

from __future__ import annotations

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


def record_post(store: Store, account: str, ts: str) -> None:
    """Note a post by ``account`` at ``ts`` (ISO 8601 UTC); keeps the latest time."""
    _ready(store)
    store.execute(
        "INSERT INTO account_activity(account, last_post, posts) VALUES(?, ?, 1) "
        "ON CONFLICT(account) DO UPDATE SET last_post = max(last_post, excluded.last_post), posts = posts + 1",
        (account, ts),
    )


def last_posts(store: Store) -> dict[str, str]:
    _ready(store)
    return {
        str(r["account"]): str(r["last_post"])
        for r in store.query("SELECT account, last_post FROM account_activity")
    }
