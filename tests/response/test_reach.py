"""Blast radius from the inventory and Vault: real OpenBao, the daemon's own token, the sandbox platform."""

from __future__ import annotations

import asyncio
import json
import secrets
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

from sentinel.alerts.bridge import alert_from_kwargs
from sentinel.cli import main
from sentinel.config import load_config
from sentinel.inventory import Inventory, parse_inventory
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.policies import apply, parse_roles, plan, render
from sentinel.post_guard import Guard
from sentinel.response.containment import freeze_policy_name, render_freeze_policy
from sentinel.response.reach import Group, Identity, UnknownTemplate, fill_templates, operator_reach
from sentinel.response.service import ResponseService
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from sentinel.vault.client import VaultClient
from tests.conftest import Deployment, person_token, running_app, seed_sandbox

ACL_PREFIX = "sentinel"  # [api] acl_prefix default: where rendered roles put capabilities
SCAM = "Send 1 BTC to bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh and get 2 back! https://claim-example.com"


def inventory_toml(op: str, tag: str = "t") -> str:
    """brand-x, brand-ig: tag brand, op-ghost's; shop-x: ``op``'s; help-x: op-ghost's; old-x:
    retired brand. No Vault entity is named op-ghost (other tests make entities of their people)."""
    rows = [
        ("brand-x", "brand", "op-ghost", False),
        ("brand-ig", "brand", "op-ghost", False),
        ("shop-x", "shop", op, False),
        ("help-x", "help", "op-ghost", False),
        ("old-x", "brand", "op-ghost", True),
    ]
    return "\n".join(
        f'[[accounts]]\nid = "{a}"\nplatform = "sandbox"\nhandle = "{a}-{tag}"\ntimezone = "UTC"\n'
        f'publishing = "gated"\nowners = ["{o}"]\ntags = ["{t}"]\ndomains = ["example.com"]\n'
        f"retired = {'true' if retired else 'false'}\n"
        for a, t, o, retired in rows
    )


ROLES = """
[roles.brand-writers]
members = [MEMBERS]
[[roles.brand-writers.grants]]
tags = ["brand"]
capabilities = ["publish", "respond"]

[roles.help-analysts]
[[roles.help-analysts.grants]]
accounts = ["help-x"]
capabilities = ["analytics"]
"""


@pytest.fixture
def daemon(deployment: Deployment) -> Iterator[VaultClient]:
    """Vault as the daemon sees it: its own least-privilege token."""
    client = deployment.admin.with_token(deployment.token)
    yield client
    client.close()


@pytest.fixture
def op() -> str:
    """A fresh operator name (Vault entity names are unique in the session's OpenBao)."""
    return f"op-{secrets.token_hex(3)}"


def inventory(op: str, tag: str = "t") -> Inventory:
    return parse_inventory(tomllib.loads(inventory_toml(op, tag)))


def roles(members: str = "") -> Any:
    return parse_roles(tomllib.loads(ROLES.replace("MEMBERS", members)), "roles.toml")


def entity(deployment: Deployment, name: str, **fields: Any) -> str:
    resp = deployment.admin.request("POST", "identity/entity", json={"name": name, **fields})
    return str(resp["data"]["id"])


def reach(vault: VaultClient | None, inv: Inventory, op: str, deployment: Deployment) -> Any:
    s = deployment.settings
    return operator_reach(
        vault,
        inv,
        op,
        kv_mount=s.kv_mount,
        capability_prefixes=(ACL_PREFIX, s.policy_prefix),
        skip_policies=(freeze_policy_name(s),),
    )


