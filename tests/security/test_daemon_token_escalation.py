"""The daemon's own Vault token cannot take over Vault.

Every attack here uses the token Sentinel's bootstrap issues for the daemon
(``issue_daemon_token``), against a real OpenBao, and must be refused by Vault: writing any
policy but the freeze policy, changing an entity beyond its ``disabled`` flag, writing a
group, reading or listing outside Sentinel's KV mount, revoking or creating tokens,
enabling or disabling auth methods, mounts or audit devices, reading or exporting the
audit signing key, and applying role policies (which is the administrator's job). The legitimate uses still work beside each refusal.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from sentinel.config import VaultSettings
from sentinel.errors import VaultPermissionDenied
from sentinel.inventory import parse_inventory
from sentinel.policies import apply, parse_roles, plan, render
from sentinel.vault.client import MERGE_PATCH, VaultClient
from sentinel.vault.devserver import DevVault
from sentinel.vault.policies import daemon_policy_name, freeze_policy_name, transit_key_name
from tests.conftest import new_mount
from tests.security.logins import login, userpass_mount

ESCALATE = 'path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }'


@dataclass
class Target:
    settings: VaultSettings
    admin: VaultClient
    daemon: VaultClient
    entity: str  # a person's entity, with policies, metadata and an alias
    group: str  # a role group (administrator-written)
    other_mount: str  # another team's KV mount, with a secret in it
    responder_accessor: str  # a token the daemon did not issue


@pytest.fixture(scope="module")
def target(bao: DevVault) -> Iterator[Target]:
    s, admin, daemon, _ = new_mount(bao, "e")
    tag = s.kv_mount
    admin.policy_write(
        f"{s.policy_prefix}-role-social", 'path "sentinel/accounts/a/publish" { capabilities = ["update"] }'
    )
    entity = admin.request(
        "POST",
        "identity/entity",
        json={"name": f"op-{tag}", "policies": ["default"], "metadata": {"team": "social"}},
    )["data"]["id"]
    group = admin.request(
        "POST",
        "identity/group",
        json={"name": f"{s.policy_prefix}-role-social", "policies": [f"{s.policy_prefix}-role-social"]},
    )["data"]["id"]
    other = f"other-{tag}"
    admin.request("POST", f"sys/mounts/{other}", json={"type": "kv", "options": {"version": "2"}})
    admin.request("POST", f"{other}/data/payroll", json={"data": {"value": "secret"}})
    _, accessor = admin.create_token(policies=["default"], ttl="1h", display_name="responder")
    yield Target(s, admin, daemon, entity, group, other, accessor)
    daemon.close()
    admin.close()


def _refused(client: VaultClient, method: str, path: str, body: Any = None) -> None:
    with pytest.raises(VaultPermissionDenied):
        client.request(
            method, path, json=body, headers={"Content-Type": MERGE_PATCH} if method == "PATCH" else None
        )


# (method, path template, body): {p} policy prefix, {m} Sentinel's mount, {o} another mount,
# {e} the entity id, {g} the group id, {a} an accessor the daemon did not issue, {t} the
# Transit mount and {k} the audit signing key in it.
REFUSED = {
    "write a role policy": ("PUT", "sys/policies/acl/{p}-role-social", {"policy": ESCALATE}),
    "create a new role policy": ("PUT", "sys/policies/acl/{p}-role-new", {"policy": ESCALATE}),
    'write a policy with path "*"': ("PUT", "sys/policies/acl/escalate", {"policy": ESCALATE}),
    "rewrite its own policy": ("PUT", "sys/policies/acl/{p}-daemon", {"policy": ESCALATE}),
    "write a per-account policy": ("PUT", "sys/policies/acl/{p}-account-x", {"policy": ESCALATE}),
    "delete the freeze policy": ("DELETE", "sys/policies/acl/{p}-account-freeze", None),
    "delete a role policy": ("DELETE", "sys/policies/acl/{p}-role-social", None),
    "write the password policy": (
        "PUT",
        "sys/policies/password/{p}",
        {"policy": 'length = 8\nrule "charset" { charset = "a" }'},
    ),
    "set an entity's policies": ("POST", "identity/entity/id/{e}", {"policies": ["escalate"]}),
    "set policies while disabling": (
        "POST",
        "identity/entity/id/{e}",
        {"disabled": True, "policies": ["escalate"]},
    ),
    "re-enable an entity": ("POST", "identity/entity/id/{e}", {"disabled": False}),
    "re-enable an entity with a string": ("POST", "identity/entity/id/{e}", {"disabled": "false"}),
    "set an entity's metadata": ("POST", "identity/entity/id/{e}", {"metadata": {"team": "attacker"}}),
    "rename an entity": ("POST", "identity/entity/id/{e}", {"name": "root-ish"}),
    "create an entity": ("POST", "identity/entity", {"name": "attacker", "policies": ["escalate"]}),
    "add an alias to an entity": (
        "POST",
        "identity/entity-alias",
        {"name": "x", "canonical_id": "{e}", "mount_accessor": "x"},
    ),
    "merge entities": ("POST", "identity/entity/merge", {"from_entity_ids": ["{e}"], "to_entity_id": "{e}"}),
    "delete an entity": ("DELETE", "identity/entity/id/{e}", None),
    "set a group's policies": ("POST", "identity/group/id/{g}", {"policies": ["escalate"]}),
    "write a group by name": ("POST", "identity/group/name/{p}-role-social", {"policies": ["escalate"]}),
    "join a group": ("POST", "identity/group/id/{g}", {"member_entity_ids": ["{e}"]}),
    "read another mount": ("GET", "{o}/data/payroll", None),
    "list another mount": ("LIST", "{o}/metadata/", None),
    "read the dev secret mount": ("GET", "secret/data/anything", None),
    "list mounts": ("GET", "sys/mounts", None),
    "list auth methods": ("GET", "sys/auth", None),
    "list audit devices": ("GET", "sys/audit", None),
    "list policies": ("LIST", "sys/policies/acl", None),
    "read outside accounts in its mount": ("GET", "{m}/data/elsewhere", None),
    "delete a credential's history": ("DELETE", "{m}/metadata/accounts/a/password", None),
    "make credentials expire": ("PATCH", "{m}/metadata/accounts/a/password", {"delete_version_after": "1s"}),
    "revoke a token it did not issue": ("POST", "auth/token/revoke-accessor", {"accessor": "{a}"}),
    "create a token": ("POST", "auth/token/create", {"policies": ["default"]}),
    "create an orphan token": ("POST", "auth/token/create-orphan", {"policies": ["default"]}),
    "enable an auth method": ("POST", "sys/auth/attacker", {"type": "userpass"}),
    "disable the token auth method": ("DELETE", "sys/auth/token", None),
    "enable a mount": ("POST", "sys/mounts/attacker", {"type": "kv"}),
    "disable Sentinel's mount": ("DELETE", "sys/mounts/{m}", None),
    "disable another mount": ("DELETE", "sys/mounts/{o}", None),
    "disable the audit log": ("DELETE", "sys/audit/file", None),
    "seal Vault": ("PUT", "sys/seal", None),
    "export the audit signing key": ("GET", "{t}/export/signing-key/{k}", None),
    "back up the audit signing key": ("GET", "{t}/backup/{k}", None),
    "make the audit signing key exportable": ("POST", "{t}/keys/{k}/config", {"exportable": True}),
}


def _fill(value: Any, t: Target) -> Any:
    if isinstance(value, str):
        s = t.settings
        names = {"p": s.policy_prefix, "m": s.kv_mount, "o": t.other_mount, "e": t.entity, "g": t.group}
        names |= {"t": s.transit_mount, "k": transit_key_name(s)}
        for key, real in {**names, "a": t.responder_accessor}.items():
            value = value.replace("{" + key + "}", real)
        return value
    if isinstance(value, list):
        return [_fill(v, t) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, t) for k, v in value.items()}
    return value


@pytest.mark.parametrize("attack", sorted(REFUSED))
def test_the_daemon_token_is_refused(target: Target, attack: str) -> None:
    method, path, body = REFUSED[attack]
    _refused(target.daemon, method, _fill(path, target), _fill(body, target))


def test_nothing_the_refused_attacks_aimed_at_changed(target: Target) -> None:
    s, admin = target.settings, target.admin
    entity = admin.request("GET", f"identity/entity/id/{target.entity}")["data"]
    assert entity["policies"] == ["default"] and entity["metadata"] == {"team": "social"}
    assert entity["name"].startswith("op-")
    assert admin.request("GET", f"identity/group/id/{target.group}")["data"]["policies"] == [
        f"{s.policy_prefix}-role-social"
    ]
    assert "escalate" not in admin.policy_list()
    assert "sudo" not in (admin.policy_read(daemon_policy_name(s)) or "")
    assert admin.lookup_accessor(target.responder_accessor).accessor == target.responder_accessor


def test_disabling_an_entity_sets_disabled_and_nothing_else(target: Target) -> None:
    daemon, admin = target.daemon, target.admin
    daemon.entity_set_disabled(target.entity, True)
    try:
        entity = admin.request("GET", f"identity/entity/id/{target.entity}")["data"]
        assert entity["disabled"] is True
        assert entity["policies"] == ["default"] and entity["metadata"] == {"team": "social"}
    finally:
        admin.entity_set_disabled(target.entity, False)
    assert admin.request("GET", f"identity/entity/id/{target.entity}")["data"]["disabled"] is False


def test_an_entity_an_administrator_disabled_stays_disabled(target: Target) -> None:
    """A person who left (or an insider Sentinel contained) holds their old password and the
    stolen daemon token: the token cannot give their login back."""
    admin, daemon = target.admin, target.daemon
    mount = userpass_mount(admin)
    token = login(admin, mount, f"op-left-{secrets.token_hex(3)}", ["default"])
    person = admin.with_token(token)
    entity = person.lookup_self().entity_id
    admin.entity_set_disabled(entity, True)
    with pytest.raises(VaultPermissionDenied):
        daemon.entity_set_disabled(entity, False)
    assert admin.entity_read(entity)["disabled"] is True
    with pytest.raises(VaultPermissionDenied):  # the disabled entity's token stays refused
        person.request("GET", "auth/token/lookup-self")


def test_the_legitimate_daemon_work_still_works(target: Target) -> None:
    daemon, s = target.daemon, target.settings
    version = daemon.kv_write("accounts/a/password", {"value": "pw-" + secrets.token_hex(6)}, cas=0)
    daemon.kv_patch_metadata("accounts/a/password", {"state": "current"}, max_versions=5)
    assert daemon.kv_read("accounts/a/password").version == version
    assert daemon.generate_password(s.password_policy)
    daemon.policy_write(freeze_policy_name(s), 'path "x/accounts/a/*" { capabilities = ["deny"] }')
    assert daemon.policy_read(f"{s.policy_prefix}-role-social")  # reads policies (blast radius)
    assert daemon.request("LIST", "identity/entity/id")["data"]["keys"]  # posture: who holds what


def test_policies_apply_needs_the_administrators_token(target: Target) -> None:
    s = target.settings
    inventory = parse_inventory(
        {"accounts": [{"id": "a", "platform": "x", "handle": "@a", "timezone": "UTC", "publishing": "gated"}]}
    )
    roles = parse_roles(
        {
            "roles": {
                "takeover": {
                    "global": ["approve", "unfreeze"],
                    "grants": [{"all": True, "capabilities": ["admin"]}],
                }
            }
        }
    )
    rendered = render(roles, inventory, "sentinel", s.policy_prefix)
    changes = plan(target.admin, rendered, s.policy_prefix)
    with pytest.raises(VaultPermissionDenied):
        apply(target.daemon, changes)
    assert target.admin.policy_read(f"{s.policy_prefix}-role-takeover") is None
    assert [c.action for c in apply(target.admin, changes)] == ["create"]
