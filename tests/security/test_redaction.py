"""The audit trail keeps what happened to a credential and never the credential.

Before, a rotation requested through the API was audited as ``{"password": "[REDACTED]"}``:
the redaction of keys that look secret took the rotation's status with it. Here an admin
rotates an account's password through the API (real OpenBao, the real rotator, the sandbox
platform) into a real signed audit trail: the entry says ``rotated``, and neither the old nor
the new password is anywhere in the database.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from sentinel.api.app import create_app
from sentinel.audit import AuditTrail, FileKeyStore
from sentinel.creds.store import CredentialStore
from sentinel.errors import VaultError
from sentinel.redact import REDACTOR, register_secret, scrub
from sentinel.store import Store
from tests.api.conftest import World, build_deps


def password(world: World, account: str) -> str:
    return str(CredentialStore(world.daemon).current(account, "password")[1]["value"])


async def test_a_rotation_is_audited_with_its_status_and_without_the_password(
    world: World, tmp_path: Path
) -> None:
    store = Store(tmp_path / "state.sqlite3")
    trail = AuditTrail(store, FileKeyStore(tmp_path / "audit.key", tmp_path / "audit.anchor", create=True))
    deps, *_ = build_deps(world, store, audit=trail.append)
    before = password(world, "acct-b")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(deps)), base_url="http://api"
    ) as c:
        resp = await c.post(
            "/v1/accounts/acct-b/rotate", json={"reason": "leaver"}, headers=world.auth("op-all")
        )
    assert deps.aclose is not None
    await deps.aclose()
    assert resp.status_code == 200, resp.text
    after = password(world, "acct-b")
    assert after != before
    (entry,) = [e for e in trail.entries() if e.action == "credential.rotate_requested"]
    assert entry.details["results"] == {"password": "rotated"}
    assert entry.details["reason"] == "leaver"
    store.close()
    raw = (tmp_path / "state.sqlite3").read_bytes()
    for suffix in ("-wal", "-shm"):
        extra = tmp_path / f"state.sqlite3{suffix}"
        raw += extra.read_bytes() if extra.exists() else b""
    assert before.encode() not in raw and after.encode() not in raw


def test_a_secret_value_in_audit_details_is_still_removed(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite3")
    trail = AuditTrail(store, FileKeyStore(tmp_path / "audit.key", tmp_path / "audit.anchor", create=True))
    entry = trail.append(
        "op-x",
        "credential.imported",
        "acct-a",
        {"password": "pw-unregistered-7", "results": {"password": "failed"}},
    )
    assert entry.details == {"password": "[REDACTED]", "results": {"password": "failed"}}
    store.close()
    assert b"pw-unregistered-7" not in (tmp_path / "state.sqlite3").read_bytes()


def test_a_flood_of_junk_tokens_does_not_crowd_a_secret_out_of_the_redactor(world: World) -> None:
    """Attack: an outsider sends more unknown tokens than the redactor remembers secrets (from
    as many addresses as the per-address limit needs), hoping a credential Sentinel read once is
    forgotten and then printed in clear. Refused tokens are not remembered; the secret stays
    scrubbed, and a token Vault accepted is scrubbed too."""
    secret = "pw-" + secrets.token_urlsafe(24)
    register_secret(secret)
    for _ in range(REDACTOR.capacity + 10):
        with pytest.raises(VaultError):
            world.daemon.lookup_token("junk-" + secrets.token_urlsafe(24))
    assert secret not in scrub(f"login with {secret}")
    accepted = world.tokens["op-all"]
    world.daemon.lookup_token(accepted)
    assert accepted not in scrub(f"Bearer-less {accepted}")