def test_entity_policy_rendered_from_a_roles_file_by_tag(
    deployment: Deployment, daemon: VaultClient, op: str
) -> None:
    inv = inventory(op)
    policies = render(roles(), inv, ACL_PREFIX, deployment.settings.policy_prefix)
    for p in policies:
        deployment.admin.policy_write(p.name, p.hcl)
    entity(deployment, op, policies=[p.name for p in policies])

    r = reach(daemon, inv, op, deployment)
    # shop-x from the inventory; brand-x and brand-ig through the role (not old-x: retired, so
    # not rendered; not help-x: analytics only reads numbers).
    assert r.accounts == ("brand-x", "brand-ig", "shop-x")
    assert r.owned == ("shop-x",)
    assert r.vault and r.complete and r.warnings == ()
    assert any(
        w.startswith(f"publish via {ACL_PREFIX}/accounts/brand-x/publish") for w in r.granted["brand-x"]
    )
    assert set(r.policies) == {policies[0].name, policies[1].name, "default"}
    assert "1 owned in the inventory, 2 more through Vault policies" in r.summary()
    assert r.details()["through Vault policies"] == "brand-x, brand-ig"
    assert r.details(most=1)["through Vault policies"] == "brand-x and 1 more"


def test_group_policy_counts(deployment: Deployment, daemon: VaultClient, op: str) -> None:
    inv = inventory(op)
    eid = entity(deployment, op)  # no policy of its own: only through the role's identity group
    mount = f"up-{op}"
    deployment.admin.request("POST", f"sys/auth/{mount}", json={"type": "userpass"})
    accessor = deployment.admin.request("GET", "sys/auth")["data"][f"{mount}/"]["accessor"]
    deployment.admin.request(
        "POST", "identity/entity-alias", json={"name": op, "canonical_id": eid, "mount_accessor": accessor}
    )
    rendered = render(roles(f'"{op}"'), inv, ACL_PREFIX, deployment.settings.policy_prefix)
    changes = apply(deployment.admin, plan(deployment.admin, rendered, deployment.settings.policy_prefix))
    assert any(c.kind == "group" for c in changes)

    r = reach(daemon, inv, op, deployment)
    assert r.accounts == ("brand-x", "brand-ig", "shop-x")
    assert r.policies == tuple(sorted((rendered[0].name, "default")))
    # Its login's own role policies live outside the identity: named, not guessed.
    assert r.logins == (f"userpass at auth/{mount}/",)
    assert r.details()["login methods (their role policies not counted)"] == f"userpass at auth/{mount}/"


def test_deny_excludes_and_the_freeze_policy_is_left_out(
    deployment: Deployment, daemon: VaultClient, op: str
) -> None:
    s, inv = deployment.settings, inventory(op)
    everyone, deny = f"{s.policy_prefix}-all-{op}", f"{s.policy_prefix}-deny-{op}"
    deployment.admin.policy_write(
        everyone, f'path "{ACL_PREFIX}/accounts/+/respond" {{ capabilities = ["update"] }}'
    )
    deployment.admin.policy_write(
        deny,
        f'path "{ACL_PREFIX}/accounts/brand-x/*" {{ capabilities = ["deny"] }}\n'
        f'path "{s.kv_mount}/data/accounts/help-x/*" {{ capabilities = ["deny"] }}',
    )
    # Today's freezes (brand-ig) deny it to operators, but that is not what they are granted.
    deployment.admin.policy_write(freeze_policy_name(s), render_freeze_policy(s, ["brand-ig"]))
    entity(deployment, op, policies=[everyone, deny, freeze_policy_name(s)])

    r = reach(daemon, inv, op, deployment)
    assert r.accounts == ("brand-ig", "shop-x", "help-x", "old-x")  # not brand-x: denied
    assert freeze_policy_name(s) not in r.policies
    # Vault agrees for a token of that entity.
    tok = deployment.admin.request(
        "POST", "auth/token/create", json={"policies": [everyone, deny], "ttl": "5m"}
    )["auth"]["client_token"]
    person = deployment.admin.with_token(tok)
    caps = person.capabilities_self(
        [f"{ACL_PREFIX}/accounts/brand-x/respond", f"{ACL_PREFIX}/accounts/help-x/respond"]
    )
    person.close()
    assert caps[f"{ACL_PREFIX}/accounts/brand-x/respond"] == ["deny"]
    assert caps[f"{ACL_PREFIX}/accounts/help-x/respond"] == ["update"]


