"""``sentinel totp enroll`` and ``sentinel totp code`` with people's own Vault tokens."""

from __future__ import annotations

import io
import json
import logging
import sys
import time

import pyotp
import pytest
import segno

from sentinel.audit import AuditTrail
from sentinel.cli import main
from sentinel.redact import scrub
from sentinel.store import Store
from tests.creds.deploy import SandboxDeployment, sd_fixture  # noqa: F401

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
    assert (
        scrub("Example Corp froze an account") == "Example Corp froze an account"
    )  # the issuer is no secret
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


def test_enroll_operator_draws_the_uri_as_a_qr_code_only_when_asked_or_on_a_terminal(
    sd: SandboxDeployment,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = 'path "sentinel/accounts/+/admin" { capabilities = ["update"] }'
    monkeypatch.setenv("VAULT_TOKEN", sd.person("op-boss", admin))
    caplog.set_level(logging.DEBUG)
    assert main(sd.d.cli("totp", "enroll", "--operator", "op-qr", "--qr")) == 0
    out, err = capsys.readouterr()
    uri, *drawing = out.splitlines()
    seed = pyotp.parse_uri(uri).secret
    qr = [line for line in drawing if line and set(line) <= set("█▀▄ ")]
    assert _modules(qr) == _expected(uri)  # the drawing is that URI's QR code, quiet zone included
    assert seed not in err and seed not in caplog.text and seed not in json.dumps(actions(sd))
    # not a terminal (captured here), no flag: the URI alone, for scripts
    assert main(sd.d.cli("totp", "enroll", "--operator", "op-qr", "--replace")) == 0
    out, _ = capsys.readouterr()
    assert out.count("\n") == 1 and out.startswith("otpauth://")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # a terminal: drawn unless --no-qr
    assert main(sd.d.cli("totp", "enroll", "--operator", "op-qr", "--replace")) == 0
    assert "█" in capsys.readouterr().out
    assert main(sd.d.cli("totp", "enroll", "--operator", "op-qr", "--replace", "--no-qr")) == 0
    assert "█" not in capsys.readouterr().out


def _modules(lines: list[str]) -> list[list[bool]]:
    """Half-block lines back to rows of modules: each character is an upper and a lower module."""
    top = {"█": True, "▀": True, "▄": False, " ": False}
    bottom = {"█": True, "▀": False, "▄": True, " ": False}
    rows: list[list[bool]] = []
    for line in lines:
        rows.append([top[c] for c in line])
        rows.append([bottom[c] for c in line])
    return rows


def _expected(uri: str) -> list[list[bool]]:
    """The QR code of ``uri`` (segno's matrix, quiet zone of 4) as a terminal shows it: light
    modules drawn, dark ones left blank, rows paired (the last one alone on an odd count)."""
    qr = segno.make(uri, error="m", micro=False)
    rows = [[not bool(m) for m in row] for row in qr.matrix_iter(border=4)]
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    return rows
