from __future__ import annotations

import json
import os
import stat

import pytest

from sentinel.audit import AuditTrail
from sentinel.audit_keys import audit_keystore, transit_public_keys
from sentinel.cli import main
from sentinel.config import load_config
from sentinel.files import write_private
from sentinel.store import Store
from sentinel.vault.client import VaultClient
from tests.conftest import Deployment


def test_bootstrap_then_check_with_the_issued_token(
    deployment: Deployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root_cfg = deployment.config.read_text().replace('token_file = "vault-token"\n', "")
    deployment.config.write_text(root_cfg)
    monkeypatch.setenv("VAULT_TOKEN", deployment.vault.root_token)
    token_file = deployment.dir / "issued-token"
    assert main(["--json", *deployment.cli("vault", "bootstrap", "--token-file", str(token_file))]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {s["status"] for s in result["steps"]} == {"unchanged"}  # the fixture bootstrapped already
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    issued = token_file.read_text().strip()
    assert issued not in json.dumps(result)
    monkeypatch.setenv("VAULT_TOKEN", issued)
    assert main(["--json", *deployment.cli("vault", "check")]) == 0
    check = json.loads(capsys.readouterr().out)
    assert check["ok"] is True and f"{deployment.settings.policy_prefix}-daemon" in check["token_policies"]
    client = VaultClient(deployment.vault.addr, issued)
    assert client.lookup_self().renewable
    # Issuing the daemon's token is recorded (its accessor, never the token) and verifies.
    assert result["audit"].startswith("entry ")
    config = load_config(deployment.config)
    trail = AuditTrail(Store(config.sentinel.database), audit_keystore(config, deployment.admin))
    (entry,) = [e for e in trail.entries() if e.action == "vault.bootstrap"]
    assert entry.details["daemon_accessor"] == result["token"]["accessor"]
    assert issued not in json.dumps([e.details for e in trail.entries()])
    verified = trail.verify(transit_public_keys(deployment.admin, deployment.settings)[1])
    assert verified.entries >= 1 and verified.problems == [] and verified.pending == ()


def test_bootstrap_of_a_new_mount_is_audited_and_says_when_it_cannot_be(
    deployment: Deployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", deployment.vault.root_token)
    monkeypatch.setenv("SENTINEL_VAULT_TOKEN_FILE", "")
    monkeypatch.setenv("SENTINEL_VAULT_KV_MOUNT", f"{deployment.settings.kv_mount}-new")
    assert main(["--json", *deployment.cli("vault", "bootstrap")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["audit"].startswith("entry ")
    assert main(["--json", *deployment.cli("vault", "bootstrap")]) == 0
    assert json.loads(capsys.readouterr().out)["audit"] == "nothing changed, no entry written"
    # No state directory can be made (a file is in the way): bootstrap still succeeds and says why.
    blocker = deployment.dir / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("SENTINEL_STATE_DIR", str(blocker / "state"))
    monkeypatch.setenv("SENTINEL_VAULT_KV_MOUNT", f"{deployment.settings.kv_mount}-newer")
    assert main(["--json", *deployment.cli("vault", "bootstrap")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["audit"].startswith("no entry written (") and "state" in out["audit"]


def test_check_fails_for_a_token_without_the_policy(
    deployment: Deployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    weak, _ = deployment.admin.create_token(policies=["default"], ttl="5m")
    write_private(deployment.dir / "vault-token", weak)
    assert main(deployment.cli("vault", "check")) == 1
    assert weak not in capsys.readouterr().out
