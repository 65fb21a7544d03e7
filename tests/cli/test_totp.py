"""``sentinel totp enroll`` and ``sentinel totp code`` with people's own Vault tokens."""

from __future__ import annotations

import io
import json
import time

import pyotp
import pytest

from sentinel.audit import AuditTrail
from sentinel.cli import main
from sentinel.store import Store
from tests.creds.deploy import SandboxDeployment, cli_sandbox_fixture, sd_fixture  # noqa: F401

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def actions(sd: SandboxDeployment) -> list[tuple[str, str]]:
    with Store(sd.d.dir / "state" / "sentinel.sqlite3") as store:
        entries = list(AuditTrail(store).entries())
    assert all(SEED not in json.dumps(e.to_dict()) for e in entries)
    return [(e.actor, e.action) for e in entries]


def test_enroll_uri_then_code_is_audited(
    sd: SandboxDeployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", sd.person("op-ann", sd.admin_policy(sd.a)))
    uri = f"otpauth://totp/Example:{sd.a}?secret={SEED}&issuer=Example"
    monkeypatch.setattr("sys.stdin", io.StringIO(uri + "\n"))
    assert main(sd.d.cli("totp", "enroll", sd.a)) == 0
    out, err = capsys.readouterr()
    assert "version 1" in out and SEED not in out + err
    assert main(["--json", *sd.d.cli("totp", "code", sd.a)]) == 0
    data = json.loads(capsys.readouterr().out)
    now = time.time()
    assert data["code"] in {pyotp.TOTP(SEED).at(now + d) for d in (-3, 0)}
    assert 0 < data["valid_for"] <= 30
    assert ("op-ann", "totp.enroll") in actions(sd) and ("op-ann", "totp.code") in actions(sd)
    # The posture audit no longer reports the account as lacking 2FA.
    main(["--json", *sd.d.cli("accounts", "audit")])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert ("no-2fa", sd.a) not in {(f["check"], f["subject"]) for f in findings}
    assert ("no-2fa", sd.b) in {(f["check"], f["subject"]) for f in findings}
    # Stored once: replacing needs --replace.
    monkeypatch.setattr("sys.stdin", io.StringIO(SEED))
    assert main(sd.d.cli("totp", "enroll", sd.a)) == 1
    assert "--replace" in capsys.readouterr().err


def test_code_needs_a_person_allowed_to_read_the_seed(
    sd: SandboxDeployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", sd.person("op-ann", sd.admin_policy(sd.a)))
    monkeypatch.setattr("sys.stdin", io.StringIO(SEED))
    assert main(sd.d.cli("totp", "enroll", sd.a)) == 0
    capsys.readouterr()
    monkeypatch.setenv("VAULT_TOKEN", sd.person("op-eve", sd.reader_policy(sd.b)))
    assert main(sd.d.cli("totp", "code", sd.a)) == 3
    out, err = capsys.readouterr()
    assert "permission denied" in err and out == ""
    assert ("op-eve", "totp.code_denied") in actions(sd)


def test_bad_seed_and_missing_seed(
    sd: SandboxDeployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", sd.person("op-ann", sd.admin_policy(sd.a)))
    monkeypatch.setattr("sys.stdin", io.StringIO(f"otpauth://hotp/x?secret={SEED}&counter=3"))
    assert main(sd.d.cli("totp", "enroll", sd.a)) == 2
    assert "HOTP" in capsys.readouterr().err
    assert main(sd.d.cli("totp", "code", sd.a)) == 3
    assert "enrol one with: sentinel totp enroll" in capsys.readouterr().err


def test_enroll_operator_step_up_seed(
    sd: SandboxDeployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = 'path "sentinel/accounts/+/admin" { capabilities = ["update"] }'  # [api] acl_prefix
    monkeypatch.setenv("VAULT_TOKEN", sd.person("op-boss", admin))
    assert main(sd.d.cli("totp", "enroll", "--operator", "op-resp")) == 0
    out, err = capsys.readouterr()
    assert out.startswith("otpauth://totp/") and "not shown again" in err
