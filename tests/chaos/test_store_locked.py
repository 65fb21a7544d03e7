"""The state database locked by another process: noticed, survived, and said afterwards."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from sentinel.daemon import STORE_ALERT_KEY
from sentinel.response.responder import STEPS
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.chaos.conftest import ChaosDaemon
from tests.waiting import wait_until


def test_a_locked_store_is_reported_and_nothing_committed_is_lost(
    daemon_factory: Callable[..., ChaosDaemon],
) -> None:
    d = daemon_factory()
    wait_until("ready", lambda: (d.ready() or {}).get("ready"))
    db = d.dir / "state" / "sentinel.sqlite3"
    with Store(db) as store:
        ResponseStore(store).mark_frozen(["example-brand-x"], STEPS, "before", "op-ivy", False)

    locker = sqlite3.connect(str(db), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        wait_until("the locked store", lambda: ((d.ready() or {}).get("checks") or {}).get("store") is False)
        assert d.metric("sentinel_store_up") == 0.0
        healthz = d.get("/healthz")  # the loop still answers
        assert healthz is not None and healthz.status_code == 200
    finally:
        locker.execute("ROLLBACK")
        locker.close()

    wait_until("recovery", lambda: (d.ready() or {}).get("ready"))
    status = d.status()
    assert status["store"]["ok"] is True
    print(f"worst loop lag while the store was locked: {status['loop_lag_max']:.2f} s")
    alerts = d.alerts(STORE_ALERT_KEY)
    said = [a for a in alerts if a["status"] == "firing"]
    assert said and "was unwritable from" in said[-1]["summary"]
    with Store(db) as store:
        assert ResponseStore(store).frozen() == ["example-brand-x"]
    assert d.stop() == 0
    assert '"store.unwritable"' in d.output() and d.output().count('"store.unwritable"') == 1
