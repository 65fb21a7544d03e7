"""A freeze denies in Vault itself: a role member's own token loses every capability and
credential read on the frozen account, even where a role grants the exact path (which, in
Vault, beats a deny on a glob), and keeps them on the accounts that are not frozen."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from sentinel.capabilities import granted
from sentinel.config import load_config
from sentinel.errors import VaultPermissionDenied
from sentinel.inventory import load_inventory
from sentinel.policies import apply, parse_roles, plan, render
from sentinel.response.containment import VaultContainment, containment_for
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.conftest import Deployment
from tests.security.logins import login, userpass_mount

FROZEN, FREE = "example-brand-x", "example-brand-bluesky"


def _world(deployment: Deployment, tmp_path: Path) -> tuple[VaultContainment, ResponseStore, str, str]:
    """Roles applied by the administrator, a member's login token, credentials in Vault."""
    s, admin = deployment.settings, deployment.admin
    config = load_config(str(deployment.config), {})
    inventory = load_inventory(config.sentinel.inventory)
    op = "op-" + secrets.token_hex(4)
    roles = {
        "roles": {
            "social": {
                "members": [op],
                "grants": [
                    {"accounts": [FROZEN, FREE], "capabilities": ["publish", "moderate", "respond", "tune"]}
                ],
            },
            "moderators": {"members": [op], "grants": [{"all": True, "capabilities": ["moderate", "admin"]}]},
        }
    }
    # An organisation's own policy granting the exact credential paths, carried by the entity.
    own = f"{s.policy_prefix}-own-{op}"
    m = s.kv_mount
    admin.policy_write(
        own,
        "\n".join(
            f'path "{m}/data/accounts/{a}/password" {{ capabilities = ["read"] }}' for a in (FROZEN, FREE)
        ),
    )
    token = login(admin, userpass_mount(admin), op, policies=[own])
    rendered = render(parse_roles(roles), inventory, config.api.acl_prefix, s.policy_prefix)
    apply(admin, plan(admin, rendered, s.policy_prefix))
    daemon = admin.with_token(deployment.token)
    for a in (FROZEN, FREE):
        daemon.kv_write(f"accounts/{a}/password", {"value": "pw-" + secrets.token_hex(8)}, cas=0)
    rstore = ResponseStore(Store(tmp_path / "state.sqlite3"))
    return containment_for(daemon, config, inventory, rstore), rstore, token, config.api.acl_prefix


def _paths(prefix: str, kv_mount: str, account: str) -> list[str]:
    return [
        f"{prefix}/accounts/{account}/moderate",
        f"{prefix}/accounts/{account}/publish",
        f"{prefix}/accounts/{account}/admin",
        f"{prefix}/accounts/{account}/tune",  # silencing detection on it, too
        f"{kv_mount}/data/accounts/{account}/password",
    ]


def test_a_frozen_accounts_role_member_is_denied_by_vault(deployment: Deployment, tmp_path: Path) -> None:
    containment, rstore, token, prefix = _world(deployment, tmp_path)
    m = deployment.settings.kv_mount
    member = deployment.admin.with_token(token)
    frozen, free = _paths(prefix, m, FROZEN), _paths(prefix, m, FREE)
    before = member.capabilities_self(frozen + free)
    assert all(granted(c) or c == ["read"] for c in before.values()), before
    member.kv_read(f"accounts/{FROZEN}/password")

    rstore.mark_frozen([FROZEN], ["vault"], "hijack", "op-resp", automatic=False)
    containment.write_freeze_policy()

    after = member.capabilities_self(frozen + free)
    for path in frozen:
        assert after[path] == ["deny"], path  # the same open token, denied by Vault itself
    for path in free:
        assert after[path] == before[path], path
    with pytest.raises(VaultPermissionDenied):
        member.kv_read(f"accounts/{FROZEN}/password")
    assert member.kv_read(f"accounts/{FREE}/password").data["value"]


def test_an_unfreeze_gives_the_grants_back(deployment: Deployment, tmp_path: Path) -> None:
    containment, rstore, token, prefix = _world(deployment, tmp_path)
    member = deployment.admin.with_token(token)
    path = f"{prefix}/accounts/{FROZEN}/moderate"
    rstore.mark_frozen([FROZEN], ["vault"], "hijack", "op-resp", automatic=False)
    containment.write_freeze_policy()
    assert member.capabilities_self([path])[path] == ["deny"]
    rstore.mark_unfrozen(FROZEN)
    containment.write_freeze_policy()
    assert granted(member.capabilities_self([path])[path])
