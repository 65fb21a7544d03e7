"""Post events in, decisions out: the engine's data model.

An event is one post: a *gate* check (a tool asks before publishing; verdict ``allow``,
``hold`` or ``block``) or an *observed* post seen on the platform (verdict ``ok`` or
``flagged``). Time comes with the event (``ts``, UTC): the engine has no clock of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sentinel.errors import SentinelError

Via = Literal["gate", "observed"]
Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")
GATE_VERDICTS = ("allow", "hold", "block")
OBSERVED_VERDICTS = ("ok", "flagged")
SKIPPED = "skipped"


class EventError(SentinelError):
    """An event is malformed (names the field)."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    ts: float
    account: str
    via: Via
    text: str
    client: str
    post_id: str
    author: str = ""
    ip: str = ""
    reply_to: str = ""
    ts_text: str = ""
    caller: str = ""
    """Who sent a gate check, as Vault authenticated them (``sentinel.identity``; the API sets
    it from the token, never from the body). ``author`` is who wrote the post: the caller, or
    a name a publishing tool asserted. Blast-radius containment acts on ``caller`` alone."""

    @property
    def iso(self) -> str:
        return self.ts_text or format_ts(self.ts)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "ts": self.iso,
            "account": self.account,
            "via": self.via,
            "text": self.text,
            "client": self.client,
            "post_id": self.post_id,
        }
        for key in ("author", "ip", "reply_to", "caller"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    detail: str
    score: float
    group: str = ""
    attack: tuple[str, ...] = ()
    """MITRE ATT&CK technique ids of the rule (T1078 valid accounts, ...)."""

    def to_dict(self) -> dict[str, str]:
        """As in a replay line (the documented format)."""
        return {"rule": self.rule, "severity": self.severity, "detail": self.detail}

    def record(self) -> dict[str, Any]:
        """As kept in an incident: with the ATT&CK techniques when the rule names any."""
        return {**self.to_dict(), "attack": list(self.attack)} if self.attack else dict(self.to_dict())


@dataclass(frozen=True, slots=True)
class Freeze:
    account: str
    ts: float
    event: str
    reason: str
    ts_text: str = ""
    until: float | None = None
    """When a policy freeze lifts by itself (``None``: only ``unfreeze`` lifts it)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "freeze",
            "account": self.account,
            "ts": self.ts_text or format_ts(self.ts),
            "event": self.event,
            "reason": self.reason,
        }

    def to_state(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "ts": self.ts,
            "event": self.event,
            "reason": self.reason,
            "until": self.until,
        }

    @classmethod
    def from_state(cls, raw: Mapping[str, Any]) -> Freeze:
        return cls(
            account=str(raw["account"]),
            ts=float(raw["ts"]),
            event=str(raw["event"]),
            reason=str(raw["reason"]),
            until=None if raw.get("until") is None else float(raw["until"]),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """What the engine decided about one event.

    ``verdict`` is ``allow|hold|block`` for gate events, ``ok|flagged`` for observed posts and
    ``skipped`` for an observed post of a gate check that was not allowed (never published).
    ``freeze`` is set when this event made the policy freeze the account.
    """

    event: str
    account: str
    via: Via
    verdict: str
    score: float
    severity: Severity
    findings: tuple[Finding, ...] = ()
    freeze: Freeze | None = None
    frozen: bool = False
    notes: tuple[str, ...] = field(default=())
    observed: tuple[Finding, ...] = ()
    """Findings of rules in observe mode: reported and counted, never part of the verdict."""
    would: str = ""
    """With observe-mode findings: the verdict (or ``freeze``) had those rules counted."""

    @property
    def skipped(self) -> bool:
        return self.verdict == SKIPPED

    @property
    def published(self) -> bool:
        """Whether the post goes (or went) out: allowed at the gate, or seen on the platform."""
        return self.verdict in ("allow", "ok", "flagged")

    def to_dict(self) -> dict[str, Any]:
        """The replay line for this decision (the exact documented format)."""
        out: dict[str, Any] = {
            "type": "decision",
            "event": self.event,
            "account": self.account,
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in self.findings],
        }
        if self.observed:
            out["observed"] = [f.to_dict() for f in self.observed]
            out["would"] = self.would
        return out


def parse_ts(value: Any) -> float:
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC) to epoch seconds; raise ``ValueError`` otherwise."""
    if not isinstance(value, str) or not value.endswith("Z") or len(value) < 20:
        raise ValueError(f"'ts' must be a UTC time like 2026-03-01T22:10:00Z, got {value!r}")
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise ValueError(f"'ts' must be a UTC time like 2026-03-01T22:10:00Z, got {value!r}") from None


def format_ts(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_REQUIRED = ("id", "ts", "account", "via", "text", "client", "post_id")


def parse_event(raw: Any) -> Event:
    """Validate one decoded JSON object into an ``Event``; ``EventError`` names the field."""
    if not isinstance(raw, dict):
        raise EventError("an event must be a JSON object")
    for key in _REQUIRED:
        if key not in raw:
            raise EventError(f"missing required field {key!r}")
    for key in ("id", "account", "text", "client", "post_id", "author", "ip", "reply_to", "caller"):
        if key in raw and raw[key] is not None and not isinstance(raw[key], str):
            raise EventError(f"field {key!r} must be a string")
    for key in ("id", "account", "post_id"):
        if not raw[key]:
            raise EventError(f"field {key!r} must not be empty")
    via = raw["via"]
    if via not in ("gate", "observed"):
        raise EventError(f"field 'via' must be 'gate' or 'observed', got {via!r}")
    try:
        ts = parse_ts(raw["ts"])
    except ValueError as e:
        raise EventError(str(e)) from None
    return Event(
        id=raw["id"],
        ts=ts,
        account=raw["account"],
        via=via,
        text=raw["text"],
        client=raw["client"] or "",
        post_id=raw["post_id"],
        author=raw.get("author") or "",
        ip=raw.get("ip") or "",
        reply_to=raw.get("reply_to") or "",
        ts_text=raw["ts"],
        caller=raw.get("caller") or "",
    )
