"""Freeze state and incidents, kept in the state database so they survive restarts.

``freezes`` has one row per account that was ever frozen (``frozen`` says whether it is
now); ``freeze_steps`` records each step of the current freeze with its status, attempts
and detail, so a restart resumes the steps that are not finished; ``incidents`` and
``incident_events`` keep the timeline: findings, evidence posts, actions and who did
them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sentinel.redact import scrub_obj
from sentinel.store import Store

MIGRATIONS = [
    """
    CREATE TABLE freezes (
        account    TEXT PRIMARY KEY,
        frozen     INTEGER NOT NULL,
        since      TEXT NOT NULL,
        reason     TEXT NOT NULL,
        actor      TEXT NOT NULL,
        automatic  INTEGER NOT NULL,
        operator   TEXT NOT NULL DEFAULT '',
        incident   INTEGER,
        generation INTEGER NOT NULL DEFAULT 1,
        updated    TEXT NOT NULL
    );
    CREATE TABLE freeze_steps (
        account    TEXT NOT NULL,
        generation INTEGER NOT NULL,
        step       TEXT NOT NULL,
        status     TEXT NOT NULL,
        attempts   INTEGER NOT NULL DEFAULT 0,
        detail     TEXT NOT NULL DEFAULT '',
        updated    TEXT NOT NULL,
        PRIMARY KEY (account, generation, step)
    );
    CREATE TABLE incidents (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        opened   TEXT NOT NULL,
        status   TEXT NOT NULL,
        title    TEXT NOT NULL,
        accounts TEXT NOT NULL,
        closed   TEXT
    );
    CREATE TABLE incident_events (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        incident INTEGER NOT NULL REFERENCES incidents(id),
        ts       TEXT NOT NULL,
        kind     TEXT NOT NULL,
        actor    TEXT NOT NULL,
        account  TEXT NOT NULL DEFAULT '',
        data     TEXT NOT NULL
    );
    CREATE INDEX incident_events_incident ON incident_events(incident);
    CREATE TABLE issued_tokens (
        accessor TEXT PRIMARY KEY,
        account  TEXT NOT NULL,
        created  TEXT NOT NULL,
        revoked  TEXT
    );
    CREATE INDEX issued_tokens_account ON issued_tokens(account)
    """,
    # Sentinel hands out no Vault tokens, so it has none of its own to revoke: the table of
    # "issued tokens" was never written. People's tokens end when their entity is disabled.
    """
    DROP TABLE IF EXISTS issued_tokens
    """,
    # who froze, by Vault identity key (sentinel.identity): the two-person rule compares it
    "ALTER TABLE freezes ADD COLUMN actor_id TEXT NOT NULL DEFAULT ''",
    # What an automatic incident is about (the campaign's text): unrelated attacks at the
    # same time are separate incidents.
    """
    ALTER TABLE incidents ADD COLUMN campaign TEXT NOT NULL DEFAULT ''
    """,
]

# Step statuses: pending (not yet run), done, failed (gave up after retries; will be
# resumed on restart), todo (the platform cannot do it: a person must), skipped (not wanted).
FINISHED = ("done", "todo", "skipped")
AUTOMATIC = "Automatic freeze"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class StepState:
    step: str
    status: str
    attempts: int = 0
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "status": self.status, "attempts": self.attempts, "detail": self.detail}


@dataclass
class FreezeRecord:
    account: str
    frozen: bool
    since: str
    reason: str
    actor: str
    automatic: bool
    operator: str
    incident: int | None
    generation: int
    steps: list[StepState] = field(default_factory=list)
    actor_id: str = ""
    """The freezer's Vault identity key (``entity:<id>`` / ``token:<accessor>``)."""

    @property
    def settled(self) -> bool:
        """Nothing left that Sentinel can do (steps done, skipped, or a person's to-do)."""
        return all(s.status in FINISHED for s in self.steps)

    @property
    def complete(self) -> bool:
        """Every step done or deliberately skipped: no failure and no manual to-do left."""
        return all(s.status in ("done", "skipped") for s in self.steps)

    @property
    def state(self) -> str:
        """``locked`` once the platform locked the account too, else ``frozen`` (blocked at the
        gate and in Vault; the platform's lock not done, not possible or still to come)."""
        return "locked" if any(s.step == "lock" and s.status == "done" for s in self.steps) else "frozen"

    @property
    def progress(self) -> str:
        """The steps in a word: complete, to-do left (for a person), or in progress or failed."""
        if self.complete:
            return "complete"
        return "to-do left" if self.settled else "in progress or failed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "frozen": self.frozen,
            "since": self.since,
            "reason": self.reason,
            "actor": self.actor,
            "automatic": self.automatic,
            "operator": self.operator,
            "incident": self.incident,
            "complete": self.complete,
            "settled": self.settled,
            "steps": [s.to_dict() for s in self.steps],
        }


class ResponseStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.migrate("response", MIGRATIONS)

    # -- freezes ---------------------------------------------------------------------------
    def mark_frozen(
        self,
        accounts: Sequence[str],
        steps: Sequence[str],
        reason: str,
        actor: str,
        automatic: bool,
        operator: str = "",
        incident: int | None = None,
        done: Iterable[str] = (),
        actor_id: str = "",
    ) -> list[str]:
        """Freeze ``accounts`` in one transaction; return those that were not frozen already.

        An account already frozen keeps its freeze (and its steps); a new freeze of an
        unfrozen account starts a new generation of steps, all pending except ``done``.
        """
        ts = now_iso()
        done = set(done)
        fresh: list[str] = []
        with self.store.transaction() as db:
            for account in accounts:
                row = db.execute(
                    "SELECT frozen, generation FROM freezes WHERE account = ?", (account,)
                ).fetchone()
                if row is not None and row[0]:
                    continue
                generation = (int(row[1]) + 1) if row is not None else 1
                db.execute(
                    "INSERT INTO freezes(account, frozen, since, reason, actor, automatic, operator, incident, "
                    "generation, updated, actor_id) VALUES(?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(account) DO UPDATE SET frozen = 1, since = excluded.since, reason = excluded.reason, "
                    "actor = excluded.actor, automatic = excluded.automatic, operator = excluded.operator, "
                    "incident = excluded.incident, generation = excluded.generation, updated = excluded.updated, "
                    "actor_id = excluded.actor_id",
                    (
                        account,
                        ts,
                        reason,
                        actor,
                        int(automatic),
                        operator,
                        incident,
                        generation,
                        ts,
                        actor_id,
                    ),
                )
                for step in steps:
                    db.execute(
                        "INSERT INTO freeze_steps(account, generation, step, status, attempts, detail, updated) "
                        "VALUES(?, ?, ?, ?, ?, '', ?)",
                        (
                            account,
                            generation,
                            step,
                            "done" if step in done else "pending",
                            int(step in done),
                            ts,
                        ),
                    )
                fresh.append(account)
        return fresh

    def set_incident(self, accounts: Iterable[str], incident: int) -> None:
        for account in accounts:
            self.store.execute(
                "UPDATE freezes SET incident = ? WHERE account = ? AND frozen = 1", (incident, account)
            )

    def set_step(
        self, account: str, step: str, status: str, detail: str = "", attempts: int | None = None
    ) -> None:
        rec = self.get(account)
        if rec is None:
            return
        self.store.execute(
            "UPDATE freeze_steps SET status = ?, detail = ?, attempts = COALESCE(?, attempts + 1), updated = ? "
            "WHERE account = ? AND generation = ? AND step = ?",
            (status, str(scrub_obj(detail))[:2000], attempts, now_iso(), account, rec.generation, step),
        )

    def set_operator(self, accounts: Iterable[str], operator: str) -> None:
        """Name the contained operator on frozen accounts that name none (so the last unfreeze
        re-enables their entity)."""
        for account in accounts:
            self.store.execute(
                "UPDATE freezes SET operator = ? WHERE account = ? AND frozen = 1 AND operator = ''",
                (operator, account),
            )

    def mark_unfrozen(self, account: str) -> None:
        self.store.execute(
            "UPDATE freezes SET frozen = 0, updated = ? WHERE account = ?", (now_iso(), account)
        )

    def get(self, account: str) -> FreezeRecord | None:
        row = self.store.query_one("SELECT * FROM freezes WHERE account = ?", (account,))
        if row is None:
            return None
        steps = [
            StepState(r["step"], r["status"], int(r["attempts"]), r["detail"])
            for r in self.store.query(
                "SELECT * FROM freeze_steps WHERE account = ? AND generation = ? ORDER BY rowid",
                (account, row["generation"]),
            )
        ]
        return _record(row, steps)

    def frozen_records(self) -> dict[str, FreezeRecord]:
        """Every frozen account's record with its current steps, in two queries (for lists)."""
        rows = self.store.query("SELECT * FROM freezes WHERE frozen = 1 ORDER BY account")
        steps: dict[str, list[StepState]] = {}
        for r in self.store.query(
            "SELECT s.* FROM freeze_steps s JOIN freezes f ON f.account = s.account "
            "AND f.generation = s.generation WHERE f.frozen = 1 ORDER BY s.rowid"
        ):
            steps.setdefault(r["account"], []).append(
                StepState(r["step"], r["status"], int(r["attempts"]), r["detail"])
            )
        return {r["account"]: _record(r, steps.get(r["account"], [])) for r in rows}

    def frozen(self) -> list[str]:
        return [
            str(r["account"])
            for r in self.store.query("SELECT account FROM freezes WHERE frozen = 1 ORDER BY account")
        ]

    def unfinished(self) -> list[FreezeRecord]:
        """Frozen accounts with steps still pending or failed (to resume)."""
        out = []
        for account in self.frozen():
            rec = self.get(account)
            if rec is not None and not rec.settled:
                out.append(rec)
        return out

    # -- incidents -------------------------------------------------------------------------------
    def open_incident(
        self,
        title: str,
        accounts: Sequence[str],
        window: float = 3600.0,
        automatic: bool = False,
        campaign: str = "",
        campaign_title: str = "",
    ) -> int:
        """Extend an open incident, else open one.

        An open incident opened within ``window`` seconds is extended when it shares an
        account, or, for an automatic freeze, when it is automatic too and about the same
        ``campaign`` (any automatic one when no campaign is given): a worm that freezes forty
        accounts in a minute is one incident, not forty, and an unrelated attack at the same
        time is another. A campaign reaching several accounts is retitled ``campaign_title``
        (``{n}`` is the number of accounts).
        """
        cutoff = datetime.fromtimestamp(time.time() - window, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for row in self.store.query(
            "SELECT id, accounts, title, campaign FROM incidents WHERE status = 'open' AND opened >= ? "
            "ORDER BY id DESC",
            (cutoff,),
        ):
            have = set(json.loads(row["accounts"]))
            same = not campaign or str(row["campaign"]) in ("", campaign)
            if have & set(accounts) or (automatic and same and str(row["title"]).startswith(AUTOMATIC)):
                merged = sorted(have | set(accounts))
                retitle = campaign and campaign == row["campaign"] and campaign_title and len(merged) > 1
                self.store.execute(
                    "UPDATE incidents SET accounts = ?, title = ? WHERE id = ?",
                    (
                        json.dumps(merged),
                        campaign_title.format(n=len(merged)) if retitle else row["title"],
                        row["id"],
                    ),
                )
                return int(row["id"])
        return self.store.execute(
            "INSERT INTO incidents(opened, status, title, accounts, campaign) VALUES(?, 'open', ?, ?, ?)",
            (now_iso(), title, json.dumps(sorted(set(accounts))), campaign),
        )

    def add_event(
        self, incident: int, kind: str, actor: str, data: Mapping[str, Any], account: str = ""
    ) -> None:
        self.store.execute(
            "INSERT INTO incident_events(incident, ts, kind, actor, account, data) VALUES(?, ?, ?, ?, ?, ?)",
            (incident, now_iso(), kind, actor, account, json.dumps(scrub_obj(dict(data)), sort_keys=True)),
        )

    def close_incident_if_clear(self, incident: int) -> bool:
        row = self.store.query_one("SELECT accounts FROM incidents WHERE id = ?", (incident,))
        if row is None:
            return False
        frozen = set(self.frozen())
        if frozen & set(json.loads(row["accounts"])):
            return False
        self.store.execute(
            "UPDATE incidents SET status = 'resolved', closed = ? WHERE id = ? AND status = 'open'",
            (now_iso(), incident),
        )
        return True

    def close_incident(self, incident: int, actor: str, reason: str) -> str:
        """Close an open incident by hand; '' when closed, else why not (accounts still frozen)."""
        row = self.store.query_one("SELECT accounts, status FROM incidents WHERE id = ?", (incident,))
        if row is None:
            return f"no incident {incident}"
        if row["status"] != "open":
            return f"incident {incident} is already {row['status']}"
        still = sorted(set(self.frozen()) & set(json.loads(row["accounts"])))
        if still:
            return f"{', '.join(still)} still frozen: unfreeze first (sentinel unfreeze ACCOUNT)"
        self.add_event(incident, "action", actor, {"step": "close", "status": "done", "reason": reason})
        self.store.execute(
            "UPDATE incidents SET status = 'resolved', closed = ? WHERE id = ? AND status = 'open'",
            (now_iso(), incident),
        )
        return ""

    def incidents(self, status: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM incidents"
        params: tuple[str, ...] = ()
        if status:
            sql += " WHERE status = ?"
            params = (status,)
        return [
            {
                "id": int(r["id"]),
                "opened": r["opened"],
                "status": r["status"],
                "title": r["title"],
                "accounts": json.loads(r["accounts"]),
                "closed": r["closed"],
            }
            for r in self.store.query(sql + " ORDER BY id DESC", params)
        ]

    def posts(self, incident: int, account: str) -> list[dict[str, Any]]:
        """The offending posts stored as evidence for ``account`` in ``incident``."""
        rows = self.store.query(
            "SELECT data FROM incident_events WHERE incident = ? AND account = ? AND kind = 'post' ORDER BY id",
            (incident, account),
        )
        return [json.loads(r["data"]) for r in rows]

    def incident(self, incident: int) -> dict[str, Any] | None:
        rows = [i for i in self.incidents() if i["id"] == incident]
        if not rows:
            return None
        out = rows[0]
        out["events"] = [
            {
                "ts": r["ts"],
                "kind": r["kind"],
                "actor": r["actor"],
                "account": r["account"],
                "data": json.loads(r["data"]),
            }
            for r in self.store.query(
                "SELECT * FROM incident_events WHERE incident = ? ORDER BY id", (incident,)
            )
        ]
        out["assignee"] = next(
            (str(e["data"].get("assignee", "")) for e in reversed(out["events"]) if e["kind"] == "assign"), ""
        )
        return out


def _record(row: Any, steps: list[StepState]) -> FreezeRecord:
    return FreezeRecord(
        account=row["account"],
        frozen=bool(row["frozen"]),
        since=row["since"],
        reason=row["reason"],
        actor=row["actor"],
        automatic=bool(row["automatic"]),
        operator=row["operator"],
        incident=row["incident"],
        generation=int(row["generation"]),
        steps=steps,
        actor_id=row["actor_id"],
    )
