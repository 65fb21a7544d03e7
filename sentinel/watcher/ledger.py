"""What the gate allowed and the broker published, so observed posts can be reconciled.

The gate calls ``record(account, text, ts=...)`` when it allows a post; the broker calls
``record(account, text, post_id=..., ts=...)`` once the platform returned the post id. The
watcher asks ``match`` for every post it sees: first by platform post id, else by
normalised text and the same links within ``window`` seconds (15 minutes by default). Links
are compared by where they lead (``sentinel.engine.links.links_key``: scheme, ``www.``, a
trailing slash and tracking parameters aside), so the approved copy posted with another link
matches nothing. A text match is used up by the post it matches, so one allowance cannot
cover two identical posts. A post on a gated account that matches nothing is out-of-band.

Inside a running event loop (the daemon's gate) ``record`` only queues the row: the queue
is written in one transaction ``flush_delay`` seconds later (at once when ``batch`` rows
wait), so a gate check costs no SQLite commit of its own: on the development VM a commit
per row cost about 33 us of the gate's CPU, a batched row about 12 us. ``match``, ``prune``
and ``flush`` write the queue first, so this process always sees every recorded row; the
API service flushes on stop. Without a running loop (the CLI, threads) ``record`` writes
at once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from hashlib import blake2b

from sentinel.engine.links import links_key
from sentinel.errors import StoreError
from sentinel.inventory import PLATFORMS
from sentinel.logs import get_logger
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
    # Looked up by a 64-bit key of the normalised text (the text itself is compared too): an
    # index of whole texts made every recorded post cost twice as much (more pages written,
    # more checkpoints). Rows from before keep key 0 and are still found (``text_key IN (?, 0)``).
    """
    ALTER TABLE watcher_published ADD COLUMN text_key INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX watcher_published_key ON watcher_published(account, text_key, ts);
    DROP INDEX watcher_published_text
    """,
    # The key of the links' targets (``link_key``): a text match needs the same links. Rows
    # from before keep 0 and match whatever the post links to, as they did.
    """
    ALTER TABLE watcher_published ADD COLUMN link_key INTEGER NOT NULL DEFAULT 0
    """,
]
KEEP_SECONDS = 7 * 86400
MAX_QUEUED = 100_000
"""Rows kept for a retry while the store refuses writes (older ones are dropped, and logged)."""
_INSERT = "INSERT INTO watcher_published(account, post_id, norm_text, ts, source, text_key, link_key) VALUES "
_PER_STATEMENT = 500
"""Rows per INSERT statement (one statement for many rows: fewer round trips into SQLite)."""
Row = tuple[str, str | None, str, float, str, int, int]
log = get_logger("sentinel.watcher.ledger")


def native_post_id(post_id: str) -> str:
    """A post id without the ``platform:`` prefix events carry (``x:123`` -> ``123``)."""
    head, sep, rest = post_id.partition(":")
    if sep and head in PLATFORMS:
        return rest
    if post_id.startswith("at://"):
        return post_id.rstrip("/").rsplit("/", 1)[-1]
    return post_id


def text_key(norm: str) -> int:
    """A non-zero signed 64-bit key of a normalised text (what the text index holds)."""
    return int.from_bytes(blake2b(norm.encode(), digest_size=8).digest(), "little", signed=True) or 1


def link_key(text: str) -> int:
    """A non-zero signed 64-bit key of where ``text`` links to (``links_key``), for SQLite."""
    return int.from_bytes(links_key(text).to_bytes(8, "little"), "little", signed=True) or 1


def _epoch(ts: float | str | None) -> float:
    if ts is None:
        return time.time()
    if isinstance(ts, int | float):
        return float(ts)
    parsed = parse_time(ts)
    return parsed.timestamp() if parsed else time.time()


class PublishedLedger:
    def __init__(
        self,
        store: Store,
        window: float = 900.0,
        flush_delay: float = 0.1,
        batch: int = 1000,
        checkpoint_rows: int = 500,
    ) -> None:
        self.store = store
        self.window = window
        self.flush_delay = flush_delay
        self.batch = batch
        self.checkpoint_rows = checkpoint_rows
        self._since_checkpoint = 0
        self._checkpoints: set[asyncio.Future[None]] = set()
        self._queued: list[Row] = []
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._timer: asyncio.TimerHandle | None = None
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
        norm = normalise_text(text)
        row = (
            account,
            native_post_id(post_id) if post_id else None,
            norm,
            _epoch(ts),
            source,
            text_key(norm),
            link_key(text),
        )
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self._lock:
            self._queued.append(row)
            full = len(self._queued) >= self.batch
            if loop is not None and not full and self._timer is None:
                self._timer = loop.call_later(self.flush_delay, self._flush_queued)
        if loop is None:
            self.flush()
        elif full:
            self._flush_queued()

    @property
    def queued(self) -> int:
        """Rows recorded but not written yet."""
        return len(self._queued)

    def flush(self) -> int:
        """Write the queued rows in one transaction; returns how many (``StoreError`` on failure).

        When it returns, every row recorded before the call is in the store (a write under
        way in the background is waited for).
        """
        with self._writing:
            with self._lock:
                rows, self._queued = self._queued, []
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
            if not rows:
                return 0
            try:
                with self.store.transaction() as db:
                    for i in range(0, len(rows), _PER_STATEMENT):
                        chunk = rows[i : i + _PER_STATEMENT]
                        db.execute(
                            _INSERT + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(chunk)),
                            [v for row in chunk for v in row],
                        )
            except (sqlite3.Error, StoreError) as e:
                with self._lock:  # keep them for the next flush, oldest first
                    self._queued[:0] = rows
                    dropped = len(self._queued) - MAX_QUEUED
                    if dropped > 0:
                        del self._queued[:dropped]
                        log.error("ledger.rows_dropped", rows=dropped)
                raise StoreError(f"{self.store.path}: cannot write the published ledger: {e}") from None
            return len(rows)

    def _flush_queued(self) -> None:
        # In the loop's own thread: measured on the 2-core development VM, a worker thread
        # cost the loop more (about 40 us a row, in GIL hand-overs) than the batched write
        # itself (about 12 us a row; one commit per row was about 33 us).
        with self._lock:
            self._timer = None
        try:
            written = self.flush()
        except StoreError as e:  # retried with the next row or the next match
            log.error("ledger.flush_failed", error=e.message, queued=self.queued)
            return
        # The commit that takes the write-ahead log past 1,000 pages copies it into the
        # database and syncs both, milliseconds the loop would wait for. A passive
        # checkpoint in a worker thread every few hundred rows keeps the log short, so the
        # loop's commits do not have to.
        self._since_checkpoint += written
        if self._since_checkpoint >= self.checkpoint_rows and not self._checkpoints:
            self._since_checkpoint = 0
            done = asyncio.get_running_loop().run_in_executor(None, self._checkpoint)
            self._checkpoints.add(done)
            done.add_done_callback(self._checkpoints.discard)

    async def checkpoints_settled(self) -> None:
        """Wait for the checkpoint running in the worker thread, if one is."""
        if self._checkpoints:
            await asyncio.gather(*self._checkpoints)

    def _checkpoint(self) -> None:
        try:
            self.store.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except StoreError as e:  # SQLite checkpoints by itself at the next commit
            log.warning("ledger.checkpoint_failed", error=e.message)

    def match(self, account: str, post_id: str, text: str, ts: float | str | None = None) -> str | None:
        """``"post_id"`` or ``"text"`` when the observed post was gated/published, else ``None``."""
        pid = native_post_id(post_id)
        when = _epoch(ts)
        norm = normalise_text(text)
        key, links = text_key(norm), link_key(text)
        self.flush()
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT id FROM watcher_published WHERE account = ? AND post_id = ? LIMIT 1", (account, pid)
            ).fetchone()
            if row is not None:
                db.execute("UPDATE watcher_published SET used = 1 WHERE id = ?", (row["id"],))
                # The gate's allowance for the same post (recorded by text) is used up too.
                db.execute(
                    "UPDATE watcher_published SET used = 1 WHERE id = (SELECT id FROM watcher_published "
                    "WHERE account = ? AND text_key IN (?, 0) AND norm_text = ? AND link_key IN (?, 0) "
                    "AND used = 0 AND post_id IS NULL AND ts BETWEEN ? AND ? ORDER BY ABS(ts - ?) LIMIT 1)",
                    (account, key, norm, links, when - self.window, when + self.window, when),
                )
                return "post_id"
            row = db.execute(
                "SELECT id FROM watcher_published WHERE account = ? AND text_key IN (?, 0) AND norm_text = ? "
                "AND link_key IN (?, 0) AND used = 0 "
                "AND ts BETWEEN ? AND ? ORDER BY ABS(ts - ?) LIMIT 1",
                (account, key, norm, links, when - self.window, when + self.window, when),
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
        self.flush()
        return self.store.execute("DELETE FROM watcher_published WHERE ts < ?", (cutoff,))
