"""What an alert says: what happened, what Sentinel did, what to do next.

An ``Alert`` is a plain frozen value. Whoever raises one (the freeze responder, the
rotator, the rule loader, the Vault client's health check) fills in the facts it knows;
``with_defaults`` adds the dedup key and the next-step commands that follow from the kind.
``to_dict``/``from_dict`` give the JSON form kept in the outbox.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from sentinel.redact import scrub_obj

Severity = Literal["critical", "error", "warning", "info"]
Status = Literal["firing", "resolved"]

SEVERITIES: tuple[Severity, ...] = get_args(Severity)
"""Most severe first."""

KINDS = (
    "freeze",
    "lockdown",
    "held_post",
    "blocked_post",
    "out_of_band_post",
    "rotation_failed",
    "rule_file_error",
    "vault_unreachable",
    "platform_error",
    "unfreeze",
    "freeze_unrecorded",
    "ack_added",
    "vault_audit_unreadable",
    "vault_audit_oversized",
    "alerts_lost",
    "test",
)
"""Kinds Sentinel raises; other strings are accepted too (a component may add its own)."""

ONGOING_KINDS = frozenset(
    {"freeze", "lockdown", "vault_unreachable", "freeze_unrecorded", "vault_audit_unreadable"}
)
"""Conditions that last until resolved: their notifications repeat until ``resolve``."""

KIND_TITLES: Mapping[str, str] = {
    "freeze": "Account frozen",
    "lockdown": "Lockdown",
    "held_post": "Post held for approval",
    "blocked_post": "Post blocked",
    "out_of_band_post": "Post published outside Sentinel",
    "rotation_failed": "Credential rotation failed",
    "rule_file_error": "Rule file error",
    "vault_unreachable": "Vault unreachable",
    "platform_error": "Platform error",
    "unfreeze": "Account unfrozen",
    "freeze_unrecorded": "Account denied in Vault without a freeze",
    "ack_added": "Detection acknowledged (a rule silenced)",
    "vault_audit_unreadable": "Vault audit log not read",
    "vault_audit_oversized": "Vault audit entry too long to judge",
    "alerts_lost": "Critical alerts lost while the store was unwritable",
    "test": "Test alert",
}


def severity_rank(severity: str) -> int:
    """0 for critical, larger is milder; unknown severities count as info."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES) - 1


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule's verdict on a post."""

    rule: str
    message: str
    severity: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    """One action Sentinel took (or tried): ``gate_block``, ``vault_deny``, ``rotate``, ..."""

    name: str
    ok: bool
    detail: str = ""
    account: str = ""


