"""``sentinel rotate`` against OpenBao and the sandbox platform over HTTP."""

from __future__ import annotations

import io
import json

import pytest

from sentinel.audit import AuditTrail
from sentinel.cli import main
from sentinel.cli.rotate import Progress
from sentinel.creds.rotator import RotationResult
from sentinel.store import Store
from tests.conftest import capability_policy, person_token
from tests.creds.conftest import sandbox_accepts, sandbox_api
from tests.creds.deploy import SandboxDeployment, sd_fixture  # noqa: F401

ROTATOR = "op-rotates"


@pytest.fixture(autouse=True)
def _logged_in(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a deployment, the person at the keyboard has logged in to Vault: the rotation is
    recorded as theirs."""
    if "sd" in request.fixturenames:
        sd: SandboxDeployment = request.getfixturevalue("sd")
        admin_on_both = capability_policy(sd.d.admin, "admin", [sd.a, sd.b])
        monkeypatch.setenv("VAULT_TOKEN", person_token(sd.d.admin, ROTATOR, [admin_on_both], ttl="10m")[0])


def test_rotate_named_account_prints_a_table_and_no_secret(
    sd: SandboxDeployment, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(sd.d.cli("rotate", sd.a, "--reason", "quarterly")) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["ACCOUNT", "CREDENTIAL", "KIND", "STATUS"]
    rows = {tuple(line.split()[1:4]) for line in lines[1:-1]}
    assert ("password", "password", "rotated") in rows and ("app_password", "app_password", "rotated") in rows
    assert ("totp_seed", "totp_seed", "manual") in rows
    assert "2 rotated" in lines[-1]
    _, pw = sd.store.current(sd.a, "password")
    assert sandbox_accepts(sd.url, sd.handles[sd.a], pw["value"])
    for secret in [pw["value"], *sd.first.values()]:
        assert secret not in out and secret not in err
    with Store(sd.d.dir / "state" / "sentinel.sqlite3") as store:
        entries = [e for e in AuditTrail(store).entries() if e.action == "credential.rotate"]
    assert {e.target for e in entries} == {f"accounts/{sd.a}/password", f"accounts/{sd.a}/app_password"}
    assert all(e.details["reason"] == "quarterly" and e.actor == ROTATOR for e in entries)


def test_rotate_all_json_and_due_dry_run(sd: SandboxDeployment, capsys: pytest.CaptureFixture[str]) -> None:
    # Nothing is due yet (rotated just now, 30-day period; the others have none): a dry run says so.
    assert main(["--json", *sd.d.cli("rotate", "--due", "--dry-run")]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--json", *sd.d.cli("rotate", "--all", "--dry-run")]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert {r["status"] for r in dry} == {"dry_run", "manual"} and len(dry) == 4
    assert sd.store.state(sd.a, "password").newest == 1  # type: ignore[union-attr]
    # every account at once asks first; without a terminal only --yes confirms
    assert main(["--json", *sd.d.cli("rotate", "--all", "--credential", "password")]) == 5
    assert sd.store.state(sd.a, "password").newest == 1  # type: ignore[union-attr]
    capsys.readouterr()
    assert main(["--json", *sd.d.cli("rotate", "--all", "--credential", "password", "--yes")]) == 0
    done = json.loads(capsys.readouterr().out)
    assert sorted((r["account"], r["status"], r["version"]) for r in done) == [
        (sd.a, "rotated", 2),
        (sd.b, "rotated", 2),
    ]


def test_due_resumes_a_pending_rotation_and_cancel_abandons_one(
    sd: SandboxDeployment, capsys: pytest.CaptureFixture[str]
) -> None:
    store = sd.store
    # A pending version left by a crash before the platform heard of it.
    store.write_pending(sd.b, "password", {"value": "pending-pass-0123456789", "service": sd.url}, cas=1)
    assert main(["--json", *sd.d.cli("rotate", "--cancel", sd.b)]) == 0
    [r] = json.loads(capsys.readouterr().out)
    assert r["status"] == "cancelled"
    st = store.state(sd.b, "password")
    assert st is not None and st.phase == "idle" and st.current == 3
    # Another one: --due resumes it (a restart finishes what was started).
    new = "another-pending-0123456789"
    sandbox_pw = sd.first[f"{sd.b}/password"]
    store.write_pending(sd.b, "password", {"value": new, "service": sd.url}, cas=3)
    assert main(["--json", *sd.d.cli("rotate", "--due")]) == 0
    [r] = json.loads(capsys.readouterr().out)
    assert (r["account"], r["status"], r["version"]) == (sd.b, "resumed", 4)
    assert sandbox_accepts(sd.url, sd.handles[sd.b], new) and not sandbox_accepts(
        sd.url, sd.handles[sd.b], sandbox_pw
    )


def test_parked_rotation_shows_in_status_and_exit_code(
    sd: SandboxDeployment, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = sd.d.config.read_text() + '[rotation]\nattempts = 2\nbackoff = "0.01s"\nbackoff_max = "0.02s"\n'
    sd.d.config.write_text(cfg)
    sandbox_api(sd.url, "POST", "/api/_faults", json={"handle": sd.handles[sd.b], "status": 500, "count": 40})
    try:
        assert main(["--json", *sd.d.cli("rotate", sd.b)]) == 1
    finally:
        sandbox_api(sd.url, "POST", "/api/_faults", json={"handle": sd.handles[sd.b], "count": 0})
    [r] = json.loads(capsys.readouterr().out)
    assert r["status"] == "parked" and r["version"] == 2
    main(["--json", *sd.d.cli("status")])
    status = json.loads(capsys.readouterr().out)
    [stuck] = status["rotations"]["pending"]
    assert stuck["path"] == f"{sd.b}/password" and stuck["phase"] == "parked"
    assert stuck["cancel"] == f"sentinel rotate --cancel {sd.b}"
    assert status["rotations"]["counts"]["parked"] == 1


def test_usage_errors(sd: SandboxDeployment, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(sd.d.cli("rotate")) == 2
    assert "name ACCOUNT" in capsys.readouterr().err
    assert main(sd.d.cli("rotate", "--cancel")) == 2
    assert main(sd.d.cli("rotate", "nope")) == 2


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_rotating_needs_the_callers_own_vault_login(
    sd: SandboxDeployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    monkeypatch.setenv("HOME", str(sd.d.dir))  # no ~/.vault-token either
    assert main(sd.d.cli("rotate", sd.a)) == 3
    assert "log in to Vault first" in capsys.readouterr().err
    assert sd.store.state(sd.a, "password").newest == 1  # type: ignore[union-attr]
    assert main(["--json", *sd.d.cli("rotate", sd.a, "--dry-run")]) == 0  # a dry run changes nothing


def test_progress_bar_only_on_a_terminal() -> None:
    tty = _Tty()
    p = Progress(2, tty)
    p.update(RotationResult("a", "password", "password", "rotated"))
    p.update(RotationResult("b", "password", "password", "parked"))
    p.close()
    text = tty.getvalue()
    assert "[###############...............] 1/2 a/password" in text
    assert "2/2, 1 not ok b/password" in text and text.endswith("\n")
    plain = io.StringIO()
    q = Progress(2, plain)
    q.update(RotationResult("a", "password", "password", "rotated"))
    q.close()
    assert plain.getvalue() == ""
