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

from sentinel.logs import get_logger
from sentinel.store import Store

log = get_logger("sentinel.watcher.streams")

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

SAVE_EVERY = 1.0
"""Seconds between cursor writes while only unwatched accounts' events pass."""

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


class PushStream:
    """A push connection kept open until ``stop()``: reconnected with backoff after a loss,
    its accounts told when it comes up and goes down. Subclasses ``_follow`` one connection
    and list in ``errors`` what a lost connection raises."""

    errors: tuple[type[Exception], ...] = (OSError,)

    def __init__(self, source: str, on_change: OnChange, on_live: OnLive, max_backoff: float) -> None:
        self.source = source
        self.on_change = on_change
        self.on_live = on_live
        self.max_backoff = max_backoff
        self.accounts: dict[str, str] = {}
        """The platform's name for each account (DID, handle) -> inventory account id."""
        self.live = False
        self.frames = 0
        self.failures = 0
        self._stop = asyncio.Event()

    def watch(self, key: str, account: str) -> None:
        self.accounts[key] = account
        if self.live:
            self.on_live(account, True)

    def unwatch(self, account: str) -> None:
        for key in [k for k, a in self.accounts.items() if a == account]:
            del self.accounts[key]

    async def run(self) -> None:
        self._stop.clear()
        try:
            while not self._stop.is_set():
                try:
                    await self._follow()
                    self.failures = 0
                except self.errors as e:
                    self.failures += 1
                    self.lost(e)
                    log.warning(
                        "watcher.stream_lost", source=self.source, error=str(e), failures=self.failures
                    )
                self._set_live(False)
                self.save()
                await backoff(self._stop, self.failures, self.max_backoff)
        finally:
            self._set_live(False)
            self.save()

    async def _follow(self) -> None:
        raise NotImplementedError

    def lost(self, error: Exception) -> None:
        """What a lost connection changes beyond reconnecting (nothing by default)."""

    def save(self) -> None:
        """Keep the resume cursor (nothing by default)."""

    def _set_live(self, live: bool) -> None:
        if live != self.live:
            self.live = live
            for account in list(self.accounts.values()):
                self.on_live(account, live)

    def stop(self) -> None:
        """Stop reconnecting (cancel the task to end a connection waiting for its next event)."""
        self._stop.set()

    async def aclose(self) -> None:
        """Release the connection's resources once the task ended."""


class CursorStream(PushStream):
    """A stream of a whole server's accounts whose events carry a sequence number: the cursor
    is kept in the state store (at once after a watched change, at most once a second
    otherwise), so a restart subscribes after it and the server replays what was missed."""

    def __init__(
        self,
        cursors: StreamCursors,
        source: str,
        on_change: OnChange,
        on_live: OnLive,
        max_backoff: float,
        clock: Callable[[], float],
    ) -> None:
        super().__init__(source, on_change, on_live, max_backoff)
        self.cursors = cursors
        self.clock = clock
        self._seq: int | None = None
        self._saved_at = 0.0

    def cursor(self) -> str | None:
        """Where to subscribe from: the last event handled, else the stored cursor."""
        if self._seq is None:
            stored = self.cursors.get(self.source)
            self._seq = int(stored) if stored else None
        return str(self._seq) if self._seq is not None else None

    def advance(self, seq: int | None, watched: bool) -> None:
        if seq is not None and (self._seq is None or seq > self._seq):
            self._seq = seq
            if watched or self.clock() - self._saved_at >= SAVE_EVERY:
                self.save()

    def save(self) -> None:
        if self._seq is not None:
            self.cursors.put(self.source, str(self._seq), self.clock())
            self._saved_at = self.clock()

    def forget(self) -> None:
        """The server does not know the cursor (it was reset): follow it from now."""
        self.cursors.drop(self.source)
        self._seq = None
