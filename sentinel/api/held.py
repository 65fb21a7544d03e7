"""Held posts: what the gate held for a person to approve, in the state store.

Two kinds: ``broker`` (Sentinel publishes the post itself once approved) and ``gate`` (a
tool asked ``/v1/check``; once approved the tool may publish and polls the held post to
learn so). States: ``held`` -> ``approved`` -> ``published`` | ``failed`` (a failed publish
may be approved again), or ``held`` -> ``rejected``. Every transition is a compare-and-set
on the state, so two approvers racing cannot both win.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sentinel.store import Store

COMPONENT = "api_held"
MIGRATIONS = [
    """
    CREATE TABLE api_held_posts (
        id         TEXT PRIMARY KEY,
        kind       TEXT NOT NULL,
        account    TEXT NOT NULL,
        author     TEXT NOT NULL,
        text       TEXT NOT NULL,
        reply_to   TEXT NOT NULL DEFAULT '',
        client     TEXT NOT NULL DEFAULT '',
        event      TEXT NOT NULL,
        created    REAL NOT NULL,
        status     TEXT NOT NULL,
        score      REAL NOT NULL,
        findings   TEXT NOT NULL,
        decided_by TEXT,
        decided_at REAL,
        reason     TEXT,
        post_id    TEXT,
        url        TEXT,
        error      TEXT
    );
    CREATE INDEX api_held_status ON api_held_posts(status, created);
    CREATE INDEX api_held_account ON api_held_posts(account, created)
    """,
    # who sent the post, by Vault identity (``author`` may be a name a publishing tool asserted)
    """
    ALTER TABLE api_held_posts ADD COLUMN caller TEXT NOT NULL DEFAULT '';
    ALTER TABLE api_held_posts ADD COLUMN caller_name TEXT NOT NULL DEFAULT ''
    """,
]
STATUSES = ("held", "approved", "rejected", "published", "failed")


@dataclass(frozen=True)
class HeldPost:
    id: str
    kind: str
    account: str
    author: str
    text: str
    reply_to: str
    client: str
    event: str
    created: float
    status: str
    score: float
    findings: list[dict[str, Any]]
    decided_by: str | None = None
    decided_at: float | None = None
    reason: str | None = None
    post_id: str | None = None
    url: str | None = None
    error: str | None = None
    caller: str = ""
    """The sender's Vault identity key (``sentinel.identity``); the four-eyes rule compares it."""
    caller_name: str = ""

    def to_dict(self) -> dict[str, Any]:
        from sentinel.engine.events import format_ts

        return {
            "id": self.id,
            "kind": self.kind,
            "account": self.account,
            "author": self.author,
            "sent_by": self.caller_name or self.author,
            "text": self.text,
            "reply_to": self.reply_to or None,
            "client": self.client,
            "event": self.event,
            "created": format_ts(self.created),
            "status": self.status,
            "score": self.score,
            "findings": self.findings,
            "decided_by": self.decided_by,
            "decided_at": format_ts(self.decided_at) if self.decided_at else None,
            "reason": self.reason,
            "post_id": self.post_id,
            "url": self.url,
            "error": self.error,
        }


def _row(r: Any) -> HeldPost:
    d = dict(r)
    d["findings"] = json.loads(d["findings"])
    return HeldPost(**d)


class HeldStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.migrate(COMPONENT, MIGRATIONS)

    def add(
        self,
        kind: str,
        account: str,
        author: str,
        text: str,
        event: str,
        created: float,
        score: float,
        findings: list[dict[str, Any]],
        reply_to: str = "",
        client: str = "",
        caller: str = "",
        caller_name: str = "",
    ) -> HeldPost:
        held_id = "held_" + uuid.uuid4().hex
        self.store.execute(
            "INSERT INTO api_held_posts(id, kind, account, author, text, reply_to, client, event, created,"
            " status, score, findings, caller, caller_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'held', ?, ?, ?, ?)",
            (
                held_id,
                kind,
                account,
                author,
                text,
                reply_to,
                client,
                event,
                created,
                score,
                json.dumps(findings),
                caller,
                caller_name,
            ),
        )
        got = self.get(held_id)
        assert got is not None
        return got

    def get(self, held_id: str) -> HeldPost | None:
        row = self.store.query_one("SELECT * FROM api_held_posts WHERE id = ?", (held_id,))
        return _row(row) if row else None

    def list(self, status: str | None = None, account: str | None = None, limit: int = 100) -> list[HeldPost]:
        sql, params = "SELECT * FROM api_held_posts WHERE 1 = 1", []
        if status:
            sql += " AND status = ?"
            params.append(status)
        if account:
            sql += " AND account = ?"
            params.append(account)
        sql += " ORDER BY created DESC, id LIMIT ?"
        params.append(str(limit))
        return [_row(r) for r in self.store.query(sql, params)]

    def count(self, account: str, status: str = "held") -> int:
        row = self.store.query_one(
            "SELECT COUNT(*) AS n FROM api_held_posts WHERE account = ? AND status = ?", (account, status)
        )
        return int(row["n"]) if row else 0

    def counts(self, status: str = "held") -> dict[str, int]:
        """How many posts are in ``status``, per account (one query, for account lists)."""
        rows = self.store.query(
            "SELECT account, COUNT(*) AS n FROM api_held_posts WHERE status = ? GROUP BY account", (status,)
        )
        return {str(r["account"]): int(r["n"]) for r in rows}

    def transition(
        self, held_id: str, from_states: tuple[str, ...], to: str, actor: str, at: float, reason: str = ""
    ) -> HeldPost | None:
        """Move to ``to`` if the post is in one of ``from_states``; None when it was not."""
        marks = ",".join("?" for _ in from_states)
        n = self.store.execute(
            f"UPDATE api_held_posts SET status = ?, decided_by = ?, decided_at = ?, reason = ?, error = NULL "  # noqa: S608 - only placeholders are interpolated
            f"WHERE id = ? AND status IN ({marks})",
            (to, actor, at, reason or None, held_id, *from_states),
        )
        return self.get(held_id) if n else None

    def published(self, held_id: str, post_id: str, url: str) -> HeldPost | None:
        self.store.execute(
            "UPDATE api_held_posts SET status = 'published', post_id = ?, url = ? WHERE id = ?",
            (post_id, url, held_id),
        )
        return self.get(held_id)

    def failed(self, held_id: str, error: str) -> HeldPost | None:
        self.store.execute(
            "UPDATE api_held_posts SET status = 'failed', error = ? WHERE id = ?", (error, held_id)
        )
        return self.get(held_id)
