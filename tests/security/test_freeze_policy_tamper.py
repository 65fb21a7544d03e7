"""The freeze policy is carried by every role, so a grant written into it reaches every
role member. The daemon's token may write it (that is how a freeze works): these tests do
exactly that attack with the daemon's real token and watch the daemon restore the policy
and raise a critical ``freeze_policy_tampered`` alert."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from sentinel.config import load_config
from sentinel.daemon import App
from sentinel.errors import VaultPermissionDenied
from sentinel.inventory import load_inventory
from sentinel.policies import apply, parse_roles, plan, render
from sentinel.response.acl import parse_policy
from sentinel.response.containment import (
    FreezePolicyCheck,
    FreezePolicyWatch,
    VaultContainment,
    containment_for,
)
from sentinel.response.service import ResponseService
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from sentinel.vault.client import VaultClient
from sentinel.vault.policies import empty_freeze_policy, freeze_policy_name
from tests.conftest import Deployment, running_app
from tests.security.logins import login, userpass_mount
from tests.waiting import wait_for

FROZEN, OTHER = "example-brand-x", "example-brand-bluesky"


def _frozen(deployment: Deployment, tmp_path: Path) -> tuple[VaultContainment, ResponseStore, VaultClient]:
    """One account frozen the way the responder does it; returns the containment, store and
    the attacker's client (the daemon's own token)."""
    config = load_config(str(deployment.config), {})
    attacker = deployment.admin.with_token(deployment.token)
    rstore = ResponseStore(Store(tmp_path / "state.sqlite3"))
    containment = containment_for(attacker, config, load_inventory(config.sentinel.inventory), rstore)
    rstore.mark_frozen([FROZEN], ["vault"], "hijack", "op-resp", automatic=False)
    containment.write_freeze_policy()
    rstore.set_step(FROZEN, "vault", "done", "secrets denied")
    return containment, rstore, attacker


async def test_a_grant_written_into_the_freeze_policy_is_removed_and_alerted(
    deployment: Deployment, tmp_path: Path
) -> None:
    s, admin = deployment.settings, deployment.admin
    containment, _, attacker = _frozen(deployment, tmp_path)
    # A role member: the administrator's 'policies apply' gave their group the freeze policy.
    config = load_config(str(deployment.config), {})
    op = "op-" + secrets.token_hex(4)
    member = admin.with_token(login(admin, userpass_mount(admin), op))
    roles = parse_roles(
        {"roles": {"social": {"members": [op], "grants": [{"all": True, "capabilities": ["publish"]}]}}}
    )
    apply(
        admin,
        plan(
            admin,
            render(roles, load_inventory(config.sentinel.inventory), "sentinel", s.policy_prefix),
            s.policy_prefix,
        ),
    )
    other = "payroll-" + secrets.token_hex(4)
    admin.request("POST", f"sys/mounts/{other}", json={"type": "kv", "options": {"version": "2"}})
    admin.request("POST", f"{other}/data/salaries", json={"data": {"ceo": "1"}})
    name = freeze_policy_name(s)
    honest = admin.policy_read(name) or ""

    # The attack: with the daemon's token, a grant into the policy every role carries.
    attacker.policy_write(name, honest + f'path "{other}/*" {{ capabilities = ["read"] }}\n')
    assert member.request("GET", f"{other}/data/salaries")["data"]["data"] == {"ceo": "1"}

    alerts: list[FreezePolicyCheck] = []
    watch = FreezePolicyWatch(containment, 0.05, alerts.append)
    task = asyncio.create_task(watch.run())
    try:
        await wait_for(lambda: bool(alerts))
    finally:
        task.cancel()
    assert alerts[0].tampered and alerts[0].rewritten
    assert any(f"{other}/*" in f and "grants read" in f for f in alerts[0].findings), alerts[0].findings
    assert admin.policy_read(name) == honest
    with pytest.raises(VaultPermissionDenied):
        member.request("GET", f"{other}/data/salaries")


@pytest.mark.parametrize(
    "attack, finding",
    [
        ("lift", f"the freeze of {FROZEN} was lifted"),
        ("deny-elsewhere", "which Sentinel never denies"),
        ("json", "'secret/*' grants list, read"),
        ("json-path-twice", "appears twice"),
        ("capabilities-twice", "not in the form Sentinel writes"),
        ("one-line", "not in the form Sentinel writes"),
    ],
)
def test_lifting_a_freeze_or_adding_foreign_rules_is_tampering(
    deployment: Deployment, tmp_path: Path, attack: str, finding: str
) -> None:
    containment, _, attacker = _frozen(deployment, tmp_path)
    name = freeze_policy_name(deployment.settings)
    honest = attacker.policy_read(name) or ""
    text = {
        "lift": empty_freeze_policy(deployment.settings),
        "deny-elsewhere": honest + 'path "auth/token/renew-self" { capabilities = ["deny"] }\n',
        "json": json.dumps({"path": {"secret/*": {"capabilities": ["read", "list"]}}}),
        "json-path-twice": _json_twice(honest, "secret/*"),
        "capabilities-twice": honest.replace(
            '{ capabilities = ["deny"] }', '{ capabilities = ["deny"] capabilities = ["read"] }', 1
        ),
        "one-line": honest.replace("\n", " ", 4),
    }[attack]
    attacker.policy_write(name, text)
    check = containment.verify_freeze_policy()
    assert check.tampered and any(finding in f for f in check.findings), check.findings
    assert attacker.policy_read(name) == honest


def _json_twice(honest: str, granted: str) -> str:
    """The freeze policy as JSON with two ``path`` objects: the first grants ``granted``,
    the second holds Sentinel's own denies. Vault reads both; ``json.loads`` keeps the last."""
    own = {r.path: {"capabilities": ["deny"]} for r in parse_policy("freeze", honest)}
    grant = json.dumps({granted: {"capabilities": ["read", "list"]}})
    return '{"path": ' + grant + ', "path": ' + json.dumps(own) + "}"