def test_credential_reads_and_templates(deployment: Deployment, daemon: VaultClient, op: str) -> None:
    s, inv = deployment.settings, inventory(op)
    name = f"{s.policy_prefix}-creds-{op}"
    deployment.admin.policy_write(
        name,
        f'path "{s.kv_mount}/data/accounts/{{{{identity.entity.metadata.account}}}}/*" {{\n'
        '  capabilities = ["read"]\n}\n'
        f'path "{s.kv_mount}/data/accounts/{{{{identity.entity.metadata.second}}}}/*" {{\n'
        '  capabilities = ["read"]\n}\n'  # no such metadata: Vault skips the path
        f'path "{s.kv_mount}/metadata/accounts/brand-x/*" {{ capabilities = ["read", "list"] }}\n',
    )
    entity(deployment, op, policies=[name], metadata={"account": "help-x"})
    r = reach(daemon, inv, op, deployment)
    assert r.accounts == ("shop-x", "help-x")  # metadata of brand-x's secrets is not their value
    assert r.granted["help-x"][0].startswith(
        f"reads credential password via {s.kv_mount}/data/accounts/help-x/*"
    )
    assert r.complete


def test_fill_templates() -> None:
    ident = Identity(
        "e-1",
        "op-a",
        metadata={"team": "brand"},
        aliases=({"mount_accessor": "auth_oidc_1", "name": "a@example.com", "metadata": {"k": "v"}},),
    )
    assert fill_templates("x/{{identity.entity.name}}/{{ identity.entity.id }}", ident) == "x/op-a/e-1"
    assert fill_templates("x/{{identity.entity.aliases.auth_oidc_1.name}}/*", ident) == "x/a@example.com/*"
    assert fill_templates("x/{{identity.entity.aliases.auth_oidc_1.metadata.k}}", ident) == "x/v"
    assert fill_templates("x/{{identity.entity.metadata.none}}", ident) is None
    assert fill_templates("x/{{identity.groups.names.g.id}}", ident) is None
    with pytest.raises(UnknownTemplate, match=r"identity\.entity\.email"):
        fill_templates("x/{{identity.entity.email}}", ident)
    grouped = Identity("e-1", "op-a", groups=(Group("g-1", "brand", metadata={"region": "eu"}),))
    assert fill_templates("x/{{identity.groups.ids.g-1.name}}", grouped) == "x/brand"
    assert fill_templates("x/{{identity.groups.names.brand.metadata.region}}", grouped) == "x/eu"
    assert fill_templates("x/{{identity.entity.aliases.auth_other.name}}", ident) is None
    for unknown in (
        "identity.entity.aliases.auth_oidc_1.mount",
        "identity.groups.ids.g-1.policies",
        "identity.x",
    ):
        with pytest.raises(UnknownTemplate):
            fill_templates(f"x/{{{{{unknown}}}}}", grouped)


def test_what_cannot_be_understood_is_a_warning_not_a_silent_gap(
    deployment: Deployment, daemon: VaultClient, op: str
) -> None:
    s, inv = deployment.settings, inventory(op)
    good, odd = f"{s.policy_prefix}-good-{op}", f"{s.policy_prefix}-odd-{op}"
    deployment.admin.policy_write(
        good, f'path "{ACL_PREFIX}/accounts/help-x/moderate" {{ capabilities = ["update"] }}'
    )
    # Vault stores this policy; Sentinel cannot tell what the template would be for the entity.
    deployment.admin.policy_write(
        odd,
        f'path "{ACL_PREFIX}/accounts/{{{{identity.entity.email}}}}/publish" {{ capabilities = ["update"] }}',
    )
    entity(deployment, op, policies=[good, odd, f"{s.policy_prefix}-missing-{op}"])
    r = reach(daemon, inv, op, deployment)
    assert r.accounts == ("shop-x", "help-x")
    assert not r.complete and len(r.warnings) == 1
    assert f"policy '{odd}' line 1: template {{{{identity.entity.email}}}} is not understood" in r.warnings[0]
    assert "MAY BE LARGER" in r.summary()


