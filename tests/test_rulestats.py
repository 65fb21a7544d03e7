"""Rule statistics per account, and the counts kept from before accounts were counted."""

from __future__ import annotations

import time
from pathlib import Path

from sentinel.engine.events import Decision, Finding
from sentinel.rulestats import COMPONENT, MIGRATIONS, RuleStats, read
from sentinel.store import Store


def test_counts_are_read_per_account_and_older_counts_only_organisation_wide(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite3")
    store.migrate(COMPONENT, MIGRATIONS[:1])  # a store from before counts had accounts
    today = time.strftime("%Y-%m-%d", time.gmtime())
    with store.transaction() as db:
        db.execute("INSERT INTO rule_stats VALUES(?, 'test.old', 'enforce', 'hold', 5)", (today,))
    stats = RuleStats()
    hit = Finding("test.new", "medium", "matched", 5.0)
    for n, account in enumerate(("acct-a", "acct-b", "acct-b")):
        stats.note(Decision(f"e{n}", account, "gate", "hold", 5.0, "medium", (hit,)), time.time())
    store.migrate(COMPONENT, MIGRATIONS)
    stats.flush(store)
    since = time.time() - 86400

    def counts(accounts: list[str] | None) -> list[tuple[str, int]]:
        return [(c.rule, c.count) for c in read(store, since, accounts)]

    assert counts(None) == [("test.old", 5), ("test.new", 3)]
    assert counts(["acct-b"]) == [("test.new", 2)]
    assert counts(["acct-a", "acct-b"]) == [("test.new", 3)]
    assert counts([]) == []
    store.close()
