"""An operator named in a lockdown (``--operator``, ``operator`` in ``POST /v1/lockdown``) is
one Vault entity name, whatever characters it holds: a name that only begins like a
colleague's, or walks out of ``identity/entity/name/``, never disables the colleague."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentinel.errors import SentinelError, VaultNotFound
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.response.containment import VaultContainment
from sentinel.vault.devserver import DevVault
from sentinel.vault.policies import daemon_policy_name
from tests.response.test_responder import World
from tests.security.logins import login, userpass_mount


@pytest.fixture
def world(bao: DevVault, sandbox: SandboxServer, tmp_path: Path) -> Iterator[World]:
    w = World(bao, sandbox, tmp_path)
    yield w
    w.store.close()


@pytest.mark.parametrize("shape", ["{v}#laptop", "{v}?x=1", "nobody/../{v}", "./{v}", "{v}/", "{v}%00"])
def test_a_name_shaped_around_a_colleagues_never_disables_them(world: World, shape: str) -> None:
    victim = f"op-victim-{secrets.token_hex(3)}"
    entity = world.admin.request("POST", "identity/entity", json={"name": victim})["data"]["id"]
    containment = VaultContainment(world.daemon, world.settings, world.rstore)
    with pytest.raises(VaultNotFound):
        containment.set_operator_disabled(shape.format(v=victim), True)
    assert world.admin.entity_read(entity)["disabled"] is False


def test_a_lockdown_naming_sentinels_own_identity_does_not_disable_it(world: World) -> None:
    """Sentinel logged in with an entity (AppRole does that): a lockdown of 'every account
    that identity reaches' would otherwise end Sentinel's own token in the middle of it."""
    name = f"sentinel-{secrets.token_hex(3)}"
    token = login(world.admin, userpass_mount(world.admin), name, [daemon_policy_name(world.settings)])
    daemon = world.admin.with_token(token)
    containment = VaultContainment(daemon, world.settings, world.rstore)
    with pytest.raises(SentinelError, match="Sentinel's own Vault identity"):
        containment.set_operator_disabled(name, True)
    assert daemon.lookup_self().entity_id  # still working
    other = f"op-{secrets.token_hex(3)}"
    entity = world.admin.request("POST", "identity/entity", json={"name": other})["data"]["id"]
    assert containment.set_operator_disabled(other, True) == entity  # anyone else still can be