def test_unparseable_policy_names_the_policy(deployment: Deployment, daemon: VaultClient, op: str) -> None:
    inv = inventory(op)

    class Odd:
        """Vault as seen through a proxy that hands back a policy in a shape nobody wrote."""

        def request(self, method: str, path: str, json: Any = None, headers: Any = None) -> Any:
            return daemon.request(method, path, json, headers)

        def policy_read(self, name: str) -> str | None:
            return (
                'path "sentinel/accounts/+/publish" { capabilities = update }' if name != "default" else None
            )

    entity(deployment, op, policies=["weird"])
    r = reach(Odd(), inv, op, deployment)  # type: ignore[arg-type]
    assert r.accounts == ("shop-x",)
    assert r.warnings == (
        "policy 'weird' line 1: path 'sentinel/accounts/+/publish': 'capabilities' must be a list of strings; "
        "its grants are not counted",
    )


def test_no_entity_or_no_vault_falls_back_to_the_owners(
    deployment: Deployment, daemon: VaultClient, op: str
) -> None:
    inv = inventory(op)
    r = reach(daemon, inv, op, deployment)
    assert r.accounts == ("shop-x",) and not r.vault
    assert r.warnings == (f"no Vault identity entity is named {op}: reach is the inventory owners only",)

    down = VaultClient("http://127.0.0.1:9", "tok", timeout=2)
    r = reach(down, inv, "op-ghost", deployment)
    down.close()
    assert r.accounts == ("brand-x", "brand-ig", "help-x", "old-x") and not r.vault
    assert r.warnings[0].startswith("Vault could not be asked (") and "inventory owners only" in r.warnings[0]
    assert reach(None, inv, "op-ghost", deployment).warnings == (
        "Vault is not available: reach is the inventory owners only",
    )


# -- the CLI and the daemon --------------------------------------------------------------------------


def deploy(deployment: Deployment, sandbox: SandboxServer, op: str, with_entity: bool = True) -> None:
    """The test inventory on the sandbox platform, credentials in Vault, the roles applied."""
    tag = secrets.token_hex(3)
    (deployment.dir / "inventory.toml").write_text(inventory_toml(op, tag))
    inv = inventory(op, tag)
    daemon = deployment.admin.with_token(deployment.token)
    seed_sandbox(sandbox.url, daemon, {a.id: a.handle for a in inv})
    daemon.close()
    if with_entity:
        entity(deployment, op)
    rendered = render(roles(f'"{op}"'), inv, ACL_PREFIX, deployment.settings.policy_prefix)
    apply(deployment.admin, plan(deployment.admin, rendered, deployment.settings.policy_prefix))


