"""The durable alert outbox: nothing raised is lost, even across crashes and restarts.

``AlertOutbox.raise_alert`` commits the alert, and its place in each receiver's group, in
one transaction before anything is sent. The dispatcher later turns due groups into
*deliveries* (one rendered notification for one receiver, with an idempotency key kept
across retries) and records each attempt here. A delivery that still fails after
``dead_after`` goes to the dead-letter list, from where ``sentinel alerts retry`` brings it
back. Several processes may share the database (the daemon delivers, the CLI raises,
silences and retries); wake-ups within a process go through ``add_listener``.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sentinel.alerts.model import Alert, Status, Step, alert_from_dict
from sentinel.alerts.render import Message, build_message
from sentinel.alerts.routing import (
    Timing,
    flush_at_after_add,
    group_key,
    group_labels,
    receivers_for,
    repeat_due,
    urgent,
)
from sentinel.alerts.settings import AlertsSettings
from sentinel.alerts.silences import MATCHERS, Silence, silenced_by
from sentinel.errors import UsageError
from sentinel.logs import get_logger
from sentinel.metrics import ALERT_EVENTS
from sentinel.redact import scrub
from sentinel.store import Store

log = get_logger(__name__)

COMPONENT = "alerts"
MIGRATIONS = [
    """
    CREATE TABLE alerts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        severity TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        body TEXT NOT NULL,
        raised_at REAL NOT NULL,
        resolved_at REAL
    );
    CREATE INDEX alerts_open ON alerts(dedup_key, status, resolved_at);
    CREATE TABLE alert_groups (
        receiver TEXT NOT NULL,
        group_key TEXT NOT NULL,
        created_at REAL NOT NULL,
        flush_at REAL,
        last_sent_at REAL,
        PRIMARY KEY (receiver, group_key)
    );
    CREATE INDEX alert_groups_flush ON alert_groups(flush_at);
    CREATE TABLE alert_members (
        alert_seq INTEGER NOT NULL REFERENCES alerts(seq),
        receiver TEXT NOT NULL,
        group_key TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'new',
        PRIMARY KEY (alert_seq, receiver)
    );
    CREATE INDEX alert_members_group ON alert_members(receiver, group_key, state);
    CREATE TABLE alert_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        receiver TEXT NOT NULL,
        group_key TEXT NOT NULL,
        status TEXT NOT NULL,
        title TEXT NOT NULL,
        alert_ids TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        next_attempt_at REAL NOT NULL,
        last_attempt_at REAL,
        last_error TEXT NOT NULL DEFAULT '',
        done_at REAL
    );
    CREATE INDEX alert_deliveries_due ON alert_deliveries(state, receiver, next_attempt_at);
    CREATE TABLE alert_silences (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        matcher TEXT NOT NULL,
        value TEXT NOT NULL,
        starts_at REAL NOT NULL,
        ends_at REAL NOT NULL,
        author TEXT NOT NULL DEFAULT '',
        comment TEXT NOT NULL DEFAULT ''
    )
    """,
]

Renderer = Callable[[str, Message, Sequence[Alert]], "dict[str, Any] | None"]
"""``(receiver, message, alerts) -> body``, or ``None`` when the receiver is not configured here."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification for one receiver, as stored."""

    id: int
    key: str
    receiver: str
    group_key: str
    status: str
    title: str
    alert_ids: tuple[str, ...]
    body: dict[str, Any]
    state: str
    attempts: int
    created_at: float
    next_attempt_at: float
    last_attempt_at: float | None
    last_error: str
    done_at: float | None

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.pop("body")
        out["alert_ids"] = list(self.alert_ids)
        return out


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=int(row["id"]),
        key=str(row["key"]),
        receiver=str(row["receiver"]),
        group_key=str(row["group_key"]),
        status=str(row["status"]),
        title=str(row["title"]),
        alert_ids=tuple(json.loads(row["alert_ids"])),
        body=json.loads(row["body"]),
        state=str(row["state"]),
        attempts=int(row["attempts"]),
        created_at=float(row["created_at"]),
        next_attempt_at=float(row["next_attempt_at"]),
        last_attempt_at=row["last_attempt_at"],
        last_error=str(row["last_error"]),
        done_at=row["done_at"],
    )


