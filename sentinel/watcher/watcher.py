"""Poll every account's own timeline and feed each new post to the engine as an observed event.

One scheduler task keeps a heap of when each account is next due; each poll runs as its
own task (at most ``concurrency`` at once), so a slow or failing platform never stalls the
others. Per account:

- the first poll ever only sets the cursor (posts from before Sentinel watched are not
  alerted on);
- every later poll lists posts newer than the persisted cursor, oldest first, turns each
  into an event ``{id, ts, account, via: "observed", text, client, post_id, out_of_band,
  reconciled}``, awaits ``on_post(event)``, then records the post as seen and moves the
  cursor, so a restart neither re-alerts old posts nor skips new ones; the event's ``ts`` is
  the platform's creation time unless that is in the future or from before the last whole
  poll (which did not list the post): some platforms let the client set it, so then it is
  the time the post was seen;
- a failure backs off exponentially (or as long as the platform's ``Retry-After`` said),
  up to ``max_backoff``, for that account alone; the same error again is not logged again
  (``watcher.poll_failed`` once, then ``repeated=N`` when it changes or the account recovers);
- a frozen account (``slow(account)``) is polled ``FROZEN_FACTOR`` times less often: its
  posts are blocked and its sessions revoked, and a locked one only answers errors.

Reconciling: a post on a *gated* account that matches nothing in the ``PublishedLedger``
(by post id, else by normalised text within 15 minutes) is out-of-band.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sentinel.errors import SentinelError
from sentinel.logs import get_logger
from sentinel.platforms.base import FUTURE_SKEW, PlatformAdapter, Post
from sentinel.platforms.errors import PlatformRateLimited
from sentinel.platforms.timefmt import parse_time, utc_z
from sentinel.store import Store
from sentinel.watcher.ledger import PublishedLedger

log = get_logger(__name__)

OnPost = Callable[[dict[str, Any]], Awaitable[None] | None]
Clock = Callable[[], float]

COMPONENT = "watcher"
MIGRATIONS = [
    """
    CREATE TABLE watcher_cursors (
        account TEXT PRIMARY KEY,
        cursor  TEXT NOT NULL,
        updated REAL NOT NULL
    );
    CREATE TABLE watcher_seen (
        account TEXT NOT NULL,
        post_id TEXT NOT NULL,
        seen    REAL NOT NULL,
        PRIMARY KEY (account, post_id)
    )
    """,
]
SEEN_KEEP_SECONDS = 14 * 86400
FROZEN_FACTOR = 10.0
MAX_PAGES = 10


def _posted_at(post: Post) -> float:
    parsed = parse_time(post.created_at) if post.created_at else None
    return parsed.timestamp() if parsed else 0.0


@dataclass
class WatchedAccount:
    """One account to watch: its inventory id, adapter, and whether it publishes through the gate."""

    account: str
    adapter: PlatformAdapter
    gated: bool = True
    interval: float | None = None

    @property
    def platform(self) -> str:
        return self.adapter.info.platform


@dataclass
class AccountState:
    interval: float
    due: float = 0.0
    errors: int = 0
    last_ok: float | None = None
    last_error: str = ""
    polls: int = 0
    running: bool = False
    events: int = 0
    repeats: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    woken: bool = False
    """A stream or webhook said the account changed while a poll was running: poll again."""
    streamed: bool = False
    """A live stream or webhook covers the account: polls fall back to the stream floor."""
    listed: float = 0.0
    """When the last whole poll began: a post it did not list was made after that."""


class Watcher:
    def __init__(
        self,
        store: Store,
        accounts: Iterable[WatchedAccount],
        on_post: OnPost,
        *,
        ledger: PublishedLedger | None = None,
        intervals: Mapping[str, float] | None = None,
        max_backoff: float = 900.0,
        concurrency: int = 20,
        page_size: int = 50,
        clock: Clock = time.time,
        spread: bool = True,
        since: float | None = None,
        slow: Callable[[str], bool] | None = None,
    ) -> None:
        self.store = store
        self.slow = slow
        store.migrate(COMPONENT, MIGRATIONS)
        self.ledger = ledger or PublishedLedger(store)
        self.on_post = on_post
        self.max_backoff = max_backoff
        self.page_size = page_size
        self.clock = clock
        self._intervals = dict(intervals or {})
        self._accounts: dict[str, WatchedAccount] = {}
        self.state: dict[str, AccountState] = {}
        self._sem = asyncio.Semaphore(concurrency)
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._heap: list[tuple[float, str]] = []
        self._spread = spread
        self.since = since
        for acct in accounts:
            self.add(acct)

    # -- membership ---------------------------------------------------------------------
    def interval_for(self, acct: WatchedAccount) -> float:
        if acct.interval is not None:
            return acct.interval
        return float(self._intervals.get(acct.platform, acct.adapter.info.limits.poll_interval))

    def add(self, acct: WatchedAccount) -> None:
        interval = self.interval_for(acct)
        now = self.clock()
        # Spread first polls over one interval so a thousand accounts do not poll at once.
        offset = random.random() * interval if self._spread else 0.0
        self._accounts[acct.account] = acct
        self.state[acct.account] = AccountState(interval=interval, due=now + offset)
        heapq.heappush(self._heap, (now + offset, acct.account))
        self._wake.set()

    def remove(self, account: str) -> None:
        self._accounts.pop(account, None)
        self.state.pop(account, None)

    def wake(self, account: str) -> bool:
        """Poll ``account`` now (a stream or webhook said it changed); False if not watched.

        Only schedules a poll: whatever the push said, what is fed is what the platform
        lists, reconciled by post id, so a repeated or forged push feeds nothing new."""
        st = self.state.get(account)
        if st is None:
            return False
        if st.running:
            st.woken = True
            return True
        now = self.clock()
        if st.due > now:
            st.due = now
            heapq.heappush(self._heap, (now, account))
            self._wake.set()
        return True

    def has_seen(self, account: str, post_id: str) -> bool:
        """Whether the watcher fed (or baselined) ``post_id`` of ``account``."""
        row = self.store.query_one(
            "SELECT 1 FROM watcher_seen WHERE account = ? AND post_id = ?", (account, post_id)
        )
        return row is not None

    def set_streamed(self, account: str, live: bool, floor: float) -> None:
        """A stream for ``account`` came up (polls every ``floor`` seconds at least) or went
        down (polls on the platform's interval again); either way, reconcile at once."""
        st, acct = self.state.get(account), self._accounts.get(account)
        if st is None or acct is None:
            return
        base = self.interval_for(acct)
        st.streamed = live
        st.interval = max(base, floor) if live else base
        self.wake(account)

    def cursor(self, account: str) -> str | None:
        row = self.store.query_one("SELECT cursor FROM watcher_cursors WHERE account = ?", (account,))
        return str(row["cursor"]) if row else None

    # -- one poll ------------------------------------------------------------------------
    async def poll_once(self, account: str) -> int:
        """Poll one account now; return how many events were fed. Errors propagate."""
        acct = self._accounts[account]
        started = self.clock()
        cursor = self.cursor(account)
        if cursor is None:
            # The first poll sets where to start from: posts before ``since`` are history.
            # Posts since then (a daemon start passes its start time: a post seconds after
            # start, before this account's first poll) are fed like any other.
            page = await acct.adapter.list_posts(None, self.page_size)
            since = self.since if self.since is not None else float("inf")
            fresh = [p for p in page.posts if _posted_at(p) >= since]
            self._baseline(account, [p for p in page.posts if _posted_at(p) < since], page.cursor)
            fed = 0
            for post in fresh:
                if await self._feed(acct, post):
                    fed += 1
            self._listed(account, started)
            return fed
        fed = 0
        for _ in range(MAX_PAGES):
            page = await acct.adapter.list_posts(cursor, self.page_size)
            for post in page.posts:
                if await self._feed(acct, post):
                    fed += 1
            if page.cursor is not None and page.cursor != cursor:
                cursor = page.cursor
                self._save_cursor(account, cursor)
            if not page.more:
                break
        self._listed(account, started)
        return fed

    def _listed(self, account: str, started: float) -> None:
        st = self.state.get(account)
        if st is not None:
            st.listed = started

    def _baseline(self, account: str, posts: Iterable[Post], cursor: str | None) -> None:
        now = self.clock()
        with self.store.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO watcher_seen(account, post_id, seen) VALUES (?, ?, ?)",
                [(account, p.post_id, now) for p in posts],
            )
            db.execute(
                "INSERT INTO watcher_cursors(account, cursor, updated) VALUES (?, ?, ?) "
                "ON CONFLICT(account) DO UPDATE SET cursor = excluded.cursor, updated = excluded.updated",
                (account, cursor or "", now),
            )
        log.info("watcher.baseline", account=account, cursor=cursor or "")

    def _save_cursor(self, account: str, cursor: str) -> None:
        self.store.execute(
            "INSERT INTO watcher_cursors(account, cursor, updated) VALUES (?, ?, ?) "
            "ON CONFLICT(account) DO UPDATE SET cursor = excluded.cursor, updated = excluded.updated",
            (account, cursor, self.clock()),
        )

    async def _feed(self, acct: WatchedAccount, post: Post) -> bool:
        seen = self.store.query_one(
            "SELECT 1 FROM watcher_seen WHERE account = ? AND post_id = ?", (acct.account, post.post_id)
        )
        if seen is not None:
            return False
        event = self.event_for(acct, post)
        result = self.on_post(event)
        if inspect.isawaitable(result):
            await result
        self.store.execute(
            "INSERT OR IGNORE INTO watcher_seen(account, post_id, seen) VALUES (?, ?, ?)",
            (acct.account, post.post_id, self.clock()),
        )
        log.info(
            "watcher.observed",
            account=acct.account,
            post_id=event["post_id"],
            out_of_band=event["out_of_band"],
            reconciled=event["reconciled"],
        )
        return True

    def event_for(self, acct: WatchedAccount, post: Post) -> dict[str, Any]:
        """The observed event for ``post`` (reconciled against the ledger)."""
        now = self.clock()
        posted = parse_time(post.created_at) if post.created_at else None
        # A platform's timestamp may be set by the client (Bluesky's createdAt): one in the
        # future, or from before the last poll that did not list the post, is not trusted.
        st = self.state.get(acct.account)
        floor = st.listed - FUTURE_SKEW if st is not None and st.listed else float("-inf")
        ts = posted.timestamp() if posted and floor <= posted.timestamp() <= now + FUTURE_SKEW else now
        matched = self.ledger.match(acct.account, post.post_id, post.text, ts)
        return {
            "id": f"obs:{acct.account}:{post.post_id}",
            "ts": utc_z(ts),
            "account": acct.account,
            "via": "observed",
            "text": post.text,
            "client": post.client,
            "post_id": f"{acct.platform}:{post.post_id}",
            "out_of_band": acct.gated and matched is None,
            "reconciled": matched,
            "observed_at": utc_z(now),
            "url": post.url,
        }

    # -- the loop ------------------------------------------------------------------------
    async def run(self) -> None:
        """Poll every account on its interval until ``stop()``."""
        self._stop.clear()
        try:
            while not self._stop.is_set():
                now = self.clock()
                while self._heap and self._heap[0][0] <= now:
                    due, account = heapq.heappop(self._heap)
                    st = self.state.get(account)
                    if st is None or st.due != due or st.running:
                        continue
                    st.running = True
                    task = asyncio.create_task(self._poll_task(account))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                delay = (self._heap[0][0] - now) if self._heap else 60.0
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, min(delay, 60.0)))
                except TimeoutError:
                    pass
        finally:
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def _poll_task(self, account: str) -> None:
        st = self.state[account]
        delay = st.interval
        try:
            async with self._sem:
                fed = await self.poll_once(account)
            st.events += fed
            if st.errors:
                log.info("watcher.poll_recovered", account=account, failures=st.errors, error=st.last_error)
            st.errors = 0
            st.repeats = 0
            st.last_ok = self.clock()
            st.last_error = ""
        except asyncio.CancelledError:
            raise
        except Exception as e:
            st.errors += 1
            error = str(e) if isinstance(e, SentinelError) else f"{type(e).__name__}: {e}"
            delay = min(self.max_backoff, st.interval * 2 ** min(st.errors, 16))
            if isinstance(e, PlatformRateLimited) and e.retry_after is not None:
                delay = min(max(delay, e.retry_after), max(self.max_backoff, e.retry_after))
            if error == st.last_error:
                st.repeats += 1  # said already: counted, and said with the count when it changes
            else:
                log.warning(
                    "watcher.poll_failed",
                    account=account,
                    errors=st.errors,
                    retry_in=round(delay, 1),
                    error=error,
                    **({"repeated": st.repeats, "previous": st.last_error} if st.repeats else {}),
                )
                st.repeats = 0
            st.last_error = error
        finally:
            st.running = False
            st.polls += 1
        if self.slow is not None and self.slow(account):
            delay = max(delay, min(self.max_backoff, st.interval * FROZEN_FACTOR))
        if account in self.state:
            # Schedule from the planned due time so the interval does not drift.
            base = max(st.due, self.clock() - st.interval) if st.errors == 0 else self.clock()
            st.due = base + delay
            if st.woken and st.errors == 0:
                st.woken = False
                st.due = self.clock()
            heapq.heappush(self._heap, (st.due, account))
            self._wake.set()

    def status(self) -> dict[str, dict[str, Any]]:
        """Per account: interval, next poll, consecutive errors, last error (for ``sentinel status``)."""
        return {
            a: {
                "interval": s.interval,
                "next_poll": utc_z(s.due),
                "errors": s.errors,
                "last_error": s.last_error,
                "last_ok": utc_z(s.last_ok) if s.last_ok else None,
                "polls": s.polls,
                "events": s.events,
                "streamed": s.streamed,
            }
            for a, s in self.state.items()
        }

    def prune(self) -> int:
        cutoff = self.clock() - SEEN_KEEP_SECONDS
        return self.store.execute("DELETE FROM watcher_seen WHERE seen < ?", (cutoff,))
