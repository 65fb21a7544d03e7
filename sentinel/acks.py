"""Acknowledgements: "this rule on this account for this key is expected until DATE, because
REASON" (ElastAlert's per-key silence, Falco's exceptions), so a security team tunes without
editing rule files.

A key is what the finding is about: a link's domain or host, the client, or the author. An
acknowledged finding is left out of the score and named in the decision's notes; it expires
by itself. Acknowledgements live in the state store; who adds or revokes one is recorded (and
audited by the command that does it). The daemon re-reads the active ones every few seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sentinel.engine.events import format_ts
from sentinel.store import Store

COMPONENT = "acks"
MIGRATIONS = [
    """
    CREATE TABLE acks (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        rule     TEXT NOT NULL,
        account  TEXT NOT NULL,
        key      TEXT NOT NULL,
        until    REAL NOT NULL,
        reason   TEXT NOT NULL,
        actor    TEXT NOT NULL,
        created  REAL NOT NULL,
        revoked  REAL,
        revoked_by TEXT
    )
    """,
]


@dataclass(frozen=True)
class Ack:
    rule: str
    account: str
    key: str
    until: float
    reason: str = ""
    actor: str = ""
    id: int = 0
    created: float = 0.0
    revoked: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "account": self.account,
            "key": self.key,
            "until": format_ts(self.until),
            "reason": self.reason,
            "by": self.actor,
            "created": format_ts(self.created) if self.created else None,
            "revoked": format_ts(self.revoked) if self.revoked else None,
        }


class AckStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.migrate(COMPONENT, MIGRATIONS)

    def add(self, rule: str, account: str, key: str, until: float, reason: str, actor: str) -> Ack:
        now = time.time()
        ack_id = self.store.execute(
            "INSERT INTO acks(rule, account, key, until, reason, actor, created) VALUES(?, ?, ?, ?, ?, ?, ?)",
            (rule, account, key.strip().lower(), until, reason, actor, now),
        )
        return Ack(rule, account, key.strip().lower(), until, reason, actor, int(ack_id), now)

    def revoke(self, ack_id: int, actor: str) -> Ack | None:
        """Revoke an active acknowledgement; None when there is no such active one."""
        found = [a for a in self.list(active_only=True) if a.id == ack_id]
        if not found:
            return None
        self.store.execute(
            "UPDATE acks SET revoked = ?, revoked_by = ? WHERE id = ? AND revoked IS NULL",
            (time.time(), actor, ack_id),
        )
        return found[0]

    def list(self, active_only: bool = True, now: float | None = None) -> list[Ack]:
        now = time.time() if now is None else now
        rows = self.store.query(
            "SELECT * FROM acks WHERE ? = 0 OR (revoked IS NULL AND until > ?) ORDER BY id",
            (1 if active_only else 0, now),
        )
        return [
            Ack(
                str(r["rule"]),
                str(r["account"]),
                str(r["key"]),
                float(r["until"]),
                str(r["reason"]),
                str(r["actor"]),
                int(r["id"]),
                float(r["created"]),
                None if r["revoked"] is None else float(r["revoked"]),
            )
            for r in rows
        ]
