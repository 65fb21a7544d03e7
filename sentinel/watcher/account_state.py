"""Snapshot every account's identity and access on a schedule; each change is an account event.

``AccountStateWatcher`` asks each account's adapter for ``account_state()`` every
``interval`` seconds (default 5 minutes, each account's schedule jittered by up to
``jitter`` of it so a fleet of accounts does not hit a platform at once), compares it with
the last snapshot kept in the state store (table ``account_snapshots``) and hands the sink
one account event per changed field, in the shape ``sentinel replay`` reads::

    {"kind": "account", "id", "ts", "account", "field", "old", "new", "client"?}

List-like fields (``app_password``, ``authorized_app``, ``delegate``, ``session``) give one
event per item: ``old: null`` when added, ``new: null`` when removed. The first snapshot
of an account is its baseline (no events), and so is a field an adapter shows for the
first time. Changes Sentinel made itself (``own_changes``) carry ``client: "Sentinel"``.
``poke`` takes a snapshot at once (a stream saw the profile or identity change): one
account's snapshots never overlap, and pokes while one runs coalesce into one more.
A snapshot is stored only after the sink took its events, so a crash repeats a change
rather than losing it. ``diff`` is pure, for tests and replay tooling.

Beside the latest snapshot the store keeps the last *known-good* one: the latest snapshot
taken when no change but Sentinel's own had been seen for ``SETTLE_SECONDS``.
``appeared_since_good`` lists what the account gained since (app passwords, authorized
apps, people, sessions): the responder's revocation works from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sentinel import metrics
from sentinel.account_fields import LIST_FIELDS
from sentinel.engine.events import format_ts
from sentinel.errors import SentinelError
from sentinel.logs import Recurring, get_logger
from sentinel.platforms.base import STATE_FIELDS, Capability, PlatformAdapter
from sentinel.platforms.errors import PlatformAuthFailed
from sentinel.store import Store
from sentinel.watcher.own_changes import OwnChanges

log = get_logger("sentinel.watcher.account_state")

AccountSink = Callable[[dict[str, Any]], Awaitable[None]]
Reconnect = Callable[[str], Awaitable[PlatformAdapter | None]]
"""A fresh adapter for an account whose credentials the platform refused (None: none)."""
DEFAULT_INTERVAL = 300.0

MIGRATIONS = [
    """
    CREATE TABLE account_snapshots (
        account TEXT PRIMARY KEY,
        data    TEXT NOT NULL,
        taken   TEXT NOT NULL
    )
    """,
    """
    ALTER TABLE account_snapshots ADD COLUMN good TEXT;
    ALTER TABLE account_snapshots ADD COLUMN good_taken TEXT;
    ALTER TABLE account_snapshots ADD COLUMN foreign_at REAL
    """,
]
SETTLE_SECONDS = 86400.0
"""A snapshot becomes the account's last known-good one once no change but Sentinel's own
has been seen for this long (a hijacker's additions are not 'good' the next morning)."""


def diff(account: str, old: Mapping[str, Any], new: Mapping[str, Any], ts: str) -> list[dict[str, Any]]:
    """The account events that turn snapshot ``old`` into ``new`` (ids and clients left to the caller)."""
    events: list[dict[str, Any]] = []
    for name in STATE_FIELDS:
        if name not in old or name not in new:
            continue  # a field seen for the first time is a baseline
        before, after = old[name], new[name]
        if name in LIST_FIELDS:
            gone, added = set(before or ()) - set(after or ()), set(after or ()) - set(before or ())
            changes = [(item, None) for item in sorted(gone)] + [(None, item) for item in sorted(added)]
        else:
            changes = [(before, after)] if before != after else []
        events.extend(
            {"kind": "account", "ts": ts, "account": account, "field": name, "old": a, "new": b}
            for a, b in changes
        )
    return events


def appeared_since_good(store: Store, account: str) -> tuple[dict[str, list[str]], str]:
    """The list-like items (app passwords, authorized apps, people, sessions) the account's
    latest snapshot shows and its last known-good snapshot did not, and when that was taken
    (``({}, "")`` when the account was never snapshotted)."""
    store.migrate("account_state", MIGRATIONS)
    row = store.query_one(
        "SELECT data, good, good_taken FROM account_snapshots WHERE account = ?", (account,)
    )
    if row is None or row["good"] is None:
        return {}, ""
    latest, good = json.loads(row["data"]), json.loads(row["good"])
    out: dict[str, list[str]] = {}
    for name in sorted(LIST_FIELDS):
        if latest.get(name) is None or good.get(name) is None:
            continue
        added = sorted(set(latest[name]) - set(good[name]))
        if added:
            out[name] = added
    return out, str(row["good_taken"])


@dataclass
class _Watched:
    account: str
    adapter: PlatformAdapter
    errors: int = 0
    snapshots: int = 0
    events: int = 0
    last_error: str = ""
    pokes: int = 0
    pending: bool = False
    """A poked snapshot waits for the running one (further pokes join it)."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    failing: Recurring = field(
        default_factory=lambda: Recurring(
            log, "account_state.snapshot_failed", "account_state.snapshot_recovered"
        ),
        repr=False,
    )
    """The same error on every round of a locked or failing account is said once, then counted."""


class AccountStateWatcher:
    """Snapshots each added account every ``interval`` seconds and sends the changes to ``sink``."""

    def __init__(
        self,
        store: Store,
        sink: AccountSink,
        *,
        interval: float = DEFAULT_INTERVAL,
        jitter: float = 0.1,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        reconnect: Reconnect | None = None,
    ) -> None:
        self.store = store
        self.sink = sink
        self.interval = interval
        self.jitter = jitter
        self.clock = clock
        self.rng = rng or random.Random()
        self.reconnect = reconnect
        self.own = OwnChanges(store, clock)
        self.state: dict[str, _Watched] = {}
        self._running = False
        self._poked: set[asyncio.Task[None]] = set()
        store.migrate("account_state", MIGRATIONS)

    # -- accounts ----------------------------------------------------------------------------
    def add(self, account: str, adapter: PlatformAdapter) -> bool:
        """Watch ``account`` (False, with a log line, when its platform shows no account state)."""
        if not adapter.info.supports(Capability.ACCOUNT_STATE):
            log.info("account_state.not_supported", account=account, platform=adapter.info.platform)
            return False
        self.state[account] = _Watched(account, adapter)
        if self._running:
            self._start(self.state[account])
        return True

    def remove(self, account: str) -> None:
        watched = self.state.pop(account, None)
        if watched is not None and watched.task is not None:
            watched.task.cancel()

    # -- one snapshot ------------------------------------------------------------------------
    def last(self, account: str) -> dict[str, Any] | None:
        row = self.store.query_one("SELECT data FROM account_snapshots WHERE account = ?", (account,))
        return dict(json.loads(row["data"])) if row else None

    async def snapshot(self, account: str) -> list[dict[str, Any]]:
        """Take one snapshot of ``account``, send its changes to the sink and keep it (after
        any snapshot of it already running, so no change is diffed and sent twice)."""
        watched = self.state[account]
        async with watched.lock:
            return await self._snapshot(watched)

    async def _snapshot(self, watched: _Watched) -> list[dict[str, Any]]:
        account = watched.account
        platform = watched.adapter.info.platform
        try:
            current = await self._state(watched)
        except SentinelError as e:
            watched.errors += 1
            watched.last_error = e.message
            metrics.ACCOUNT_SNAPSHOTS.labels(platform=platform, outcome="error").inc()
            watched.failing.failed(e.message, account=account)
            return []
        ts = format_ts(self.clock())
        previous = self.last(account)
        events = [] if previous is None else diff(account, previous, current, ts)
        for event in events:
            event["id"] = f"acct-{uuid.uuid4().hex[:20]}"
            value = event["new"] if event["new"] is not None else event["old"]
            if isinstance(value, str) and self.own.claim(account, event["field"], value):
                event["client"] = "Sentinel"
            metrics.ACCOUNT_CHANGES.labels(field=event["field"]).inc()
            await self.sink(event)
        self._keep(account, current, ts, foreign=any(e.get("client") != "Sentinel" for e in events))
        watched.snapshots += 1
        watched.events += len(events)
        watched.errors = 0
        watched.failing.ok(account=account)
        metrics.ACCOUNT_SNAPSHOTS.labels(
            platform=platform, outcome="baseline" if previous is None else "ok"
        ).inc()
        if previous is None:
            log.info("account_state.baseline", account=account, fields=sorted(current))
        return events

    def _keep(self, account: str, current: Mapping[str, Any], ts: str, foreign: bool) -> None:
        now = self.clock()
        data = json.dumps(current, sort_keys=True)
        row = self.store.query_one("SELECT foreign_at FROM account_snapshots WHERE account = ?", (account,))
        if row is None:  # the baseline is the first known-good snapshot
            self.store.execute(
                "INSERT INTO account_snapshots(account, data, taken, good, good_taken) VALUES(?, ?, ?, ?, ?)",
                (account, data, ts, data, ts),
            )
            return
        foreign_at = now if foreign else row["foreign_at"]
        settled = foreign_at is None or now - float(foreign_at) >= SETTLE_SECONDS
        self.store.execute(
            "UPDATE account_snapshots SET data = ?, taken = ?, foreign_at = ?, "
            "good = CASE WHEN ? THEN ? ELSE good END, good_taken = CASE WHEN ? THEN ? ELSE good_taken END "
            "WHERE account = ?",
            (data, ts, foreign_at, settled, data, settled, ts, account),
        )

    async def _state(self, watched: _Watched) -> dict[str, Any]:
        try:
            return await watched.adapter.account_state()
        except PlatformAuthFailed:
            fresh = await self.reconnect(watched.account) if self.reconnect else None
            if fresh is None:
                raise
            # the credentials changed since the adapter was made (a rotation): once more, fresh
            old, watched.adapter = watched.adapter, fresh
            await old.aclose()
            return await fresh.account_state()

    # -- the schedule ------------------------------------------------------------------------
    def _delay(self) -> float:
        return self.interval * (1.0 + self.jitter * (2.0 * self.rng.random() - 1.0))

    async def _guarded(self, watched: _Watched, *, held: bool = False) -> None:
        """One snapshot whose failure is counted, never raised (``held``: the lock is ours)."""
        try:
            await (self._snapshot(watched) if held else self.snapshot(watched.account))
        except Exception as e:  # an unexpected API shape or a failing sink: never the end of watching
            watched.errors += 1
            watched.last_error = f"{e.__class__.__name__}: {e}"
            metrics.ACCOUNT_SNAPSHOTS.labels(platform=watched.adapter.info.platform, outcome="error").inc()
            log.error("account_state.snapshot_crashed", account=watched.account, error=watched.last_error)

    async def _loop(self, watched: _Watched) -> None:
        await asyncio.sleep(self.rng.random() * self.interval * self.jitter)  # spread the first round
        while True:
            await self._guarded(watched)
            await asyncio.sleep(self._delay())

    def busy(self, account: str) -> bool:
        """Whether a snapshot of ``account`` is running or waiting to run."""
        watched = self.state.get(account)
        return watched is not None and (watched.pending or watched.lock.locked())

    def poke(self, account: str) -> bool:
        """Snapshot ``account`` now, beside its schedule (False: not watched, or stopped).

        At most one poked snapshot waits per account: a poke while one waits joins it."""
        watched = self.state.get(account)
        if watched is None or not self._running:
            return False
        watched.pokes += 1
        if watched.pending:
            return True
        watched.pending = True

        async def poked() -> None:
            async with watched.lock:
                watched.pending = False
                await self._guarded(watched, held=True)

        task = asyncio.create_task(poked(), name=f"account-state-poke:{account}")
        self._poked.add(task)
        task.add_done_callback(self._poked.discard)
        return True

    def _start(self, watched: _Watched) -> None:
        watched.task = asyncio.create_task(self._loop(watched), name=f"account-state:{watched.account}")

    async def run(self) -> None:
        """Snapshot every account on its own jittered schedule until ``stop()``."""
        self._running = True
        for watched in self.state.values():
            self._start(watched)

    async def stop(self) -> None:
        self._running = False
        tasks = [w.task for w in self.state.values() if w.task is not None] + list(self._poked)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def status(self) -> dict[str, Any]:
        return {
            a: {
                "snapshots": w.snapshots,
                "events": w.events,
                "pokes": w.pokes,
                "errors": w.errors,
                "last_error": w.last_error,
            }
            for a, w in self.state.items()
        }
