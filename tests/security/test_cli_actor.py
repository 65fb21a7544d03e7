"""Who the CLI records as acting is the caller's Vault identity, never the Unix user, a flag
or a token's display name (issue #12). Each test performs the attack against real OpenBao."""

from __future__ import annotations

import getpass
import json
import secrets

import pytest

from sentinel.audit import AuditTrail
from sentinel.cli import main
from sentinel.config import load_config
from sentinel.inventory import load_inventory
from sentinel.store import Store
from tests.conftest import Deployment, capability_policy, person_token
from tests.creds.deploy import SandboxDeployment, sd_fixture  # noqa: F401

ADMIN_HCL = 'path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }\n'


def unix_user(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Every place a program could learn the Unix login from says ``name``."""
    for var in ("USER", "LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, name)
    monkeypatch.setattr(getpass, "getuser", lambda: name)


def audit_actors(d: Deployment, action: str) -> list[str]:
    config = load_config(d.config)
    with Store(config.sentinel.database) as store:
        return [e.actor for e in AuditTrail(store).entries() if e.action == action]


def demo_accounts(d: Deployment) -> list[str]:
    return [a.id for a in load_inventory(d.dir / "inventory.toml").active]


def orphan_token(d: Deployment, display_name: str, policies: list[str]) -> tuple[str, str]:
    """``(token, accessor)`` of a token without an identity entity, whose creator chose its
    display name."""
    auth = d.admin.request(
        "POST",
        "auth/token/create-orphan",
        json={"policies": policies, "display_name": display_name, "ttl": "10m"},
    )["auth"]
    return str(auth["client_token"]), str(auth["accessor"])


def test_a_rotation_is_recorded_as_the_tokens_identity_whatever_the_unix_user_says(
    sd: SandboxDeployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    person = f"op-rot-{secrets.token_hex(3)}"
    admin_on_b = capability_policy(sd.d.admin, "admin", [sd.b])
    token, _ = person_token(sd.d.admin, person, [admin_on_b], ttl="10m")
    monkeypatch.setenv("VAULT_TOKEN", token)
    # one token, two Unix users at the keyboard (a shared jump host, sudo -u): one person
    unix_user(monkeypatch, "op-victim")
    assert main(sd.d.cli("rotate", sd.b, "--reason", "first")) == 0
    unix_user(monkeypatch, "root")
    assert main(sd.d.cli("rotate", sd.b, "--reason", "second")) == 0
    assert audit_actors(sd.d, "credential.rotate") == [person, person]
    # a token without an entity is its own identity, whatever display name its creator gave it
    bare, accessor = orphan_token(sd.d, f"{person}-boss", ["default", admin_on_b])
    monkeypatch.setenv("VAULT_TOKEN", bare)
    assert main(sd.d.cli("rotate", sd.b)) == 0
    assert audit_actors(sd.d, "credential.rotate")[-1] == f"token:{accessor}"
    # cancelling a pending rotation records the canceller the same way
    newest = sd.store.state(sd.b, "password").newest  # type: ignore[union-attr]
    sd.store.write_pending(
        sd.b, "password", {"value": "pending-pass-0123456789", "service": sd.url}, cas=newest
    )
    monkeypatch.setenv("VAULT_TOKEN", token)
    capsys.readouterr()
    assert main(["--json", *sd.d.cli("rotate", "--cancel", sd.b)]) == 0
    [r] = json.loads(capsys.readouterr().out)
    assert r["status"] == "cancelled"
    assert audit_actors(sd.d, "credential.rotation_cancelled") == [person]


def test_a_silence_is_recorded_as_the_tokens_identity_never_the_login_or_a_flag(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = secrets.token_hex(3)
    a, b = f"op-a-{tag}", f"op-b-{tag}"
    everywhere = capability_policy(deployment.admin, "admin", demo_accounts(deployment))
    monkeypatch.setenv("VAULT_TOKEN", person_token(deployment.admin, a, [everywhere], ttl="10m")[0])
    unix_user(monkeypatch, b)  # A's token, typed at B's login
    silence = deployment.cli("alerts", "silence", "--kind", "freeze", "--for", "1h")
    with pytest.raises(SystemExit) as usage:
        main([*silence, "--author", b])  # naming someone else is not an option
    assert usage.value.code == 2
    assert main(silence) == 0
    monkeypatch.setenv("VAULT_TOKEN", person_token(deployment.admin, b, [everywhere], ttl="10m")[0])
    unix_user(monkeypatch, a)
    assert main(silence) == 0
    capsys.readouterr()
    assert main(["--json", *deployment.cli("alerts", "silence", "--list")]) == 0
    silences = json.loads(capsys.readouterr().out)["silences"]
    assert [s["author"] for s in silences] == [a, b]
    # without a Vault login nobody is recorded, and nothing is silenced
    monkeypatch.delenv("VAULT_TOKEN")
    monkeypatch.setenv("HOME", str(deployment.dir))
    assert main(silence) == 3
    assert main(["--json", *deployment.cli("alerts", "silence", "--list")]) == 0
    assert len(json.loads(capsys.readouterr().out)["silences"]) == 2


def test_bootstrap_is_recorded_as_the_administrators_identity_not_the_tokens_display_name(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = secrets.token_hex(3)
    monkeypatch.setenv("SENTINEL_VAULT_TOKEN_FILE", "")
    unix_user(monkeypatch, "root")
    # an administrator without an entity, whose token's creator named it after someone else
    token, accessor = orphan_token(deployment, "sentinel-admin-ceo", ["root"])
    monkeypatch.setenv("VAULT_TOKEN", token)
    monkeypatch.setenv("SENTINEL_VAULT_KV_MOUNT", f"{deployment.settings.kv_mount}-x")
    assert main(["--json", *deployment.cli("vault", "bootstrap")]) == 0
    assert json.loads(capsys.readouterr().out)["audit"].endswith(f"written by token:{accessor}")
    # an administrator's own login: their entity's name
    policy = f"{deployment.settings.policy_prefix}-admin-{tag}"
    deployment.admin.policy_write(policy, ADMIN_HCL)
    admin = f"op-admin-{tag}"
    monkeypatch.setenv("VAULT_TOKEN", person_token(deployment.admin, admin, [policy], ttl="10m")[0])
    monkeypatch.setenv("SENTINEL_VAULT_KV_MOUNT", f"{deployment.settings.kv_mount}-y")
    assert main(["--json", *deployment.cli("vault", "bootstrap")]) == 0
    capsys.readouterr()
    assert audit_actors(deployment, "vault.bootstrap") == [f"token:{accessor}", admin]


def test_rotating_needs_admin_on_every_account_it_touches(
    sd: SandboxDeployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI rotates with Sentinel's own token, so it asks Vault what the API's rotate route
    asks: the caller's own 'admin' on each account. A login without it changes nothing."""
    person = f"op-norot-{secrets.token_hex(3)}"
    only_b = capability_policy(sd.d.admin, "admin", [sd.b])
    monkeypatch.setenv("VAULT_TOKEN", person_token(sd.d.admin, person, [only_b], ttl="10m")[0])
    before = {acct: sd.store.state(acct, "password").newest for acct in (sd.a, sd.b)}  # type: ignore[union-attr]
    capsys.readouterr()
    for argv in (
        ("rotate", sd.a),
        ("rotate", sd.a, sd.b),
        ("rotate", "--all", "--yes"),
        ("rotate", "--cancel", sd.a),
    ):
        assert main(sd.d.cli(*argv)) == 6, argv
        assert f"missing capability 'admin' on {sd.a}" in capsys.readouterr().err
    assert {acct: sd.store.state(acct, "password").newest for acct in (sd.a, sd.b)} == before  # type: ignore[union-attr]
    assert audit_actors(sd.d, "credential.rotate") == []
    # the account it does hold 'admin' on, it may rotate
    assert main(sd.d.cli("rotate", sd.b)) == 0


def test_silencing_needs_admin_on_every_account_the_silence_could_mute(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Muting alerts is what an intruder wants most: one account's alerts need 'admin' on it;
    a pattern, a rule or a kind (every account's alerts) need 'admin' on every account."""
    accounts = demo_accounts(deployment)
    one = accounts[0]
    person = f"op-mute-{secrets.token_hex(3)}"
    just_one = capability_policy(deployment.admin, "admin", [one])
    monkeypatch.setenv("VAULT_TOKEN", person_token(deployment.admin, person, [just_one], ttl="10m")[0])
    capsys.readouterr()
    for wider in (
        ("--account", f"{one[:3]}*"),
        ("--kind", "freeze"),
        ("--rule", "campaign.*"),
        ("--account", "not-an-account"),
    ):
        assert main(deployment.cli("alerts", "silence", *wider, "--for", "1h")) == 6, wider
        assert "missing capability 'admin'" in capsys.readouterr().err
    assert main(["--json", *deployment.cli("alerts", "silence", "--list")]) == 0
    assert json.loads(capsys.readouterr().out)["silences"] == []
    assert main(deployment.cli("alerts", "silence", "--account", one, "--for", "1h")) == 0
    capsys.readouterr()
    assert main(["--json", *deployment.cli("alerts", "silence", "--list")]) == 0
    [s] = json.loads(capsys.readouterr().out)["silences"]
    assert (s["value"], s["author"]) == (one, person)
