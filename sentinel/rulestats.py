"""Rule statistics: what each rule fired on, per day, in enforce or observe mode.

The guard notes every decision's findings (enforced, with the decision's verdict) and its
observe-mode findings (with the verdict they would have given, see
``Decision.would``); the counts are added to the store with the baselines, so ``sentinel
rules stats`` can show what a rule on trial would have done over the last days before
anyone trusts it.

Counts are kept per account, so the API can show a caller the counts of the accounts they
may tune and no others (``read(..., accounts=...)``); counts from before accounts were kept
have the account ``''`` and are part of the organisation-wide view only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sentinel.engine.events import Decision
from sentinel.store import Store

COMPONENT = "rule_stats"
MIGRATIONS = [
    """
    CREATE TABLE rule_stats (
        day     TEXT NOT NULL,
        rule    TEXT NOT NULL,
        mode    TEXT NOT NULL,
        verdict TEXT NOT NULL,
        count   INTEGER NOT NULL,
        PRIMARY KEY (day, rule, mode, verdict)
    )
    """,
    """
    CREATE TABLE rule_stats_accounts (
        day     TEXT NOT NULL,
        account TEXT NOT NULL,
        rule    TEXT NOT NULL,
        mode    TEXT NOT NULL,
        verdict TEXT NOT NULL,
        count   INTEGER NOT NULL,
        PRIMARY KEY (day, account, rule, mode, verdict)
    );
    INSERT INTO rule_stats_accounts(day, account, rule, mode, verdict, count)
        SELECT day, '', rule, mode, verdict, count FROM rule_stats;
    DROP TABLE rule_stats;
    ALTER TABLE rule_stats_accounts RENAME TO rule_stats
    """,
]


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class RuleCount:
    rule: str
    mode: str
    verdict: str
    count: int

    def to_dict(self) -> dict[str, str | int]:
        return {"rule": self.rule, "mode": self.mode, "verdict": self.verdict, "count": self.count}


class RuleStats:
    """Counts not yet written to the store."""

    def __init__(self) -> None:
        self._pending: Counter[tuple[str, str, str, str, str]] = Counter()

    def note(self, decision: Decision, ts: float) -> None:
        if not decision.findings and not decision.observed:
            return
        day = _day(ts)
        verdict = "freeze" if decision.freeze is not None else decision.verdict
        account = decision.account
        for f in decision.findings:
            self._pending[(day, account, f.rule, "enforce", verdict)] += 1
        for f in decision.observed:
            self._pending[(day, account, f.rule, "observe", decision.would)] += 1

    def flush(self, store: Store) -> int:
        """Add the pending counts to the store; return how many rows changed."""
        if not self._pending:
            return 0
        rows = [(*key, n) for key, n in self._pending.items()]
        self._pending.clear()
        with store.transaction() as db:
            db.executemany(
                "INSERT INTO rule_stats(day, account, rule, mode, verdict, count) VALUES(?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(day, account, rule, mode, verdict) DO UPDATE SET count = count + excluded.count",
                rows,
            )
        return len(rows)


def read(store: Store, since_ts: float, accounts: Collection[str] | None = None) -> list[RuleCount]:
    """Counts per rule, mode and verdict from the day of ``since_ts`` on, most frequent first:
    of every account (``accounts`` None: the organisation), else of ``accounts`` only."""
    store.migrate(COMPONENT, MIGRATIONS)
    only = ""
    params: list[str] = [_day(since_ts)]
    if accounts is not None:
        only = f" AND account IN ({', '.join('?' * len(accounts))})"
        params += sorted(accounts)
    rows = store.query(
        f"SELECT rule, mode, verdict, SUM(count) AS n FROM rule_stats WHERE day >= ?{only} "  # noqa: S608 - placeholders only
        "GROUP BY rule, mode, verdict ORDER BY n DESC, rule, mode, verdict",
        tuple(params),
    )
    return [RuleCount(str(r["rule"]), str(r["mode"]), str(r["verdict"]), int(r["n"])) for r in rows]
