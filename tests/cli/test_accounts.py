from __future__ import annotations

import json
import secrets

import pytest

from sentinel.activity import record_posts
from sentinel.cli import main
from sentinel.demo.up import seed_credentials
from sentinel.inventory import load_inventory
from sentinel.policies import apply, parse_roles, plan, render
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.conftest import Deployment


def test_list_and_show(deployment: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(deployment.cli("accounts", "list", "--tag", "support")) == 0
    out = capsys.readouterr().out
    assert "example-support-x" in out and "example-brand-x" not in out
    assert main(["--json", *deployment.cli("accounts", "show", "example-brand-x")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["business_hours"] == "mon-fri 08:00-19:00" and data["publishing"] == "gated"
    assert main(deployment.cli("accounts", "show", "nope")) == 2
    assert "no account with id 'nope'" in capsys.readouterr().err


def test_list_shows_each_accounts_state(deployment: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        rstore = ResponseStore(store)
        rstore.mark_frozen(
            ["example-brand-x", "example-brand-facebook"], ["gate", "lock"], "phished", "op-raj", False
        )
        rstore.set_step("example-brand-facebook", "lock", "done")
        rstore.set_step("example-brand-x", "lock", "todo", "lock it by hand")
    assert main(deployment.cli("accounts", "list", "--tag", "brand")) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert rows["ID"][4] == "STATE"
    states = {a: cols[4] for a, cols in rows.items() if a != "ID"}
    assert states["example-brand-x"] == "frozen"  # blocked at the gate and in Vault, not at the platform
    assert states["example-brand-facebook"] == "locked"  # the platform locked it too
    assert states["example-brand-instagram"] == "ok"
    assert main(deployment.cli("accounts", "list", "--tag", "brand", "--json")) == 0
    got = {a["id"]: (a["state"], a["frozen"]) for a in json.loads(capsys.readouterr().out)}
    assert got["example-brand-x"] == ("frozen", True) and got["example-brand-facebook"] == ("locked", True)
    assert got["example-brand-instagram"] == ("ok", False)


def test_audit_reports_posture(deployment: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    inv_path = deployment.dir / "inventory.toml"
    text = inv_path.read_text().replace('owners = ["op-kenji", "op-alice"]', "owners = []")
    inv_path.write_text(text)
    daemon = deployment.admin.with_token(deployment.token)
    inventory = load_inventory(inv_path)
    seed_credentials(daemon, inventory, deployment.settings.password_policy)
    # One credential overdue: rotated 40 days ago with a 30-day period.
    daemon.kv_patch_metadata("accounts/example-news-x/password", {"rotated": "2026-01-01T00:00:00Z"})
    # One account without anything in Vault.
    deployment.admin.kv_delete_all("accounts/example-careers-linkedin/password")
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        record_posts(
            store,
            {
                "example-brand-youtube": ("2020-01-01T00:00:00Z", 1),
                "example-brand-x": ("2099-01-01T00:00:00Z", 1),
            },
        )
    cfg = deployment.config.read_text().replace(
        'log_format = "json"\n', 'log_format = "json"\nmax_operator_reach = 4\n'
    )
    deployment.config.write_text(cfg)
    assert main(["--json", *deployment.cli("accounts", "audit")]) == 1
    report = json.loads(capsys.readouterr().out)
    found = {(f["check"], f["subject"]) for f in report["findings"]}
    assert ("no-owner", "example-region-jp-x") in found
    assert ("overdue-rotation", "example-news-x") in found
    assert ("no-credential", "example-careers-linkedin") in found
    assert ("no-2fa", "example-brand-bluesky") in found and ("no-2fa", "example-brand-x") not in found
    assert ("blast-radius", "op-alice") in found  # 5 accounts > 4
    assert ("silent", "example-brand-youtube") in found and ("silent", "example-brand-x") not in found
    assert report["vault_checked"] is True
    assert deployment.token not in json.dumps(report)


def test_audit_counts_what_vault_policies_grant_an_operator(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    op = f"op-{secrets.token_hex(3)}"
    inv_path = deployment.dir / "inventory.toml"
    inv_path.write_text(
        inv_path.read_text().replace('owners = ["op-kenji", "op-alice"]', f'owners = ["{op}"]')
    )
    # The inventory gives op one account; a Vault policy on their entity lets them publish on all.
    policy = f"grants-{op}"
    deployment.admin.policy_write(policy, 'path "sentinel/accounts/+/publish" { capabilities = ["update"] }')
    deployment.admin.request("POST", "identity/entity", json={"name": op, "policies": [policy]})
    cfg = deployment.config.read_text().replace(
        'log_format = "json"\n', 'log_format = "json"\nmax_operator_reach = 4\n'
    )
    deployment.config.write_text(cfg)
    main(["--json", *deployment.cli("accounts", "audit")])
    out = capsys.readouterr()
    report = json.loads(out.out)
    (finding,) = [f for f in report["findings"] if f["check"] == "blast-radius" and f["subject"] == op]
    active = len(load_inventory(inv_path).active)
    assert f"can reach {active} accounts" in finding["detail"] and "Vault policies" in finding["detail"]
    # operators without an entity are named: their reach is the inventory's only
    assert "warning: op-alice: no Vault identity entity is named op-alice" in out.err


def test_audit_without_vault_says_so(deployment: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    deployment.write_config(addr="http://127.0.0.1:9")
    assert main(deployment.cli("accounts", "audit")) == 3
    assert "Vault checks not run" in capsys.readouterr().out


def test_audit_names_who_holds_capabilities_without_the_freeze_policy(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    s, admin = deployment.settings, deployment.admin
    tag = secrets.token_hex(3)
    grant = f"{s.policy_prefix}-hand-{tag}"
    admin.policy_write(
        grant, 'path "sentinel/accounts/example-brand-x/moderate" { capabilities = ["update"] }'
    )
    # an entity granted directly, a group by hand: neither carries the freeze policy
    admin.request("POST", "identity/entity", json={"name": f"bare-{tag}", "policies": [grant]})
    admin.request("POST", "identity/group", json={"name": f"hand-{tag}", "policies": [grant]})
    # a role group as 'sentinel policies apply' writes it, and its member: covered
    member = admin.request("POST", "identity/entity", json={"name": f"member-{tag}", "policies": [grant]})
    roles = parse_roles({"roles": {"mods": {"members": [f"member-{tag}"], "global": ["approve"]}}})
    inventory = load_inventory(deployment.dir / "inventory.toml")
    apply(admin, plan(admin, render(roles, inventory, "sentinel", s.policy_prefix), s.policy_prefix))
    assert member["data"]["id"]
    main(["--json", *deployment.cli("accounts", "audit")])
    report = json.loads(capsys.readouterr().out)
    gaps = {f["subject"]: f for f in report["findings"] if f["check"] == "freeze-not-carried"}
    assert f"entity bare-{tag}" in gaps and f"group hand-{tag}" in gaps
    assert "example-brand-x" in gaps[f"entity bare-{tag}"]["detail"]
    assert gaps[f"group hand-{tag}"]["severity"] == "high"
    assert f"entity member-{tag}" not in gaps and f"group {s.policy_prefix}-role-mods" not in gaps
