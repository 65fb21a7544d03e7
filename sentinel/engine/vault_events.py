"""Vault audit entries: one credential-access event per request, from the file audit device.

OpenBao's (and Vault's) file audit device writes a ``request`` entry and a ``response`` entry
per request, sharing ``request.id``. The daemon's audit-log tailer and ``sentinel replay``
hand the engine these dicts exactly as written; ``parse_audit_entry`` reads one and
``VaultRequest`` is what the rules judge: who (the caller's entity id; a token without an
entity is its own identity, by accessor), from where, what (account and credential key
from the path under the KV mount), which operation, allowed or denied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sentinel.engine.events import EventError, format_ts

WRITE_OPERATIONS = frozenset({"create", "update", "delete", "patch"})


def is_audit_entry(raw: Mapping[str, Any]) -> bool:
    """An audit entry has ``type`` and ``request`` (one naming its type is judged as one too,
    so that a broken entry is reported as an audit entry)."""
    return "type" in raw and ("request" in raw or raw["type"] in ("request", "response"))


@dataclass(frozen=True, slots=True)
class VaultRequest:
    id: str
    ts: float
    response: bool
    """Built from the response entry (else from the request entry alone)."""
    operation: str
    path: str
    remote_address: str
    entity_id: str
    accessor: str
    display_name: str
    policies: tuple[str, ...]
    denied: bool
    area: str
    """Where under the KV mount: ``data``, ``metadata``, ``destroy`` (also delete/undelete),
    ``lookup`` (the CLI's mount lookup), ``list``; ``""`` for any other path."""
    account: str | None
    key: str = ""
    ts_text: str = ""

    @property
    def identity(self) -> str:
        """Who acts: the entity id, or for a token without an entity its accessor (HMAC'd)."""
        if self.entity_id:
            return self.entity_id
        return f"accessor:{self.accessor}" if self.accessor else ""

    @property
    def iso(self) -> str:
        return format_ts(self.ts)

    @property
    def credential_read(self) -> bool:
        """An allowed read that reveals a credential (``<mount>/data/accounts/<id>/<key>``)."""
        return (
            self.area == "data" and self.operation == "read" and not self.denied and self.account is not None
        )

    @property
    def write(self) -> bool:
        return self.operation in WRITE_OPERATIONS

    @property
    def root(self) -> bool:
        return "root" in self.policies


def parse_time(value: Any) -> float:
    """RFC 3339 with up to nanoseconds (``2026-03-02T20:57:22.831312555Z``) to epoch seconds."""
    if not isinstance(value, str) or len(value) < 20 or value[-1] != "Z":
        raise EventError(f"audit entry: field 'time' must be an RFC 3339 UTC time, got {value!r}")
    frac = 0.0
    head = value[:19]
    if len(value) > 20 and value[19] == ".":
        digits = value[20:-1]
        if not digits.isdigit():
            raise EventError(f"audit entry: field 'time' must be an RFC 3339 UTC time, got {value!r}")
        frac = int(digits) / 10 ** len(digits)
    try:
        return _second(head) + frac
    except ValueError:
        raise EventError(f"audit entry: field 'time' must be an RFC 3339 UTC time, got {value!r}") from None


@lru_cache(maxsize=4096)
def _second(head: str) -> float:
    """Epoch seconds of ``YYYY-MM-DDTHH:MM:SS`` (UTC); a request and its response share one."""
    return datetime.fromisoformat(head + "+00:00").timestamp()


_AREAS = {
    "data": "data",
    "metadata": "metadata",
    "destroy": "destroy",
    "delete": "destroy",
    "undelete": "destroy",
}


def classify_path(path: str, kv_mount: str) -> tuple[str, str | None, str]:
    """``(area, account, key)`` of a request path for the credentials under ``kv_mount``."""
    mount = kv_mount.strip("/") + "/"
    if path.startswith("sys/internal/ui/mounts/"):
        rest = path[len("sys/internal/ui/mounts/") :]
        if not rest.startswith(mount):
            return "", None, ""
        parts = rest[len(mount) :].split("/")
        if len(parts) >= 2 and parts[0] == "accounts" and parts[1]:
            return "lookup", parts[1], parts[2] if len(parts) > 2 else ""
        return "lookup", None, ""
    if not path.startswith(mount):
        return "", None, ""
    parts = path[len(mount) :].split("/")
    area = _AREAS.get(parts[0], "other")
    if len(parts) >= 3 and parts[1] == "accounts" and parts[2]:
        return area, parts[2], "/".join(parts[3:])
    return ("list" if area == "metadata" else area), None, ""


def _str(d: Mapping[str, Any], key: str) -> str:
    v = d.get(key)
    return v if isinstance(v, str) else ""


def _required(req: Mapping[str, Any], key: str, empty: bool = False) -> str:
    v = req.get(key)
    if not isinstance(v, str) or not (v or empty):
        kind = "a string" if empty else "a non-empty string"
        raise EventError(f"audit entry: field 'request.{key}' must be {kind}")
    return v


@dataclass(frozen=True, slots=True)
class AuditEntry:
    type: str
    request_id: str
    request: VaultRequest


def parse_audit_entry(raw: Mapping[str, Any], kv_mount: str) -> AuditEntry:
    """One audit-log object to an ``AuditEntry``; ``EventError`` names the field."""
    kind = raw.get("type")
    if kind not in ("request", "response"):
        raise EventError(f"audit entry: field 'type' must be 'request' or 'response', got {kind!r}")
    req = raw.get("request")
    if not isinstance(req, dict):
        raise EventError("audit entry: field 'request' must be an object")
    rid = _required(req, "id")
    path = _required(req, "path", empty=True)
    operation = _required(req, "operation")
    ts = parse_time(raw.get("time"))
    auth = raw.get("auth")
    if auth is None:
        auth = {}
    if not isinstance(auth, dict):
        raise EventError("audit entry: field 'auth' must be an object")
    policies = auth.get("policies") or ()
    if not isinstance(policies, list | tuple) or not all(isinstance(p, str) for p in policies):
        raise EventError("audit entry: field 'auth.policies' must be a list of strings")
    results = auth.get("policy_results")
    denied = bool(raw.get("error")) and "permission denied" in str(raw.get("error"))
    if isinstance(results, dict) and results.get("allowed") is False:
        denied = True
    area, account, key = classify_path(path, kv_mount)
    return AuditEntry(
        type=kind,
        request_id=rid,
        request=VaultRequest(
            id=rid,
            ts=ts,
            response=kind == "response",
            operation=operation,
            path=path,
            remote_address=_str(req, "remote_address"),
            entity_id=_str(auth, "entity_id"),
            accessor=_str(auth, "accessor") or _str(req, "client_token_accessor"),
            display_name=_str(auth, "display_name"),
            policies=tuple(policies),
            denied=denied,
            area=area,
            account=account,
            key=key,
            ts_text=raw["time"],
        ),
    )
