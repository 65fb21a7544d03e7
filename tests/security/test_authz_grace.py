"""What the authorization grace never admits while Vault cannot answer."""

from __future__ import annotations

import pytest

from sentinel.api.caller_access import Need
from sentinel.api.errors import ApiError
from sentinel.api.grace import in_grace
from tests.api.grace_world import CACHE, GRACE, World, world

__all__ = ["world"]


async def refused(w: World, token: str, need: Need) -> str:
    with pytest.raises(ApiError) as e:
        await w.authz.require(token, need, "check")
    return e.value.code


async def test_a_token_vault_never_answered_for_is_not_admitted(world: World) -> None:
    world.proxy.down()
    assert await refused(world, world.tokens["op-new"], world.publish()) == "vault_unavailable"
    assert await refused(world, "s.forged-" + "x" * 20, world.publish()) == "vault_unavailable"


async def test_a_capability_vault_was_never_asked_about_is_not_admitted(world: World) -> None:
    await world.authz.require(world.tokens["op-pub"], world.publish(), "check")
    world.proxy.down()
    world.tick(CACHE + 1)
    assert await refused(world, world.tokens["op-pub"], Need("moderate", "acct-a")) == "vault_unavailable"


async def test_past_the_grace_it_fails_closed_with_a_stable_code(world: World) -> None:
    await world.authz.require(world.tokens["op-pub"], world.publish(), "check")
    world.proxy.down()
    world.tick(GRACE + 1)
    assert await refused(world, world.tokens["op-pub"], world.publish()) == "authz_grace_expired"


async def test_a_token_revoked_before_the_outage_is_not_admitted_in_it(world: World) -> None:
    token = world.tokens["op-pub"]
    await world.authz.require(token, world.publish(), "check")
    world.admin.revoke_accessor(world.accessors["op-pub"])
    world.tick(CACHE + 1)
    assert await refused(world, token, world.publish()) == "invalid_token"
    world.proxy.down()
    world.tick(1)  # Vault's refusal a moment ago is remembered ([api] invalid_token_cache)
    assert await refused(world, token, world.publish()) == "invalid_token"
    world.tick(world.authz.invalid_seconds)
    assert await refused(world, token, world.publish()) == "vault_unavailable"


@pytest.mark.parametrize(
    "need",
    [Need("unfreeze"), Need("approve"), Need("tune", "acct-a")],
    ids=["unfreeze", "approve", "tune"],
)
async def test_what_lowers_protection_is_never_granted_from_memory(world: World, need: Need) -> None:
    # an insider whose token is revoked while Vault cannot be asked (or made slow) must not
    # lift a freeze, release a held post or silence a rule on what Vault said before
    token = world.tokens["op-pub"]
    await world.authz.require(token, need, "route")  # Vault grants it
    world.proxy.down()
    world.admin.revoke_accessor(world.accessors["op-pub"])  # Vault knows; Sentinel cannot ask
    world.tick(CACHE + 1)
    assert await refused(world, token, need) == "vault_unavailable"


async def test_a_token_past_the_expiry_vault_gave_it_is_not_admitted_in_grace(world: World) -> None:
    # a stolen short-lived token (a CI job's, a login's) expiring during the outage: Vault said
    # when it ends, and no renewal can have happened since, so the grace must not outlive it
    token, _ = world.admin.create_token([f"{world.prefix}-pub"], ttl="60s")
    await world.authz.require(token, world.publish(), "check")
    world.proxy.down()
    world.tick(CACHE + 1)
    assert in_grace(await world.authz.require(token, world.publish(), "check")) is not None
    world.tick(60)  # past the token's own end, well within authz_grace
    assert await refused(world, token, world.publish()) == "invalid_token"
    with pytest.raises(ApiError) as e:
        await world.authz.authenticate(token)
    assert e.value.code == "invalid_token"


async def test_a_token_revoked_during_the_outage_is_named_with_what_it_did_once_vault_is_back(
    world: World,
) -> None:
    # grace cannot know of a revocation Vault could not tell; once Vault answers, Sentinel asks
    # about every token it admitted from memory, and names those Vault revoked meanwhile
    thief, honest = world.tokens["op-pub"], world.tokens["op-new"]
    for token in (thief, honest):
        await world.authz.require(token, world.publish(), "check")
    world.proxy.down()
    world.tick(CACHE + 1)
    caller = await world.authz.require(thief, world.publish(), "check")
    await world.authz.require(thief, world.publish(), "check")
    await world.authz.require(honest, world.publish(), "check")
    world.admin.revoke_accessor(world.accessors["op-pub"])  # Vault knows; Sentinel cannot ask
    world.proxy.up()
    [found] = await world.authz.review_grace()
    assert found["actor"] == caller.actor and found["accessor"] == world.accessors["op-pub"]
    assert (found["allowed"], found["denied"]) == (2, 0)
    assert await world.authz.review_grace() == []  # each said once; the honest token is fine
    assert await refused(world, thief, world.publish()) == "invalid_token"
