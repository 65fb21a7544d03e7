"""Acknowledgements: "this rule on this account for this key is expected until DATE, because
REASON" (ElastAlert's per-key silence, Falco's exceptions), so a security team tunes without
editing rule files.

A key is what the finding is about: a link's domain or host, the client, or the author. An
acknowledged finding is left out of the score and named in the decision's notes; it expires
by itself. Acknowledgements live in the state store; who adds or revokes one is recorded and
audited. The daemon re-reads the active ones every half second.

``Tuning`` is the one place an acknowledgement is checked, stored, revoked and audited, for
the CLI (``sentinel rules ack|acks|unack``) and the API (``/v1/rules/acks``) alike; each
entry point asks Vault first whether the caller holds ``tune`` on the account
(``sentinel.capabilities``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sentinel.engine.events import format_ts
from sentinel.errors import SentinelError
from sentinel.inventory import Inventory
from sentinel.store import Store

MAX_RULE = 128
MAX_KEY = 512
MAX_REASON = 1000
MAX_AHEAD = 366 * 86400
"""An acknowledgement is a silence, not a new rule: it expires within a year."""
UNTIL_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})?)?$"
"""What ``until`` looks like: a UTC date (``2026-12-31``) or date and time (``...T18:00Z``)."""
TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
"""A text field of an acknowledgement: not blank, no control characters (the API's schema too)."""

AuditSink = Callable[[str, str, str, Mapping[str, Any]], Any]
"""``(actor, action, target, details)``: the audit trail's ``append``."""

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
        now = time.time()
        self.store.execute(
            "UPDATE acks SET revoked = ?, revoked_by = ? WHERE id = ? AND revoked IS NULL",
            (now, actor, ack_id),
        )
        return replace(found[0], revoked=now)

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


class AckInvalid(SentinelError):
    """An acknowledgement request with a bad field (named in ``field``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class AckUnknown(AckInvalid):
    """The request names an account or rule that does not exist (``field`` says which)."""


class SelfAcknowledgement(SentinelError):
    """The key names the caller: findings about a person are acknowledged by another person
    (four eyes, like approving a held post), never by that person for themselves."""

    exit_code = 6

    def __init__(self, actor: str) -> None:
        super().__init__(
            f"{actor} cannot acknowledge findings about themselves (the key names them): "
            "another person with 'tune' on the account must"
        )
        self.field = "key"


def parse_until(value: str) -> float:
    """A date or date-time (UTC unless it names an offset) as epoch seconds; ``AckInvalid``
    naming ``until`` otherwise (the window is ``Tuning.check``'s)."""
    if not re.match(UNTIL_PATTERN, value):
        raise AckInvalid("until", f"'until' must be a date such as 2026-12-31 (UTC), got {value!r}")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AckInvalid("until", f"'until' is not a calendar date: {value!r}") from None
    return (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True)
class AckRequest:
    """A checked request for an acknowledgement (see ``Tuning.check``)."""

    rule: str
    account: str
    key: str
    until: float
    reason: str


class Tuning:
    """Acknowledgements checked, stored, revoked and audited; the CLI and the API both use it.

    ``rules`` gives the rule ids in force (an acknowledgement names one of them), ``inventory``
    the accounts; both are read per call, so a reload is followed. ``changed`` is called after
    each acknowledgement added or revoked (the daemon applies it to its engine at once).
    """

    def __init__(
        self,
        store: Store,
        inventory: Callable[[], Inventory],
        rules: Callable[[], Container[str]],
        clock: Callable[[], float] = time.time,
        changed: Callable[[], object] | None = None,
        alert: Callable[..., object] | None = None,
    ) -> None:
        self.acks = AckStore(store)
        self.inventory = inventory
        self.rules = rules
        self.clock = clock
        self.changed = changed
        self.alert = alert
        """``alert(**keywords)``: every acknowledgement added is told to the security team (a
        silenced detection is what a thief of a tuner's token would want first)."""

    def check(self, rule: Any, account: Any, key: Any, until: float, reason: Any) -> AckRequest:
        """Every field checked, the first problem raised as ``AckInvalid`` naming its field
        (``AckUnknown`` for an account or rule that does not exist). Text fields are
        non-blank strings without control characters (``TEXT_PATTERN``), within their length."""
        fields = {"rule": (rule, MAX_RULE), "account": (account, MAX_KEY), "key": (key, MAX_KEY)}
        for name, (value, longest) in {**fields, "reason": (reason, MAX_REASON)}.items():
            if not isinstance(value, str):
                raise AckInvalid(name, f"'{name}' must be a string")
            if len(value) > longest:
                raise AckInvalid(name, f"'{name}' is longer than {longest} characters")
            if not re.search(TEXT_PATTERN, value):
                raise AckInvalid(name, f"'{name}' must not be blank nor hold control characters")
        now = self.clock()
        if until <= now:
            raise AckInvalid("until", "'until' must be in the future")
        if until > now + MAX_AHEAD:
            raise AckInvalid(
                "until", "'until' must be within a year: an acknowledgement is a silence, not a new rule"
            )
        if self.inventory().get(account) is None:
            raise AckUnknown("account", f"no account {account!r} in the inventory")
        if rule not in self.rules():
            raise AckUnknown("rule", f"no rule {rule!r} in the rules in force")
        return AckRequest(rule, account, key.strip().lower(), until, reason.strip())

    def add(self, req: AckRequest, actor: str, audit: AuditSink) -> Ack:
        """Store ``req`` as ``actor``'s, audit it (``rule.ack``) and raise an ``ack_added`` alert;
        the caller has authorized it. ``SelfAcknowledgement`` when the key names ``actor``
        (an author key is the identity a post was made by: exempting oneself is refused)."""
        if req.key == actor.strip().lower():
            raise SelfAcknowledgement(actor)
        got = self.acks.add(req.rule, req.account, req.key, req.until, req.reason, actor)
        audit(actor, "rule.ack", req.account, got.to_dict())
        if self.changed is not None:
            self.changed()
        if self.alert is not None:
            until = got.to_dict()["until"]
            self.alert(
                kind="ack_added",
                severity="warning",
                summary=f"{actor} acknowledged {got.rule} on {got.account} for {got.key} until {until}",
                accounts=[got.account],
                dedup_key=f"ack_added:{got.id}",
                details={
                    "ack": got.id,
                    "rule": got.rule,
                    "key": got.key,
                    "until": until,
                    "reason": got.reason,
                },
            )
        return got

    def active(self, ack_id: int) -> Ack | None:
        return next((a for a in self.acks.list(active_only=True, now=self.clock()) if a.id == ack_id), None)

    def revoke(self, ack: Ack, actor: str, audit: AuditSink) -> Ack | None:
        """Revoke ``ack`` as ``actor`` and audit it (``rule.unack``); None when no longer active."""
        got = self.acks.revoke(ack.id, actor)
        if got is not None:
            audit(actor, "rule.unack", got.account, {**got.to_dict(), "revoked_by": actor})
            if self.changed is not None:
                self.changed()
        return got

    def list(self, active_only: bool = True) -> list[Ack]:
        return self.acks.list(active_only=active_only, now=self.clock())


def engine_acks(acks: AckStore) -> list[tuple[str, str, str, float, str]]:
    """The active acknowledgements as the engine takes them (``Engine.set_acks``)."""
    return [(a.rule, a.account, a.key, a.until, a.actor) for a in acks.list()]
