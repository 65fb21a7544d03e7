"""No secret value appears in logs, rotation results, exception messages or the audit trail,
across successful, resumed, parked, conflicting and cancelled rotations."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from sentinel import logs
from sentinel.audit import AuditTrail, FileKeyStore
from sentinel.errors import SentinelError, VaultNotFound
from sentinel.store import Store
from sentinel.vault.layout import credential_path
from tests.creds.conftest import CredsEnv
from tests.creds.test_rotator import Abort, abort_at, fault


def every_secret(env: CredsEnv) -> set[str]:
    """Every value ever stored for the test's accounts (all versions still readable)."""
    out: set[str] = set()
    for account in env.accounts:
        for spec in account.credentials:
            path = credential_path(account.id, spec.key)
            meta = env.admin.kv_metadata(path)
            for version, info in meta.versions.items():
                if info.get("destroyed"):
                    continue
                try:
                    data = env.admin.kv_read(path, version=version).data
                except VaultNotFound:
                    continue
                out.update(v for k, v in data.items() if isinstance(v, str) and k in ("value", "seed"))
    return out


async def test_no_secret_in_logs_results_exceptions_or_audit(env: CredsEnv, tmp_path: Path) -> None:
    buf = io.StringIO()
    logs.configure(level="debug", fmt="json", stream=buf)
    store = Store(tmp_path / "state.sqlite3")
    trail = AuditTrail(store, FileKeyStore(tmp_path / "key.pem", tmp_path / "anchor.json", create=True))
    seen: list[dict[str, Any]] = []
    errors: list[str] = []
    alerts: list[dict[str, Any]] = []

    def audit(actor: str, action: str, target: str, details: Any) -> None:
        trail.append(actor, action, target, details)

    def rotator(**kw: Any) -> Any:
        return env.rotator(audit=audit, on_alert=lambda **a: alerts.append(a), **kw)

    try:
        a, first_a = env.sandbox_account(("password", "app_password"))
        b, first_b = env.sandbox_account(("password",))
        seen += [r.to_dict() for r in await rotator().rotate_account(a.id, force=True)]
        with pytest.raises(Abort):
            await rotator(checkpoint=abort_at("applied")).rotate_account(b.id, force=True)
        seen += [r.to_dict() for r in await rotator().rotate_account(b.id, force=True)]  # resumed
        fault(env, b.handle, count=100)
        try:
            await rotator().force_rotate(b.id, "freeze: test")
        except SentinelError as e:
            errors.append(str(e))
        fault(env, b.handle, count=0)
        seen += [r.to_dict() for r in await rotator().cancel(b.id, "op-ann")]
        # A wrong password at the platform: the error travels through retries and parking.
        env.store.replace(
            b, "password", "password", {"value": "wrong-pass-0123456789"}, "op", _now(), replace=True
        )
        seen += [r.to_dict() for r in await rotator().rotate_account(b.id, force=True)]

        def conflict(name: str) -> None:
            if name == "created":
                env.admin.kv_write(credential_path(a.id, "password"), {"value": "typed-by-hand-98765"}, cas=2)

        seen += [r.to_dict() for r in await rotator(checkpoint=conflict).rotate_account(a.id, force=True)]
    finally:
        logs.configure(level="info")
    statuses = [r["status"] for r in seen]
    assert statuses.count("rotated") == 2 and "resumed" in statuses and "cancelled" in statuses
    assert "parked" in statuses and "conflict" in statuses and errors and alerts
    secrets = every_secret(env) | set(first_a.values()) | set(first_b.values())
    secrets |= {"typed-by-hand-98765", "wrong-pass-0123456789"}
    assert len(secrets) >= 8
    entries = json.dumps([e.to_dict() for e in trail.entries()])
    texts = {
        "logs": buf.getvalue(),
        "results": json.dumps(seen),
        "exceptions": "\n".join(errors),
        "alerts": json.dumps(alerts, default=str),
        "audit": entries,
    }
    assert "credential.rotate" in entries and "rotation.result" in texts["logs"]
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret value appears in the {where}"
    store.close()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
