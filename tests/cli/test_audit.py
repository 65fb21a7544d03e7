from __future__ import annotations

import json
import sqlite3

import pytest
from cryptography.hazmat.primitives import serialization

from sentinel.audit import AuditTrail, VaultKeyStore
from sentinel.cli import main
from sentinel.store import Store
from tests.conftest import Deployment


def test_verify_export_and_tamper(deployment: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(deployment.cli("audit", "verify")) == 0  # empty trail, no key yet
    assert "0 entries checked: intact" in capsys.readouterr().out
    daemon = deployment.admin.with_token(deployment.token)
    db = deployment.dir / "state" / "sentinel.sqlite3"
    with Store(db) as store:
        trail = AuditTrail(store, VaultKeyStore(daemon))
        for i in range(3):
            trail.append("op-ann", "credential.reveal", f"acct-{i}", {"why": "test"})
        trail.anchor()
    assert main(deployment.cli("audit", "verify")) == 0
    assert "3 entries checked: intact" in capsys.readouterr().out
    assert main(deployment.cli("audit", "export", "--since", "2000-01-01")) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [e["target"] for e in lines] == ["acct-0", "acct-1", "acct-2"]

    pem = daemon.kv_read("system/audit-key").data["public_key"]
    (deployment.dir / "pub.pem").write_text(pem)
    serialization.load_pem_public_key(pem.encode())

    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute("UPDATE audit SET target = 'acct-x' WHERE seq = 2")
    raw.close()
    assert main(deployment.cli("audit", "verify", "--public-key", str(deployment.dir / "pub.pem"))) == 1
    out = capsys.readouterr().out
    assert "TAMPERED entry 2: edited" in out
