"""Rule statistics: what each rule fired on, per day, in enforce or observe mode.

The guard notes every decision's findings (enforced, with the decision's verdict) and its
observe-mode findings (with the verdict they would have given, see
``Decision.would``); the counts are added to the store with the baselines, so ``sentinel
rules stats`` can show what a rule on trial would have done over the last days before
anyone trusts it.
"""

from __future__ import annotations

from collections import Counter
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
        self._pending: Counter[tuple[str, str, str, str]] = Counter()

    def note(self, decision: Decision, ts: float) -> None:
        if not decision.findings and not decision.observed:
            return
        day = _day(ts)
        verdict = "freeze" if decision.freeze is not None else decision.verdict
        for f in decision.findings:
            self._pending[(day, f.rule, "enforce", verdict)] += 1
        for f in decision.observed:
            self._pending[(day, f.rule, "observe", decision.would)] += 1

    def flush(self, store: Store) -> int:
        """Add the pending counts to the store; return how many rows changed."""
        if not self._pending:
            return 0
        rows = [(*key, n) for key, n in self._pending.items()]
        self._pending.clear()
        with store.transaction() as db:
            db.executemany(
                "INSERT INTO rule_stats(day, rule, mode, verdict, count) VALUES(?, ?, ?, ?, ?) "
                "ON CONFLICT(day, rule, mode, verdict) DO UPDATE SET count = count + excluded.count",
                rows,
            )
        return len(rows)


def read(store: Store, since_ts: float) -> list[RuleCount]:
    """Counts per rule, mode and verdict from the day of ``since_ts`` on, most frequent first."""
    store.migrate(COMPONENT, MIGRATIONS)
    rows = store.query(
        "SELECT rule, mode, verdict, SUM(count) AS n FROM rule_stats WHERE day >= ? "
        "GROUP BY rule, mode, verdict ORDER BY n DESC, rule, mode, verdict",
        (_day(since_ts),),
    )
    return [RuleCount(str(r["rule"]), str(r["mode"]), str(r["verdict"]), int(r["n"])) for r in rows]
