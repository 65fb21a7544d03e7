"""Applying role policies to a real OpenBao: diff first, idempotent, prune, identity groups."""

from __future__ import annotations

import secrets

from sentinel.inventory import parse_inventory
from sentinel.policies import apply, parse_roles, plan, render
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import DevVault

INVENTORY = parse_inventory(
    {"accounts": [{"id": "a1", "platform": "x", "handle": "@a", "timezone": "UTC", "publishing": "gated"}]}
)


PREFIX = "p-" + secrets.token_hex(3)


def test_plan_apply_is_idempotent_and_shows_a_diff(bao: DevVault) -> None:
    admin = VaultClient(bao.addr, bao.root_token)
    entity = admin.request("POST", "identity/entity", json={"name": f"ann-{PREFIX}"})
    # the roles name the entity by its Vault name
    doc_roles = render(
        parse_roles(
            {
                "roles": {
                    "writers": {
                        "members": [f"ann-{PREFIX}", "ghost"],
                        "grants": [{"accounts": ["a1"], "capabilities": ["publish"]}],
                    }
                }
            }
        ),
        INVENTORY,
        "sentinel",
        PREFIX,
    )
    first = plan(admin, doc_roles, PREFIX)
    assert [(c.kind, c.action) for c in first] == [("policy", "create"), ("group", "create")]
    assert '+path "sentinel/accounts/a1/publish" {' in first[0].diff
    assert first[1].missing_members == ["ghost"] and first[1].member_ids == [entity["data"]["id"]]
    assert len(apply(admin, first)) == 2
    assert admin.policy_read(f"{PREFIX}-role-writers") == doc_roles[0].hcl
    group = admin.request("GET", f"identity/group/name/{PREFIX}-role-writers")["data"]
    # the group carries the freeze policy too: a freeze denies in Vault what the role grants
    assert group["policies"] == [f"{PREFIX}-account-freeze", f"{PREFIX}-role-writers"]
    assert group["member_entity_ids"] == [entity["data"]["id"]]
    again = plan(admin, doc_roles, PREFIX)
    assert {c.action for c in again} == {"unchanged"} and apply(admin, again) == []


def test_update_and_prune(bao: DevVault) -> None:
    admin = VaultClient(bao.addr, bao.root_token)
    prefix = "q-" + secrets.token_hex(3)
    doc = {
        "roles": {
            "w": {"grants": [{"accounts": ["a1"], "capabilities": ["publish"]}]},
            "old": {"global": ["approve"]},
        }
    }
    apply(admin, plan(admin, render(parse_roles(doc), INVENTORY, "sentinel", prefix), prefix))
    doc2 = {"roles": {"w": {"grants": [{"accounts": ["a1"], "capabilities": ["publish", "moderate"]}]}}}
    rendered = render(parse_roles(doc2), INVENTORY, "sentinel", prefix)
    changes = plan(admin, rendered, prefix, prune=True)
    assert [(c.name, c.action) for c in changes] == [
        (f"{prefix}-role-w", "update"),
        (f"{prefix}-role-old", "delete"),
    ]
    assert '+path "sentinel/accounts/a1/moderate" {' in changes[0].diff
    assert '-path "sentinel/global/approve" {' in changes[1].diff
    apply(admin, changes)
    assert admin.policy_read(f"{prefix}-role-old") is None
    assert "moderate" in (admin.policy_read(f"{prefix}-role-w") or "")
    # without --prune a stale role policy is left alone
    assert all(c.action == "unchanged" for c in plan(admin, rendered, prefix))
