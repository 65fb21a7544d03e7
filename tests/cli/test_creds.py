"""``sentinel creds show`` (metadata only) and ``--reveal`` (the person's token, audited)."""

from __future__ import annotations

import io
import json

import pytest

from sentinel.audit import AuditTrail
from sentinel.cli import main
from sentinel.store import Store
from tests.creds.deploy import SandboxDeployment, sd_fixture  # noqa: F401


def audit(sd: SandboxDeployment) -> list[tuple[str, str, str]]:
    with Store(sd.d.dir / "state" / "sentinel.sqlite3") as store:
        return [(e.actor, e.action, e.target) for e in AuditTrail(store).entries()]


def test_show_prints_metadata_only(sd: SandboxDeployment, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(sd.d.cli("creds", "show", sd.a)) == 0
    out, err = capsys.readouterr()
    assert "password" in out and "app_password" in out and "not stored" in out  # totp_seed
    for secret in sd.first.values():
        assert secret not in out and secret not in err
    assert main(["--json", *sd.d.cli("creds", "show", sd.a, "--credential", "password")]) == 0
    [row] = json.loads(capsys.readouterr().out)["credentials"]
    assert row["phase"] == "idle" and row["current_version"] == 1 and row["changed_by"] == "seed"
    assert "value" not in json.dumps(row)


def test_reveal_to_an_allowed_person_is_audited_and_warned(
    sd: SandboxDeployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", sd.person("op-ann", sd.reader_policy(sd.a)))
    assert main(sd.d.cli("creds", "show", sd.a, "--credential", "password", "--reveal")) == 0
    out, err = capsys.readouterr()
    assert f"value: {sd.first[f'{sd.a}/password']}" in out
    assert "WARNING" in err and "op-ann" in err and sd.first[f"{sd.a}/password"] not in err
    assert ("op-ann", "credential.reveal", f"accounts/{sd.a}/password") in audit(sd)
    # One secret at a time.
    assert main(sd.d.cli("creds", "show", sd.a, "--reveal")) == 2


def test_reveal_is_refused_when_vault_says_no(
    sd: SandboxDeployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Allowed on the other account only.
    monkeypatch.setenv("VAULT_TOKEN", sd.person("op-bob", sd.reader_policy(sd.b)))
    assert main(sd.d.cli("creds", "show", sd.a, "--credential", "password", "--reveal")) == 3
    out, err = capsys.readouterr()
    assert "permission denied" in err and sd.first[f"{sd.a}/password"] not in out + err
    assert ("op-bob", "credential.reveal_denied", f"accounts/{sd.a}/password") in audit(sd)
    monkeypatch.delenv("VAULT_TOKEN")
    monkeypatch.setenv("HOME", str(sd.d.dir))  # no ~/.vault-token either
    assert main(sd.d.cli("creds", "show", sd.a, "--credential", "password", "--reveal")) == 3
    assert "log in to Vault first" in capsys.readouterr().err


def test_reveal_never_shows_a_pending_version(
    sd: SandboxDeployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sd.store.write_pending(sd.b, "password", {"value": "pending-not-current-1234"}, cas=1)
    monkeypatch.setenv("VAULT_TOKEN", sd.person("op-ann", sd.reader_policy(sd.b)))
    assert main(sd.d.cli("creds", "show", sd.b, "--reveal")) == 0
    out = capsys.readouterr().out
    assert sd.first[f"{sd.b}/password"] in out and "pending-not-current" not in out


def test_set_stores_a_hand_changed_secret_with_the_persons_token(
    sd: SandboxDeployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", sd.person("op-cy", sd.admin_policy(sd.b)))
    monkeypatch.setattr("sys.stdin", io.StringIO("hand-made-password-42\n"))
    assert main(sd.d.cli("creds", "set", sd.b, "password")) == 1
    assert "already stored; use --replace" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("hand-made-password-42\n"))
    assert main(sd.d.cli("creds", "set", sd.b, "password", "--replace")) == 0
    assert "version 2" in capsys.readouterr().out
    st, data = sd.store.current(sd.b, "password")
    assert data == {"value": "hand-made-password-42"} and st.metadata["changed_by"] == "op-cy"
    assert ("op-cy", "credential.set", f"accounts/{sd.b}/password") in audit(sd)