def test_a_grant_hidden_in_a_repeated_json_key_is_found_and_removed(
    deployment: Deployment, tmp_path: Path
) -> None:
    """Vault honours a grant in the first of two ``path`` objects; the check must not read
    only the second (Sentinel's own denies) and leave the grant in force."""
    containment, _, attacker = _frozen(deployment, tmp_path)
    admin, name = deployment.admin, freeze_policy_name(deployment.settings)
    honest = attacker.policy_read(name) or ""
    other = "payroll-" + secrets.token_hex(4)
    admin.request("POST", f"sys/mounts/{other}", json={"type": "kv", "options": {"version": "2"}})
    admin.request("POST", f"{other}/data/salaries", json={"data": {"ceo": "1"}})
    member = admin.with_token(admin.create_token(policies=[name], ttl="10m")[0])
    attacker.policy_write(name, _json_twice(honest, f"{other}/*"))
    assert member.request("GET", f"{other}/data/salaries")["data"]["data"] == {"ceo": "1"}
    check = containment.verify_freeze_policy()
    assert check.tampered and check.rewritten, check
    assert attacker.policy_read(name) == honest
    with pytest.raises(VaultPermissionDenied):
        member.request("GET", f"{other}/data/salaries")


def test_a_freeze_being_written_is_not_tampering(deployment: Deployment, tmp_path: Path) -> None:
    containment, rstore, attacker = _frozen(deployment, tmp_path)
    name = freeze_policy_name(deployment.settings)
    before = attacker.policy_read(name)
    rstore.mark_frozen([OTHER], ["vault"], "second hijack", "op-resp", automatic=False)  # not yet written
    check = containment.verify_freeze_policy()
    assert (check.tampered, check.rewritten) == (False, False)
    assert attacker.policy_read(name) == before
    assert containment.verify_freeze_policy(resync=True).rewritten  # at start: brought in line
    assert f"/accounts/{OTHER}/" in (attacker.policy_read(name) or "")


class _Gate:
    def block(self, account: str, reason: str) -> None:
        return None

    def unblock(self, account: str) -> None:
        return None


@asynccontextmanager
async def _responder(
    deployment: Deployment,
) -> AsyncIterator[tuple[ResponseService, App, VaultClient, list[dict[str, Any]]]]:
    """The daemon's responder checking the freeze policy every 50 ms (after its first check);
    yields it, its app, its Vault client and the alerts it raises."""
    deployment.write_config('[response]\nfreeze_policy_check = "0.05s"\n')
    config = load_config(str(deployment.config), {})
    daemon = deployment.admin.with_token(deployment.token)
    app = running_app(config, daemon)
    raised: list[dict[str, Any]] = []
    app.alert = lambda **kw: raised.append(kw)
    app.extras["guard"] = _Gate()
    service = ResponseService()
    await service.start(app)
    try:
        await wait_for(lambda: service.watch is not None and service.watch.checks > 0)
        yield service, app, daemon, raised
    finally:
        await service.stop()


