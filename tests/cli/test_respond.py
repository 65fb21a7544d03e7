"""`sentinel lockdown` / `sentinel unfreeze` as responders use them: real OpenBao, sandbox platform."""

from __future__ import annotations

import json
import secrets

import pyotp
import pytest

from sentinel.cli import main
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.response import stepup
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.conftest import Deployment, person_token, sandbox_inventory, seed_sandbox


def prepare(deployment: Deployment, sandbox: SandboxServer) -> dict[str, str]:
    tag = secrets.token_hex(3)
    ids = ["shop-x", "shop-bsky", "help-x"]
    inv = sandbox_inventory({a: {"handle": f"{a}-{tag}", "tags": [a.split("-")[0]]} for a in ids})
    (deployment.dir / "inventory.toml").write_text(inv)
    seed_sandbox(sandbox.url, deployment.admin.with_token(deployment.token), {a: f"{a}-{tag}" for a in ids})
    p = deployment.settings.policy_prefix
    admin = deployment.admin
    acl = "sentinel"  # [api] acl_prefix: the one capability prefix of the CLI and the API
    admin.policy_write(f"{p}-role-irt", f'path "{acl}/global/lockdown" {{ capabilities = ["update"] }}')
    admin.policy_write(
        f"{p}-role-lead",
        f'path "{acl}/global/unfreeze" {{ capabilities = ["update"] }}\n'
        f'path "{acl}/global/lockdown" {{ capabilities = ["update"] }}',
    )
    tokens = {}
    for name, policy in (("op-ivy", "irt"), ("op-lee", "lead"), ("op-nobody", "")):
        tok, _ = person_token(admin, name, [f"{p}-role-{policy}"] if policy else [], ttl="30m")
        tokens[name] = tok
    return tokens


def test_lockdown_and_unfreeze(
    deployment: Deployment,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tokens = prepare(deployment, sandbox)
    monkeypatch.setenv("VAULT_TOKEN", tokens["op-nobody"])
    assert main(deployment.cli("lockdown", "--tag", "shop", "--reason", "worm", "--yes")) == 6
    assert "missing capability 'lockdown'" in capsys.readouterr().err

    monkeypatch.setenv("VAULT_TOKEN", tokens["op-ivy"])
    assert main(deployment.cli("lockdown", "--tag", "shop", "--reason", "worm")) == 5  # no terminal, no --yes
    assert main(deployment.cli("lockdown", "--reason", "nothing")) == 2
    assert main(["--json", *deployment.cli("lockdown", "--tag", "shop", "--reason", "worm", "--yes")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and {r["account"] for r in report["accounts"]} == {"shop-x", "shop-bsky"}
    for r in report["accounts"]:
        steps = {s["step"]: s["status"] for s in r["steps"]}
        assert steps["gate"] == steps["vault"] == steps["sessions"] == steps["lock"] == "done"
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        rec = ResponseStore(store).get("shop-x")
        assert rec is not None and rec.actor == "op-ivy" and not rec.automatic
        audit = [r["action"] for r in store.query("SELECT action FROM audit ORDER BY id")]
    assert "lockdown" in audit

    # op-ivy may lock down but not unfreeze.
    monkeypatch.setenv("VAULT_TOKEN", tokens["op-ivy"])
    assert main(deployment.cli("unfreeze", "shop-x", "--reason", "ok", "--code", "123456")) == 6
    # Another responder with 'unfreeze' but no TOTP enrolment, then with a wrong and a right code.
    monkeypatch.setenv("VAULT_TOKEN", tokens["op-lee"])
    assert main(deployment.cli("unfreeze", "shop-x", "--reason", "ok", "--code", "123456")) == 1
    assert "has no TOTP seed" in capsys.readouterr().err
    daemon = deployment.admin.with_token(deployment.token)
    uri = stepup.enroll(daemon, "op-lee")
    seed = uri.split("secret=")[1].split("&")[0]
    assert main(deployment.cli("unfreeze", "shop-x", "--reason", "ok", "--code", "000000")) == 1
    assert (
        main(deployment.cli("unfreeze", "shop-x", "--reason", "checked", "--code", pyotp.TOTP(seed).now()))
        == 0
    )
    assert "shop-x unfrozen by op-lee" in capsys.readouterr().out
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        assert ResponseStore(store).frozen() == ["shop-bsky"]


def test_lockdown_unknown_account_changes_nothing(
    deployment: Deployment,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tokens = prepare(deployment, sandbox)
    monkeypatch.setenv("VAULT_TOKEN", tokens["op-ivy"])
    assert main(deployment.cli("lockdown", "shop-x", "nope", "--reason", "x", "--yes")) == 2
    assert "no account with id 'nope'" in capsys.readouterr().err
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        assert ResponseStore(store).frozen() == []
