"""``sentinel policies render`` and ``apply`` against a real OpenBao."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sentinel.cli import main
from tests.conftest import Deployment

ROLES = """
[roles.brand-writers]
members = ["op-alice"]
[[roles.brand-writers.grants]]
tags = ["brand"]
capabilities = ["publish", "respond"]

[roles.responders]
global = ["lockdown"]
"""


@pytest.fixture
def roles_file(deployment: Deployment) -> Path:
    p = deployment.dir / "roles.toml"
    p.write_text(ROLES)
    return p


def test_render_writes_one_policy_per_role(
    deployment: Deployment, roles_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = deployment.dir / "policies"
    assert main(["--json", *deployment.cli("policies", "render", str(roles_file), "--out", str(out))]) == 0
    listed = json.loads(capsys.readouterr().out)
    prefix = deployment.settings.policy_prefix
    assert [p["policy"] for p in listed] == [f"{prefix}-role-brand-writers", f"{prefix}-role-responders"]
    hcl = (out / f"{prefix}-role-brand-writers.hcl").read_text()
    assert 'path "sentinel/accounts/example-brand-x/publish"' in hcl
    assert (out / f"{prefix}-role-responders.hcl").read_text().count('path "') == 1


def test_apply_shows_the_diff_asks_and_is_idempotent(
    deployment: Deployment,
    roles_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", deployment.vault.root_token)
    prefix = deployment.settings.policy_prefix
    # no terminal and no --yes: shows the diff, applies nothing
    assert main(deployment.cli("policies", "apply", str(roles_file))) == 5
    shown = capsys.readouterr().out
    assert f"+++ rendered:{prefix}-role-brand-writers" in shown and "create" in shown
    assert deployment.admin.policy_read(f"{prefix}-role-brand-writers") is None
    assert main(deployment.cli("policies", "apply", str(roles_file), "--yes")) == 0
    assert "Applied 3 change(s)" in capsys.readouterr().out  # two policies and the members' group
    assert "sentinel/global/lockdown" in (deployment.admin.policy_read(f"{prefix}-role-responders") or "")
    assert main(deployment.cli("policies", "apply", str(roles_file))) == 0
    assert "nothing to apply" in capsys.readouterr().out


def test_apply_from_rendered_files_and_prune(
    deployment: Deployment,
    roles_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", deployment.vault.root_token)
    prefix = deployment.settings.policy_prefix
    out = deployment.dir / "policies"
    assert main(deployment.cli("policies", "render", str(roles_file), "--out", str(out))) == 0
    capsys.readouterr()
    assert main(["--json", *deployment.cli("policies", "apply", "--dir", str(out), "--yes")]) == 0
    applied = json.loads(capsys.readouterr().out)["applied"]
    assert {c["name"] for c in applied} == {f"{prefix}-role-brand-writers", f"{prefix}-role-responders"}
    (out / f"{prefix}-role-responders.hcl").unlink()
    assert main(["--json", *deployment.cli("policies", "apply", "--dir", str(out), "--prune", "--yes")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["applied"] == [{"kind": "policy", "name": f"{prefix}-role-responders", "action": "delete"}]
    assert deployment.admin.policy_read(f"{prefix}-role-responders") is None


def test_apply_needs_a_person_token(
    deployment: Deployment,
    roles_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(deployment.dir))
    assert main(deployment.cli("policies", "apply", str(roles_file), "--yes")) == 3
    assert "log in to Vault first" in capsys.readouterr().err


def test_apply_with_the_daemons_token_is_refused_by_vault(
    deployment: Deployment,
    roles_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", deployment.token)  # Sentinel's own token, stolen or misused
    prefix = deployment.settings.policy_prefix
    assert main(deployment.cli("policies", "apply", str(roles_file), "--yes")) != 0
    assert "denied" in capsys.readouterr().err
    assert deployment.admin.policy_read(f"{prefix}-role-brand-writers") is None
    assert deployment.admin.policy_read(f"{prefix}-role-responders") is None
