from __future__ import annotations

import json
import sqlite3

import pytest

from sentinel.audit import AuditTrail
from sentinel.audit_keys import audit_keystore
from sentinel.cli import main
from sentinel.config import load_config
from sentinel.store import Store
from tests.conftest import Deployment


def test_verify_export_and_tamper(
    deployment: Deployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(deployment.cli("audit", "verify")) == 0  # empty trail, nothing to check yet
    assert "0 entries checked against 0 checkpoint(s): intact" in capsys.readouterr().out
    daemon = deployment.admin.with_token(deployment.token)
    config = load_config(deployment.config, env={})
    with Store(config.sentinel.database) as store:
        trail = AuditTrail(store, audit_keystore(config, daemon))
        for i in range(3):
            trail.append("op-ann", "credential.reveal", f"acct-{i}", {"why": "test"})

    # Nothing pinned: verify refuses rather than trust a key it was not given.
    assert main(deployment.cli("audit", "verify")) != 0
    assert "no public key pinned" in capsys.readouterr().err

    # The administrator reads the key to pin with their own token.
    monkeypatch.setenv("VAULT_TOKEN", deployment.vault.root_token)
    assert main(deployment.cli("audit", "key")) == 0
    out = capsys.readouterr().out
    fp = next(line.split(": ")[1] for line in out.splitlines() if "sha256:" in line)
    (deployment.dir / "pub.pem").write_text(out[out.index("-----BEGIN") :])

    assert main(deployment.cli("audit", "verify", "--fingerprint", fp)) == 0
    assert "3 entries checked against 3 checkpoint(s): intact" in capsys.readouterr().out
    assert main(deployment.cli("audit", "verify", "--fingerprint", "sha256:" + "0" * 64)) != 0
    assert "does not match the pinned fingerprint" in capsys.readouterr().err

    deployment.write_config(f'[audit]\npublic_key_file = "{deployment.dir / "pub.pem"}"\n')
    assert main(deployment.cli("--json", "audit", "verify")) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["entries"], report["checkpoints"], report["ok"], report["pending"]) == (3, 3, True, [])

    assert main(deployment.cli("audit", "export", "--since", "2000-01-01")) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [e["target"] for e in lines] == ["acct-0", "acct-1", "acct-2"]
    assert all(e["key_id"] == f"transit:{deployment.settings.policy_prefix}-audit:v1" for e in lines)

    raw = sqlite3.connect(config.sentinel.database, isolation_level=None)
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute("UPDATE audit SET target = 'acct-x' WHERE seq = 2")
    raw.close()
    assert main(deployment.cli("audit", "verify")) == 1
    assert "TAMPERED entry 2: edited" in capsys.readouterr().out


def test_seal_signs_what_was_written_while_vault_was_away(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config(deployment.config, env={})
    with Store(config.sentinel.database) as store:
        AuditTrail(store, eager=False).append("op-ann", "freeze", "acct-1", {})
    assert main(deployment.cli("audit", "seal")) == 0
    assert "audit/checkpoints/00000000000000000001 at entry 1" in capsys.readouterr().out
    assert main(deployment.cli("audit", "seal")) == 0
    assert "nothing to seal" in capsys.readouterr().out
