from __future__ import annotations

import json
import os
import stat

import pytest

from sentinel.cli import main
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


def test_check_fails_for_a_token_without_the_policy(
    deployment: Deployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    weak, _ = deployment.admin.create_token(policies=["default"], ttl="5m")
    (deployment.dir / "vault-token").write_text(weak)
    assert main(deployment.cli("vault", "check")) == 1
    assert weak not in capsys.readouterr().out