@dataclass(frozen=True, slots=True)
class Alert:
    """One thing people must know about.

    ``dedup_key`` names the incident: alerts with the same key are one incident (PagerDuty
    keeps one page for it) and ``AlertOutbox.resolve(dedup_key)`` ends it. When empty it
    is derived from kind, rule and accounts.
    """

    kind: str
    summary: str
    severity: Severity = "warning"
    accounts: tuple[str, ...] = ()
    rule: str = ""
    findings: tuple[Finding, ...] = ()
    post_excerpt: str = ""
    post_url: str = ""
    steps: tuple[Step, ...] = ()
    next_steps: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    details: Mapping[str, str] = field(default_factory=dict)
    dedup_key: str = ""
    incident_id: str = ""
    runbook_url: str = ""
    status: Status = "firing"
    ongoing: bool | None = None
    occurred_at: float = field(default_factory=time.time)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def title(self) -> str:
        return KIND_TITLES.get(self.kind, self.kind.replace("_", " ").capitalize())

    @property
    def is_ongoing(self) -> bool:
        return self.kind in ONGOING_KINDS if self.ongoing is None else self.ongoing

    def with_defaults(self, runbook_url: str = "") -> Alert:
        """Fill in the dedup key, next-step commands and runbook link when not given."""
        changes: dict[str, Any] = {}
        if not self.dedup_key:
            changes["dedup_key"] = default_dedup_key(self)
        if not self.next_steps:
            changes["next_steps"] = default_next_steps(self)
        if not self.runbook_url and runbook_url:
            changes["runbook_url"] = runbook_url
        return dataclasses.replace(self, **changes) if changes else self

    def scrubbed(self) -> Alert:
        """The same alert with every registered secret and secret-looking field removed."""
        return alert_from_dict(scrub_obj(self.to_dict()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "severity": self.severity,
            "summary": self.summary,
            "accounts": list(self.accounts),
            "rule": self.rule,
            "findings": [dataclasses.asdict(f) for f in self.findings],
            "post_excerpt": self.post_excerpt,
            "post_url": self.post_url,
            "steps": [dataclasses.asdict(s) for s in self.steps],
            "next_steps": list(self.next_steps),
            "tags": list(self.tags),
            "details": dict(self.details),
            "dedup_key": self.dedup_key,
            "incident_id": self.incident_id,
            "runbook_url": self.runbook_url,
            "ongoing": self.ongoing,
            "occurred_at": self.occurred_at,
        }


def alert_from_dict(data: Mapping[str, Any]) -> Alert:
    """Rebuild an ``Alert`` from ``Alert.to_dict`` output (unknown keys are ignored)."""
    severity = data.get("severity", "warning")
    status = data.get("status", "firing")
    return Alert(
        id=str(data.get("id") or uuid.uuid4().hex),
        kind=str(data["kind"]),
        status=status if status in ("firing", "resolved") else "firing",
        severity=severity if severity in SEVERITIES else "warning",
        summary=str(data.get("summary", "")),
        accounts=tuple(str(a) for a in data.get("accounts", ())),
        rule=str(data.get("rule", "")),
        findings=tuple(
            Finding(
                rule=str(f.get("rule", "")),
                message=str(f.get("message", "")),
                severity=str(f.get("severity", "")),
            )
            for f in data.get("findings", ())
        ),
        post_excerpt=str(data.get("post_excerpt", "")),
        post_url=str(data.get("post_url", "")),
        steps=tuple(
            Step(
                name=str(s.get("name", "")),
                ok=bool(s.get("ok")),
                detail=str(s.get("detail", "")),
                account=str(s.get("account", "")),
            )
            for s in data.get("steps", ())
        ),
        next_steps=tuple(str(c) for c in data.get("next_steps", ())),
        tags=tuple(str(t) for t in data.get("tags", ())),
        details={str(k): str(v) for k, v in dict(data.get("details") or {}).items()},
        dedup_key=str(data.get("dedup_key", "")),
        incident_id=str(data.get("incident_id", "")),
        runbook_url=str(data.get("runbook_url", "")),
        ongoing=data.get("ongoing") if isinstance(data.get("ongoing"), bool) else None,
        occurred_at=float(data.get("occurred_at") or time.time()),
    )


def default_dedup_key(alert: Alert) -> str:
    parts = [alert.kind, alert.rule, ",".join(sorted(alert.accounts))]
    if alert.incident_id:
        parts = [alert.kind, "incident", alert.incident_id]
    return ":".join(p for p in parts if p) or alert.kind


def _quote(arg: str) -> str:
    safe = all(c.isalnum() or c in "._-@:/" for c in arg) and arg
    return arg if safe else "'" + arg.replace("'", "'\\''") + "'"


def default_next_steps(alert: Alert) -> tuple[str, ...]:
    """The exact commands a responder runs next, by kind."""
    accounts = " ".join(_quote(a) for a in alert.accounts) or "ACCOUNT"
    out: list[str] = []
    if alert.status == "resolved":
        return ()
    if alert.kind in ("freeze", "lockdown"):
        if alert.incident_id:
            out.append(f"sentinel incidents show {_quote(alert.incident_id)}")
        out.extend(f'sentinel unfreeze {_quote(a)} --reason "..."' for a in alert.accounts[:5])
        if len(alert.accounts) > 5:
            out.append("(one `sentinel unfreeze` per account, after review)")
    elif alert.kind in ("out_of_band_post", "held_post", "blocked_post"):
        out.append(f'sentinel lockdown {accounts} --reason "..."')
        if alert.incident_id:
            out.append(f"sentinel incidents show {_quote(alert.incident_id)}")
    elif alert.kind == "rotation_failed":
        out.append(f"sentinel rotate {accounts}")
    elif alert.kind == "rule_file_error":
        out.append("sentinel rules validate")
    elif alert.kind == "vault_unreachable":
        out.append("sentinel vault check")
    elif alert.kind == "ack_added":
        out.append("sentinel rules acks")
        if alert.details.get("ack"):
            out.append(f"sentinel rules unack {_quote(alert.details['ack'])}")
    return tuple(out)
