"""What the gate allowed and the broker published, so observed posts can be reconciled.

The gate calls ``record(account, text, ts=...)`` when it allows a post; the broker calls
``record(account, text, post_id=..., ts=...)`` once the platform returned the post id. The
watcher asks ``match`` for every post it sees: first by platform post id, else by
normalised text within ``window`` seconds (15 minutes by default). A text match is used up
by the post it matches, so one allowance cannot cover two identical posts. A post on a
gated account that matches nothing is out-of-band.
"""

from __future__ import annotations

import time

from sentinel.inventory import PLATFORMS
from sentinel.platforms.base import normalise_text
from sentinel.platforms.timefmt import parse_time
from sentinel.store import Store

COMPONENT = "watcher_ledger"
MIGRATIONS = [
    """
    CREATE TABLE watcher_published (
        id        INTEGER PRIMARY KEY,
        account   TEXT NOT NULL,
        post_id   TEXT,
        norm_text TEXT NOT NULL,
        ts        REAL NOT NULL,
        source    TEXT NOT NULL,
        used      INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX watcher_published_post ON watcher_published(account, post_id);
    CREATE INDEX watcher_published_text ON watcher_published(account, norm_text, ts)
    """,
]
KEEP_SECONDS = 7 * 86400


def native_post_id(post_id: str) -> str:
    """A post id without the ``platform:`` prefix events carry (``x:123`` -> ``123``)."""
    head, sep, rest = post_id.partition(":")
    if sep and head in PLATFORMS:
        return rest
    if post_id.startswith("at://"):
        return post_id.rstrip("/").rsplit("/", 1)[-1]
    return post_id


def _epoch(ts: float | str | None) -> float:
    if ts is None:
        return time.time()
    if isinstance(ts, int | float):
        return float(ts)
    parsed = parse_time(ts)
    return parsed.timestamp() if parsed else time.time()


class PublishedLedger:
    def __init__(self, store: Store, window: float = 900.0) -> None:
        self.store = store
        self.window = window
        store.migrate(COMPONENT, MIGRATIONS)

    def record(
        self,
        account: str,
        text: str,
        *,
        post_id: str | None = None,
        ts: float | str | None = None,
        source: str = "gate",
    ) -> None:
        """Remember that ``account`` was allowed to (or did) publish ``text``."""
        self.store.execute(
            "INSERT INTO watcher_published(account, post_id, norm_text, ts, source) VALUES (?, ?, ?, ?, ?)",
            (account, native_post_id(post_id) if post_id else None, normalise_text(text), _epoch(ts), source),
        )

    def match(self, account: str, post_id: str, text: str, ts: float | str | None = None) -> str | None:
        """``"post_id"`` or ``"text"`` when the observed post was gated/published, else ``None``."""
        pid = native_post_id(post_id)
        when = _epoch(ts)
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT id FROM watcher_published WHERE account = ? AND post_id = ? LIMIT 1", (account, pid)
            ).fetchone()
            if row is not None:
                db.execute("UPDATE watcher_published SET used = 1 WHERE id = ?", (row["id"],))
                # The gate's allowance for the same post (recorded by text) is used up too.
                db.execute(
                    "UPDATE watcher_published SET used = 1 WHERE id = (SELECT id FROM watcher_published "
                    "WHERE account = ? AND norm_text = ? AND used = 0 AND post_id IS NULL "
                    "AND ts BETWEEN ? AND ? ORDER BY ABS(ts - ?) LIMIT 1)",
                    (account, normalise_text(text), when - self.window, when + self.window, when),
                )
                return "post_id"
            row = db.execute(
                "SELECT id FROM watcher_published WHERE account = ? AND norm_text = ? AND used = 0 "
                "AND ts BETWEEN ? AND ? ORDER BY ABS(ts - ?) LIMIT 1",
                (account, normalise_text(text), when - self.window, when + self.window, when),
            ).fetchone()
            if row is not None:
                db.execute(
                    "UPDATE watcher_published SET used = 1, post_id = ? WHERE id = ?", (pid, row["id"])
                )
                return "text"
        return None

    def prune(self, now: float | None = None) -> int:
        """Forget entries older than a week."""
        cutoff = (time.time() if now is None else now) - KEEP_SECONDS
        return self.store.execute("DELETE FROM watcher_published WHERE ts < ?", (cutoff,))