def test_lockdown_operator_locks_exactly_the_reach(
    deployment: Deployment,
    sandbox: SandboxServer,
    op: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    deploy(deployment, sandbox, op)
    p = deployment.settings.policy_prefix
    deployment.admin.policy_write(
        f"{p}-role-irt", f'path "{ACL_PREFIX}/global/lockdown" {{ capabilities = ["update"] }}'
    )
    tok, _ = person_token(deployment.admin, "op-ivy", [f"{p}-role-irt"], ttl="10m")
    monkeypatch.setenv("VAULT_TOKEN", tok)

    args = ["--json", *deployment.cli("lockdown", "--operator", op, "--reason", "phished", "--yes")]
    assert main(args) == 0
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert [r["account"] for r in report["accounts"]] == ["brand-x", "brand-ig", "shop-x"]
    assert report["reach"][0]["owned"] == ["shop-x"] and report["reach"][0]["complete"] is True
    assert f"{op} reaches 3 account(s) (1 owned in the inventory, 2 more through Vault policies)" in out.err
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        assert ResponseStore(store).frozen() == ["brand-ig", "brand-x", "shop-x"]
    ent = deployment.admin.request("GET", f"identity/entity/name/{op}")["data"]
    assert ent["disabled"] is True

    # An operator Vault does not know: the inventory owners, and the responder is told.
    assert main(deployment.cli("lockdown", "--operator", "op-ghost", "--reason", "x", "--yes")) == 0
    out = capsys.readouterr()
    assert (
        "warning: no Vault identity entity is named op-ghost: reach is the inventory owners only" in out.err
    )
    # Nobody reaches nothing silently.
    assert main(deployment.cli("lockdown", "--operator", "op-nobody", "--reason", "x", "--yes")) == 2
    assert "op-nobody reaches no active account" in capsys.readouterr().err


async def blast(
    deployment: Deployment, op: str, accounts: tuple[str, str]
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The daemon's guard and responder; ``op``'s scam posts on ``accounts`` freeze both.

    Returns every frozen account with the operator its freeze names, and the alerts raised.
    """
    config = load_config(deployment.config, env={})
    vault = VaultClient.from_settings(config.vault, env={})
    app = running_app(config, vault)
    alerts: list[dict[str, Any]] = []
    app.alert = lambda **kw: alerts.append(kw)
    guard, responder = Guard(), ResponseService()
    await guard.start(app)
    await responder.start(app)
    for i, account in enumerate(accounts):
        event = {"id": f"g{i}", "ts": f"2026-11-28T10:0{i}:00Z", "account": account, "via": "gate"}
        # caller: the Vault identity the API authenticated (never a body field)
        d = guard.check({**event, "text": SCAM, "client": "SocialSuite", "author": op, "caller": op})
        assert d.verdict == "block" and d.freeze is not None
    while guard._tasks:
        await asyncio.gather(*list(guard._tasks))
    await responder.stop()
    await guard.stop()
    vault.close()
    store = ResponseStore(app.store)
    frozen = {a: rec.operator for a in store.frozen() if (rec := store.get(a)) is not None}
    app.store.close()
    return frozen, alerts


async def test_daemon_blast_radius_freezes_what_vault_grants(
    deployment: Deployment, sandbox: SandboxServer, op: str
) -> None:
    deploy(deployment, sandbox, op)
    frozen, alerts = await blast(deployment, op, ("brand-x", "shop-x"))
    # brand-ig only through the role's Vault group; help-x and old-x are op-ghost's.
    assert sorted(frozen) == ["brand-ig", "brand-x", "shop-x"] and frozen["brand-ig"] == op
    assert not [a for a in alerts if a["kind"] == "blast_radius"]  # complete: no warning to raise
    ent = deployment.admin.request("GET", f"identity/entity/name/{op}")["data"]
    assert ent["disabled"] is True


async def test_daemon_blast_radius_says_when_it_only_knows_the_owners(
    deployment: Deployment, sandbox: SandboxServer, op: str
) -> None:
    deploy(deployment, sandbox, op, with_entity=False)
    frozen, alerts = await blast(deployment, op, ("brand-x", "help-x"))
    assert sorted(frozen) == ["brand-x", "help-x", "shop-x"]
    blast_alerts = [a for a in alerts if a["kind"] == "blast_radius"]
    assert len(blast_alerts) == 1 and "MAY BE LARGER" in blast_alerts[0]["summary"]
    warning = f"no Vault identity entity is named {op}: reach is the inventory owners only"
    assert blast_alerts[0]["details"]["warnings"] == warning
    assert blast_alerts[0]["details"]["owned in the inventory"] == "shop-x"
    assert blast_alerts[0]["todo"] == [f"reach may be larger, check by hand: {warning}"]
    alert, _ = alert_from_kwargs(**blast_alerts[0])  # what the alerts service makes of it
    assert f"# to do by hand: reach may be larger, check by hand: {warning}" in alert.next_steps
    assert "MAY BE LARGER" in alert.summary and alert.accounts == ("shop-x",)  # the reach itself