def _notified_accounts(db: Any, receiver: str, gk: str) -> set[str]:
    """Accounts the group's open firing alerts have already told ``receiver`` about."""
    rows = db.execute(
        "SELECT a.body FROM alert_members m JOIN alerts a ON a.seq = m.alert_seq WHERE m.receiver = ? "
        "AND m.group_key = ? AND m.state = 'notified' AND a.status = 'firing' AND a.resolved_at IS NULL",
        (receiver, gk),
    ).fetchall()
    return {acct for r in rows for acct in json.loads(r["body"]).get("accounts", ())}


def incident_key(alerts: Sequence[Alert], group: str) -> str:
    keys = {a.dedup_key for a in alerts}
    return next(iter(keys)) if len(keys) == 1 else f"group:{group}"


class AlertOutbox:
    """Raise, resolve and silence alerts; the store side of delivery.

    ``AlertOutbox(store, settings).raise_alert(Alert(...))`` returns once the alert is
    committed. ``clock`` (seconds since the epoch) is injectable so grouping and backoff
    can be tested without waiting.
    """

    def __init__(
        self,
        store: Store,
        settings: AlertsSettings,
        *,
        runbook_url: str = "",
        organisation: str = "Sentinel",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.settings = settings
        self.runbook_url = settings.runbook_url or runbook_url
        self.organisation = organisation
        self.clock = clock
        self.timing = Timing.from_settings(settings)
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        store.migrate(COMPONENT, MIGRATIONS)

    @classmethod
    def from_config(cls, store: Store, config: Any, clock: Callable[[], float] = time.time) -> AlertOutbox:
        """Built from a ``sentinel.config.Config`` (its ``alerts`` and ``sentinel`` sections)."""
        return cls(
            store,
            config.alerts,
            runbook_url=config.sentinel.runbook_url,
            organisation=config.sentinel.organisation,
            clock=clock,
        )

    # -- listeners ------------------------------------------------------------------------
    def add_listener(self, callback: Callable[[], None]) -> None:
        """``callback()`` runs after each committed alert (from the raising thread)."""
        with self._lock:
            self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for cb in listeners:
            try:
                cb()
            except Exception:  # a listener must never make raising an alert fail
                log.exception("alert.listener_failed")

    # -- raising --------------------------------------------------------------------------
    def raise_alert(self, alert: Alert) -> Alert:
        """Commit ``alert`` (scrubbed, with defaults) and queue it for its receivers; return what was stored.

        Idempotent: raising an alert whose ``id`` is already stored, or an identical copy
        of an alert of the same open incident, returns the stored alert and sends nothing new.
        """
        stored = alert.with_defaults(self.runbook_url).scrubbed()
        receivers = receivers_for(stored, self.settings) if self.settings.enabled else ()
        now = self.clock()
        with self.store.transaction() as db:
            row = db.execute("SELECT body FROM alerts WHERE id = ?", (stored.id,)).fetchone()
            if row is not None:  # raising the same alert again (a caller's retry) is harmless
                return alert_from_dict(json.loads(row["body"]))
            same = self._same_open_alert(db, stored, now)
            if same is not None:
                log.info("alert.duplicate", alert_id=same.id, dedup_key=same.dedup_key, kind=same.kind)
                return same
            self._insert(db, stored, receivers, now)
        ALERT_EVENTS.labels(event="alerts_raised", receiver="").inc()
        if not receivers:
            log.warning("alert.unrouted", alert_id=stored.id, kind=stored.kind, severity=stored.severity)
        log.info(
            "alert.raised",
            alert_id=stored.id,
            kind=stored.kind,
            severity=stored.severity,
            status=stored.status,
            dedup_key=stored.dedup_key,
            accounts=list(stored.accounts),
            receivers=list(receivers),
        )
        self._notify()
        return stored

    def _same_open_alert(self, db: Any, alert: Alert, now: float) -> Alert | None:
        """An identical alert of the same open incident raised within ``repeat_interval`` (or ever, if 0).

        A health check that raises "Vault unreachable" every few seconds makes one
        notification and the repeat reminders, not a stream of copies. Copies of an alert
        that was muted by a silence are not swallowed: once the silence ends they go out.
        """
        if alert.status != "firing":
            return None
        horizon = now - self.timing.repeat_interval if self.timing.repeat_interval > 0 else float("-inf")
        rows = db.execute(
            "SELECT body FROM alerts WHERE dedup_key = ? AND status = 'firing' AND resolved_at IS NULL "
            "AND raised_at >= ? AND EXISTS (SELECT 1 FROM alert_members m WHERE m.alert_seq = alerts.seq "
            "AND m.state != 'silenced') ORDER BY seq DESC LIMIT 20",
            (alert.dedup_key, horizon),
        ).fetchall()
        for r in rows:
            old = alert_from_dict(json.loads(r["body"]))
            if (old.kind, old.summary, old.accounts, old.rule, old.post_excerpt, old.steps) == (
                alert.kind,
                alert.summary,
                alert.accounts,
                alert.rule,
                alert.post_excerpt,
                alert.steps,
            ):
                return old
        return None

    def _insert(self, db: Any, alert: Alert, receivers: Iterable[str], now: float) -> None:
        cur = db.execute(
            "INSERT INTO alerts(id, kind, status, severity, dedup_key, body, raised_at) VALUES(?,?,?,?,?,?,?)",
            (
                alert.id,
                alert.kind,
                alert.status,
                alert.severity,
                alert.dedup_key,
                json.dumps(alert.to_dict()),
                now,
            ),
        )
        seq = cur.lastrowid
        for name in receivers:
            rs = self.settings.receivers.get(name)
            if rs is None or (alert.status == "resolved" and not rs.send_resolved):
                continue
            gk = group_key(group_labels(alert, rs.effective_group_by))
            db.execute(
                "INSERT INTO alert_members(alert_seq, receiver, group_key) VALUES(?,?,?)", (seq, name, gk)
            )
            row = db.execute(
                "SELECT flush_at, last_sent_at FROM alert_groups WHERE receiver = ? AND group_key = ?",
                (name, gk),
            ).fetchone()
            if row is None:
                flush = flush_at_after_add(None, None, now, self.timing)
                db.execute(
                    "INSERT INTO alert_groups(receiver, group_key, created_at, flush_at) VALUES(?,?,?,?)",
                    (name, gk, now, flush),
                )
            else:
                hurry = row["last_sent_at"] is not None and urgent(alert, _notified_accounts(db, name, gk))
                flush = flush_at_after_add(row["flush_at"], row["last_sent_at"], now, self.timing, hurry)
                db.execute(
                    "UPDATE alert_groups SET flush_at = ? WHERE receiver = ? AND group_key = ?",
                    (flush, name, gk),
                )

    def resolve(
        self,
        dedup_key: str,
        summary: str = "",
        steps: Sequence[Step] = (),
        accounts: Sequence[str] | None = None,
    ) -> Alert | None:
        """End the incident ``dedup_key`` (or, with ``accounts``, its part about those accounts).

        Marks the open alerts resolved and sends a resolved notice to the receivers that got
        them. With ``accounts``, only alerts about nothing but those accounts are resolved
        (unfreezing one account of a 40-account worm leaves the other 39 open), and
        PagerDuty's page is resolved only once nothing of the incident is left open.
        Returns the notice, or ``None`` when nothing matching is open.
        """
        now = self.clock()
        with self.store.transaction() as db:
            open_rows = db.execute(
                "SELECT seq, body FROM alerts WHERE dedup_key = ? AND status = 'firing' AND resolved_at IS NULL "
                "ORDER BY seq",
                (dedup_key,),
            ).fetchall()
            wanted = None if accounts is None else set(accounts)
            rows = [
                r
                for r in open_rows
                if wanted is None or set(alert_from_dict(json.loads(r["body"])).accounts) <= wanted
            ]
            if not rows:
                return None
            remaining = len(open_rows) - len(rows)
            seqs = [r["seq"] for r in rows]
            marks = ",".join("?" * len(seqs))
            db.execute(f"UPDATE alerts SET resolved_at = ? WHERE seq IN ({marks})", (now, *seqs))  # noqa: S608
            receivers = [
                r["receiver"]
                for r in db.execute(
                    f"SELECT DISTINCT receiver FROM alert_members WHERE alert_seq IN ({marks}) "  # noqa: S608
                    "AND state != 'silenced'",
                    seqs,
                ).fetchall()
            ]
            if remaining:
                # A page is one incident: it stays open while any of its alerts is.
                receivers = [
                    n
                    for n in receivers
                    if (rs := self.settings.receivers.get(n)) is None or rs.type != "pagerduty"
                ]
            originals = [alert_from_dict(json.loads(r["body"])) for r in rows]
            first = originals[0]
            covered: dict[str, None] = {}
            for a in originals:
                covered.update(dict.fromkeys(a.accounts))
            notice = Alert(
                kind=first.kind,
                status="resolved",
                severity=first.severity,
                summary=summary or f"{first.title} resolved",
                accounts=tuple(covered),
                rule=first.rule,
                tags=first.tags,
                steps=tuple(steps),
                dedup_key=dedup_key,
                incident_id=first.incident_id,
                runbook_url=first.runbook_url,
                ongoing=False,
                occurred_at=now,
            ).scrubbed()
            self._insert(db, notice, receivers, now)
        ALERT_EVENTS.labels(event="alerts_resolved", receiver="").inc()
        log.info(
            "alert.resolved",
            dedup_key=dedup_key,
            alerts=len(originals),
            still_open=remaining,
            receivers=receivers,
        )
        self._notify()
        return notice

    # -- silences -------------------------------------------------------------------------
    def add_silence(
        self,
        matcher: str,
        value: str,
        duration: float,
        author: str = "",
        comment: str = "",
        start: float | None = None,
    ) -> Silence:
        if matcher not in MATCHERS:
            raise UsageError(f"silence matcher {matcher!r} is not one of {', '.join(MATCHERS)}")
        if duration <= 0:
            raise UsageError("a silence needs a positive duration, e.g. 2h")
        if not value:
            raise UsageError("a silence needs a value (account id, rule name or kind; globs allowed)")
        starts = self.clock() if start is None else start
        sid = self.store.execute(
            "INSERT INTO alert_silences(matcher, value, starts_at, ends_at, author, comment) VALUES(?,?,?,?,?,?)",
            (matcher, value, starts, starts + duration, author, scrub(comment)),
        )
        log.info(
            "alert.silenced",
            silence_id=sid,
            matcher=matcher,
            value=value,
            until=starts + duration,
            author=author,
        )
        return Silence(sid, matcher, value, starts, starts + duration, author, scrub(comment))

    def expire_silence(self, silence_id: int) -> bool:
        now = self.clock()
        n = self.store.execute(
            "UPDATE alert_silences SET ends_at = ? WHERE id = ? AND ends_at > ?", (now, silence_id, now)
        )
        return n > 0

    def silences(self, include_expired: bool = False) -> list[Silence]:
        now = self.clock()
        where = "" if include_expired else " WHERE ends_at > ?"
        sql = f"SELECT * FROM alert_silences{where} ORDER BY id"  # noqa: S608
        rows = self.store.query(sql, () if include_expired else (now,))
        return [
            Silence(
                r["id"], r["matcher"], r["value"], r["starts_at"], r["ends_at"], r["author"], r["comment"]
            )
            for r in rows
        ]

    # -- grouping into deliveries (called by the dispatcher) -------------------------------
    def flush_due(self, render: Renderer, now: float | None = None) -> int:
        """Turn every group that is due into deliveries; return how many were created."""
        now = self.clock() if now is None else now
        created = 0
        silences = self.silences()
        due = self.store.query(
            "SELECT receiver, group_key FROM alert_groups WHERE flush_at IS NOT NULL AND flush_at <= ? "
            "UNION SELECT receiver, group_key FROM alert_groups WHERE flush_at IS NULL AND last_sent_at <= ?",
            (now, now - self.timing.repeat_interval if self.timing.repeat_interval > 0 else -1.0),
        )
        for g in due:
            created += self._flush_group(g["receiver"], g["group_key"], render, silences, now)
        return created

    def _flush_group(
        self, receiver: str, gk: str, render: Renderer, silences: Sequence[Silence], now: float
    ) -> int:
        created = 0
        with self.store.transaction() as db:
            group = db.execute(
                "SELECT flush_at, last_sent_at FROM alert_groups WHERE receiver = ? AND group_key = ?",
                (receiver, gk),
            ).fetchone()
            if group is None:
                return 0
            is_flush = group["flush_at"] is not None and group["flush_at"] <= now
            if is_flush:
                rows = db.execute(
                    "SELECT m.alert_seq, a.body FROM alert_members m JOIN alerts a ON a.seq = m.alert_seq "
                    "WHERE m.receiver = ? AND m.group_key = ? AND m.state = 'new' ORDER BY m.alert_seq",
                    (receiver, gk),
                ).fetchall()
                repeat = False
            elif repeat_due(group["last_sent_at"], now, self.timing):
                rows = db.execute(
                    "SELECT m.alert_seq, a.body FROM alert_members m JOIN alerts a ON a.seq = m.alert_seq "
                    "WHERE m.receiver = ? AND m.group_key = ? AND m.state = 'notified' AND a.status = 'firing' "
                    "AND a.resolved_at IS NULL ORDER BY m.alert_seq",
                    (receiver, gk),
                ).fetchall()
                rows = [r for r in rows if alert_from_dict(json.loads(r["body"])).is_ongoing]
                repeat = True
            else:
                return 0
            by_status: dict[Status, list[Alert]] = {"firing": [], "resolved": []}
            muted: list[int] = []
            for r in rows:
                alert = alert_from_dict(json.loads(r["body"]))
                silence = silenced_by(alert, silences, now)
                if silence is not None:
                    muted.append(r["alert_seq"])
                    if not repeat:
                        log.info("alert.muted", alert_id=alert.id, receiver=receiver, silence_id=silence.id)
                else:
                    by_status[alert.status].append(alert)
            pending_render = False
            for status in ("firing", "resolved"):
                alerts = by_status[status]
                if not alerts:
                    continue
                message = build_message(
                    alerts,
                    status,
                    incident_key(alerts, gk),
                    self.organisation,
                    repeat=repeat,
                    now=now,
                )
                body = render(receiver, message, alerts)
                if body is None:
                    pending_render = True
                    continue
                db.execute(
                    "INSERT INTO alert_deliveries(key, receiver, group_key, status, title, alert_ids, body, "
                    "created_at, next_attempt_at) VALUES(?,?,?,?,?,?,?,?,?)",
                    (
                        uuid.uuid4().hex,
                        receiver,
                        gk,
                        status,
                        message.title[:300],
                        json.dumps(list(message.alert_ids)),
                        json.dumps(body),
                        now,
                        now,
                    ),
                )
                created += 1
            if pending_render:
                # The receiver is not configured in this process: leave the group for one that has it.
                return 0
            if not repeat:
                seqs = [r["alert_seq"] for r in rows]
                for seq in seqs:
                    state = "silenced" if seq in muted else "notified"
                    db.execute(
                        "UPDATE alert_members SET state = ? WHERE alert_seq = ? AND receiver = ?",
                        (state, seq, receiver),
                    )
                if muted:
                    ALERT_EVENTS.labels(event="alerts_silenced", receiver=receiver).inc(len(muted))
            sent = created > 0 or repeat
            db.execute(
                "UPDATE alert_groups SET flush_at = NULL, last_sent_at = CASE WHEN ? THEN ? ELSE last_sent_at END "
                "WHERE receiver = ? AND group_key = ?",
                (sent, now, receiver, gk),
            )
        if created:
            ALERT_EVENTS.labels(event="notifications_created", receiver=receiver).inc(created)
        return created

    def next_flush_at(self) -> float | None:
        row = self.store.query_one("SELECT MIN(flush_at) AS t FROM alert_groups WHERE flush_at IS NOT NULL")
        return None if row is None or row["t"] is None else float(row["t"])

    # -- deliveries -----------------------------------------------------------------------
    def next_due(self, receiver: str, now: float) -> Delivery | None:
        row = self.store.query_one(
            "SELECT * FROM alert_deliveries WHERE state = 'pending' AND receiver = ? AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, id LIMIT 1",
            (receiver, now),
        )
        return None if row is None else _delivery(row)

    def next_attempt_at(self, receiver: str) -> float | None:
        row = self.store.query_one(
            "SELECT MIN(next_attempt_at) AS t FROM alert_deliveries WHERE state = 'pending' AND receiver = ?",
            (receiver,),
        )
        return None if row is None or row["t"] is None else float(row["t"])

    def mark_delivered(self, delivery: Delivery, now: float) -> None:
        self.store.execute(
            "UPDATE alert_deliveries SET state = 'delivered', attempts = attempts + 1, last_attempt_at = ?, "
            "done_at = ?, last_error = '' WHERE id = ? AND state = 'pending'",
            (now, now, delivery.id),
        )
        ALERT_EVENTS.labels(event="deliveries_succeeded", receiver=delivery.receiver).inc()
        log.info(
            "alert.delivered",
            receiver=delivery.receiver,
            delivery_id=delivery.id,
            attempts=delivery.attempts + 1,
            latency=round(now - delivery.created_at, 3),
        )

    def mark_retry(self, delivery: Delivery, now: float, error: str, retry_at: float) -> None:
        self.store.execute(
            "UPDATE alert_deliveries SET attempts = attempts + 1, last_attempt_at = ?, next_attempt_at = ?, "
            "last_error = ? WHERE id = ? AND state = 'pending'",
            (now, retry_at, scrub(error)[:500], delivery.id),
        )
        ALERT_EVENTS.labels(event="delivery_attempts_failed", receiver=delivery.receiver).inc()
        log.warning(
            "alert.delivery_failed",
            receiver=delivery.receiver,
            delivery_id=delivery.id,
            attempts=delivery.attempts + 1,
            error=error,
            retry_in=round(retry_at - now, 2),
        )

    def mark_dead(self, delivery: Delivery, now: float, error: str, attempted: bool = True) -> None:
        self.store.execute(
            "UPDATE alert_deliveries SET state = 'dead', attempts = attempts + ?, last_attempt_at = "
            "CASE WHEN ? THEN ? ELSE last_attempt_at END, done_at = ?, last_error = ? WHERE id = ? AND state = 'pending'",
            (int(attempted), attempted, now, now, scrub(error)[:500], delivery.id),
        )
        if attempted:
            ALERT_EVENTS.labels(event="delivery_attempts_failed", receiver=delivery.receiver).inc()
        ALERT_EVENTS.labels(event="deliveries_dead_lettered", receiver=delivery.receiver).inc()
        log.error(
            "alert.dead_letter",
            receiver=delivery.receiver,
            delivery_id=delivery.id,
            attempts=delivery.attempts + int(attempted),
            age=round(now - delivery.created_at, 1),
            error=error,
            title=delivery.title,
        )

    def sweep_dead(self, now: float, configured: Iterable[str]) -> int:
        """Dead-letter pending deliveries older than ``dead_after`` whose receiver is not configured here."""
        names = list(configured)
        marks = ",".join("?" * len(names)) or "''"
        rows = self.store.query(
            f"SELECT * FROM alert_deliveries WHERE state = 'pending' AND created_at <= ? "  # noqa: S608
            f"AND receiver NOT IN ({marks})",
            (now - float(self.settings.dead_after), *names),
        )
        for r in rows:
            self.mark_dead(
                _delivery(r), now, f"receiver {r['receiver']!r} is not configured", attempted=False
            )
        return len(rows)

    # -- inspection and repair (CLI) -----------------------------------------------------
    def deliveries(self, state: str, receiver: str | None = None, limit: int = 1000) -> list[Delivery]:
        sql = "SELECT * FROM alert_deliveries WHERE state = ?"
        params: list[Any] = [state]
        if receiver:
            sql += " AND receiver = ?"
            params.append(receiver)
        rows = self.store.query(sql + " ORDER BY id LIMIT ?", (*params, limit))
        return [_delivery(r) for r in rows]

    def pending(self, receiver: str | None = None) -> list[Delivery]:
        return self.deliveries("pending", receiver)

    def dead(self, receiver: str | None = None) -> list[Delivery]:
        return self.deliveries("dead", receiver)

    def waiting_alerts(self) -> int:
        """Alerts committed but not yet turned into deliveries (waiting for their group)."""
        row = self.store.query_one("SELECT COUNT(*) AS n FROM alert_members WHERE state = 'new'")
        return int(row["n"]) if row else 0

    def retry(self, ids: Sequence[int] = (), receiver: str | None = None, all_dead: bool = False) -> int:
        """Move dead deliveries back to pending (due now, age reset); return how many."""
        if not ids and not receiver and not all_dead:
            raise UsageError("name delivery ids, --receiver NAME or --all")
        now = self.clock()
        sql = (
            "UPDATE alert_deliveries SET state = 'pending', attempts = 0, created_at = ?, next_attempt_at = ?, "
            "done_at = NULL WHERE state = 'dead'"
        )
        params: list[Any] = [now, now]
        if ids:
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            params.extend(ids)
        if receiver:
            sql += " AND receiver = ?"
            params.append(receiver)
        n = self.store.execute(sql, params)
        if n:
            log.info("alert.retry", deliveries=n, receiver=receiver or "", ids=list(ids))
            self._notify()
        return n

    def alert(self, alert_id: str) -> Alert | None:
        row = self.store.query_one("SELECT body FROM alerts WHERE id = ?", (alert_id,))
        return None if row is None else alert_from_dict(json.loads(row["body"]))

    def counts(self) -> Mapping[str, int]:
        rows = self.store.query("SELECT state, COUNT(*) AS n FROM alert_deliveries GROUP BY state")
        out = {"pending": 0, "delivered": 0, "dead": 0}
        out.update({r["state"]: int(r["n"]) for r in rows})
        out["waiting"] = self.waiting_alerts()
        return out
