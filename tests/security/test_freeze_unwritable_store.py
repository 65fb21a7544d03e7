"""A hijack while the state database cannot be written must still be contained.

The attacker (or bad luck) makes the store unwritable — a full ``/var``, another process
holding the database's write lock — and then posts a scam with a stolen token. The gate
blocks the account at once from memory; the freeze must then be recorded and its steps
(deny secrets, revoke sessions, rotate, lock) run once the store can be written again, or
a restart would hand the account back to the attacker with nothing contained.
"""

from __future__ import annotations

import secrets
import sqlite3

from sentinel.daemon import STORE_BUSY_SECONDS
from sentinel.response.store import ResponseStore
from tests.conftest import Deployment
from tests.security.test_identity import Daemon, daemon, lure, publisher
from tests.waiting import wait_for

__all__ = ["daemon"]


async def test_a_freeze_made_while_the_store_is_locked_is_recorded_and_contained_after(
    daemon: Daemon, deployment: Deployment
) -> None:
    name = f"thief-{secrets.token_hex(3)}"
    token = publisher(deployment, name, assert_author=False)
    rs = ResponseStore(daemon.app.store)
    daemon.app.store.execute(f"PRAGMA busy_timeout = {int(STORE_BUSY_SECONDS * 1000)}")  # the daemon's
    locker = sqlite3.connect(str(daemon.app.store.path), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        resp = await lure(daemon, token, "lure-1", name)
        assert resp.status_code == 200 and resp.json()["verdict"] == "block" and resp.json()["frozen"]
        await wait_for(lambda: not daemon.guard._tasks, what="the freeze's first attempt")
        assert rs.frozen() == []  # nothing could be recorded yet
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert daemon.guard.engine is not None and daemon.guard.engine.frozen("lure-1") is not None

    await wait_for(lambda: rs.frozen() == ["lure-1"], timeout=15, what="the freeze recorded")
    await wait_for(lambda: not daemon.guard._tasks, timeout=30, what="the freeze's steps")
    record = rs.get("lure-1")
    assert record is not None and record.automatic and record.actor == "sentinel"
    assert record.settled, record.steps  # every step ran, as on any freeze
    daemon.guard.sync_freezes()  # the store and the gate agree: still blocked
    assert daemon.guard.engine.frozen("lure-1") is not None