async def test_the_daemon_raises_a_critical_alert(deployment: Deployment) -> None:
    async with _responder(deployment) as (_, app, daemon, raised):
        name = freeze_policy_name(deployment.settings)
        daemon.policy_write(
            name, (daemon.policy_read(name) or "") + 'path "sys/*" { capabilities = ["sudo"] }\n'
        )
        await wait_for(lambda: bool(raised))
    assert raised[0]["kind"] == "freeze_policy_tampered" and raised[0]["severity"] == "critical"
    assert any("sys/*" in f for f in raised[0]["findings"])
    assert "sudo" not in (daemon.policy_read(freeze_policy_name(deployment.settings)) or "")
    entries = app.store.query("SELECT action FROM audit WHERE action = 'freeze.policy_restored'")
    assert len(entries) == 1


def _owner(deployment: Deployment, containment: VaultContainment, account: str) -> tuple[VaultClient, str]:
    """A person allowed to publish on ``account``, carrying the freeze policy as every role does;
    returns their client and the capability path."""
    admin = deployment.admin
    path = f"{containment.prefixes[0]}/accounts/{account}/publish"
    grant = "grant-" + secrets.token_hex(4)
    admin.policy_write(grant, f'path "{path}" {{ capabilities = ["update"] }}\n')
    token = admin.create_token(policies=[grant, freeze_policy_name(deployment.settings)], ttl="10m")[0]
    return admin.with_token(token), path


def test_a_deny_for_an_account_that_is_not_frozen_is_removed_past_the_grace(
    deployment: Deployment, tmp_path: Path
) -> None:
    """A stolen daemon token writes Sentinel's own denies for an account nobody froze: its
    owners lose access with nobody told. Within the grace (an unfreeze being written looks
    the same for a moment) the deny stays, even through a rewrite for tampering; past it the
    check removes it and names the account."""
    containment, _, attacker = _frozen(deployment, tmp_path)
    now = [0.0]
    containment.clock = lambda: now[0]
    name = freeze_policy_name(deployment.settings)
    honest = attacker.policy_read(name) or ""
    owner, path = _owner(deployment, containment, OTHER)
    assert owner.capabilities_self([path])[path] == ["update"]

    attacker.policy_write(name, containment.render([FROZEN, OTHER]))  # the attack
    assert owner.capabilities_self([path])[path] == ["deny"]
    first = containment.verify_freeze_policy()
    assert (first.tampered, first.rewritten, first.unrecorded, first.removed) == (False, False, (OTHER,), ())
    attacker.policy_write(
        name, (attacker.policy_read(name) or "") + 'path "sys/*" { capabilities = ["read"] }\n'
    )
    tamper = containment.verify_freeze_policy()
    assert tamper.tampered and tamper.removed == ()
    assert owner.capabilities_self([path])[path] == ["deny"]  # kept while within the grace

    now[0] += containment.grace
    late = containment.verify_freeze_policy()
    assert late.rewritten and not late.tampered and late.removed == (OTHER,)
    assert attacker.policy_read(name) == honest
    assert owner.capabilities_self([path])[path] == ["update"]
    assert containment.verify_freeze_policy().unrecorded == ()


async def test_the_daemon_alerts_on_a_deny_without_a_freeze_and_resolves_it(deployment: Deployment) -> None:
    async with _responder(deployment) as (service, app, daemon, raised):
        assert service.watch is not None
        containment = service.watch.containment
        containment.grace = 0.0
        raised.clear()
        name = freeze_policy_name(deployment.settings)
        owner, path = _owner(deployment, containment, OTHER)
        daemon.policy_write(name, containment.render([*ResponseStore(app.store).frozen(), OTHER]))
        await wait_for(lambda: [a for a in raised if a.get("resolved")], what="the alert resolved")
    mine = [a for a in raised if a["kind"] == "freeze_unrecorded"]
    assert [(a["severity"], a["accounts"], bool(a.get("resolved"))) for a in mine] == [
        ("critical", [OTHER], False),
        ("info", [OTHER], True),
    ]
    assert OTHER in mine[0]["summary"] and mine[0]["dedup_key"] == mine[1]["dedup_key"]
    assert owner.capabilities_self([path])[path] == ["update"]
    entries = app.store.query("SELECT target FROM audit WHERE action = 'freeze.unrecorded_deny_removed'")
    assert [e["target"] for e in entries] == [OTHER]
