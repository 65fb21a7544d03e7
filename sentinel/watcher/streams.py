"""What every push source (a platform's event stream, a webhook) shares: its resume cursor,
the change it reports, and how it hands that change to the watcher.

A push never carries a post into the engine by itself. It only *wakes* the account's
reconcile (``Watcher.wake``): the watcher lists the account's posts as it does on a poll and
feeds those it has not seen, reconciled by post id. So a push delivered twice, replayed or
forged feeds nothing that is not on the platform, and a push that never came is made up
for by polling, which stays the floor: while a stream is live its accounts are still
polled every ``[watcher] stream_poll_interval``; when it is lost they are polled on the
platform's own interval until it is back.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

from sentinel.store import Store

COMPONENT = "watcher_streams"
MIGRATIONS = [
    """
    CREATE TABLE watcher_stream_cursors (
        source  TEXT PRIMARY KEY,
        cursor  TEXT NOT NULL,
        updated REAL NOT NULL
    )
    """,
]

POSTS = "posts"
"""The account's posts changed (created, edited, deleted): wake its reconcile."""
ACCOUNT = "account"
"""The account's identity or profile changed (handle, profile, status): its state is asked."""


@dataclass(frozen=True, slots=True)
class Change:
    """One thing a push source says happened to one watched account."""

    account: str
    kind: str
    """``posts`` or ``account``."""
    what: str
    """What exactly, for the log: ``app.bsky.feed.post/<rkey> create``, ``identity handle=...``."""
    source: str


OnChange = Callable[[Change], None]
OnLive = Callable[[str, bool], None]
"""``(account, live)``: a stream covering the account came up or went down."""


class StreamCursors:
    """Each push source's resume cursor in the state store (a restart resumes from it)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.migrate(COMPONENT, MIGRATIONS)

    def get(self, source: str) -> str | None:
        row = self.store.query_one("SELECT cursor FROM watcher_stream_cursors WHERE source = ?", (source,))
        return str(row["cursor"]) if row else None

    def put(self, source: str, cursor: str, now: float) -> None:
        self.store.execute(
            "INSERT INTO watcher_stream_cursors(source, cursor, updated) VALUES (?, ?, ?) "
            "ON CONFLICT(source) DO UPDATE SET cursor = excluded.cursor, updated = excluded.updated",
            (source, cursor, now),
        )

    def drop(self, source: str) -> None:
        self.store.execute("DELETE FROM watcher_stream_cursors WHERE source = ?", (source,))


async def backoff(stop: asyncio.Event, failures: int, max_backoff: float) -> None:
    """Wait before reconnecting a lost stream (exponential with jitter), or until ``stop``."""
    delay = min(max_backoff, 0.5 * 2 ** min(failures, 10)) * (0.5 + random.random() / 2)
    try:
        await asyncio.wait_for(stop.wait(), timeout=delay)
    except TimeoutError:
        pass
