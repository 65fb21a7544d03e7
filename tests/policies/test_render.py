"""Rendering roles into HCL policies over the API's ACL paths."""

from __future__ import annotations

import pytest

from sentinel.errors import ConfigError
from sentinel.inventory import parse_inventory
from sentinel.policies.render import render, role_policy_name
from sentinel.policies.roles import parse_roles

INVENTORY = parse_inventory(
    {
        "accounts": [
            {
                "id": "brand-x",
                "platform": "x",
                "handle": "@b",
                "timezone": "UTC",
                "publishing": "gated",
                "tags": ["brand"],
            },
            {
                "id": "brand-fb",
                "platform": "facebook",
                "handle": "B",
                "timezone": "UTC",
                "publishing": "gated",
                "tags": ["brand"],
            },
            {
                "id": "old",
                "platform": "x",
                "handle": "@o",
                "timezone": "UTC",
                "publishing": "open",
                "tags": ["brand"],
                "retired": True,
            },
            {
                "id": "support-x",
                "platform": "x",
                "handle": "@s",
                "timezone": "UTC",
                "publishing": "open",
                "tags": ["support"],
            },
        ]
    }
)


def test_render_expands_tags_and_sorts_paths() -> None:
    roles = parse_roles(
        {
            "roles": {
                "writers": {
                    "members": ["op-ann"],
                    "global": ["approve"],
                    "grants": [
                        {"tags": ["brand"], "capabilities": ["publish", "analytics"]},
                        {"accounts": ["support-x"], "capabilities": ["respond"]},
                    ],
                }
            }
        },
        "/etc/sentinel/roles.toml",
    )
    [policy] = render(roles, INVENTORY, "sentinel", "sentinel")
    assert policy.name == "sentinel-role-writers" == role_policy_name("sentinel", "writers")
    assert policy.filename == "sentinel-role-writers.hcl"
    assert policy.paths == (
        "sentinel/accounts/brand-fb/analytics",
        "sentinel/accounts/brand-fb/publish",
        "sentinel/accounts/brand-x/analytics",
        "sentinel/accounts/brand-x/publish",
        "sentinel/accounts/support-x/respond",
        "sentinel/global/approve",
    )  # the retired account is left out
    assert policy.hcl.count('capabilities = ["update"]') == 6
    assert 'path "sentinel/global/approve" {\n  capabilities = ["update"]\n}\n' in policy.hcl
    assert "# members: op-ann" in policy.hcl and "from roles.toml" in policy.hcl
    assert render(roles, INVENTORY, "sentinel", "sentinel")[0].hcl == policy.hcl  # deterministic


def test_all_accounts_uses_the_vault_glob() -> None:
    roles = parse_roles({"roles": {"analysts": {"grants": [{"all": True, "capabilities": ["analytics"]}]}}})
    [policy] = render(roles, INVENTORY, "acl", "corp")
    assert policy.name == "corp-role-analysts" and policy.paths == ("acl/accounts/+/analytics",)


def test_unknown_accounts_and_tags_are_errors() -> None:
    unknown = parse_roles({"roles": {"r": {"grants": [{"accounts": ["nope"], "capabilities": ["publish"]}]}}})
    with pytest.raises(ConfigError, match="role 'r': account 'nope' is not in the inventory"):
        render(unknown, INVENTORY, "sentinel", "sentinel")
    no_tag = parse_roles({"roles": {"r": {"grants": [{"tags": ["ghost"], "capabilities": ["publish"]}]}}})
    with pytest.raises(ConfigError, match="tag 'ghost'"):
        render(no_tag, INVENTORY, "sentinel", "sentinel")
