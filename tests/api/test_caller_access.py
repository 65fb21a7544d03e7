"""Authorization decided by a real OpenBao: ACL paths, caching bounded by TTL, revocation."""

from __future__ import annotations

import asyncio

import pytest
import structlog

from sentinel.api.caller_access import Authorizer, Need
from sentinel.api.errors import ApiError
from sentinel.capabilities import capability_path
from tests.api.conftest import Harness, World
from tests.conftest import person_entity
from tests.waiting import wait_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_capability_paths() -> None:
    assert capability_path("sentinel", "publish", "acme-x") == "sentinel/accounts/acme-x/publish"
    assert capability_path("sentinel", "approve") == "sentinel/global/approve"
    with pytest.raises(ValueError, match="per account"):
        capability_path("sentinel", "moderate")
    with pytest.raises(ValueError, match="unknown capability"):
        capability_path("sentinel", "post", "acme-x")


async def test_grants_come_from_vault_policies(world: World) -> None:
    authz = Authorizer(lambda: world.daemon, world.acl_prefix)
    caller, got = await authz.grants(
        world.tokens["op-editor"],
        [Need("publish", "acct-a"), Need("publish", "acct-c"), Need("approve"), Need("lockdown")],
    )
    assert caller.actor == "op-editor" and caller.accessor == world.accessors["op-editor"]
    assert got == {
        Need("publish", "acct-a"): True,
        Need("publish", "acct-c"): False,
        Need("approve"): True,
        Need("lockdown"): False,
    }
    # one lookup and one capabilities call for all four
    assert authz.vault_calls == 2
    await authz.grants(world.tokens["op-editor"], [Need("publish", "acct-a")])
    assert authz.vault_calls == 2


async def test_root_token_holds_everything(world: World) -> None:
    authz = Authorizer(lambda: world.daemon, world.acl_prefix)
    _, got = await authz.grants(world.bao.root_token, [Need("unfreeze"), Need("admin", "acct-c")])
    assert all(got.values())


async def test_revoked_token_is_refused_within_the_cache_window(world: World) -> None:
    token = world.person("op-revoked", [world.policy("publisher-a")])
    clock = Clock()
    authz = Authorizer(lambda: world.daemon, world.acl_prefix, cache_seconds=0.5, clock=clock)
    await authz.require(token, Need("publish", "acct-a"))
    world.admin.revoke_accessor(world.accessors["op-revoked"])
    clock.now += 0.6
    with pytest.raises(ApiError) as e:
        await authz.require(token, Need("publish", "acct-a"))
    assert e.value.code == "invalid_token" and e.value.status == 401


async def test_cache_never_outlives_the_token_ttl(world: World) -> None:
    token = world.person("op-short", [world.policy("publisher-a")], ttl="30s")
    clock = Clock()
    authz = Authorizer(lambda: world.daemon, world.acl_prefix, cache_seconds=600, clock=clock)
    await authz.require(token, Need("publish", "acct-a"))
    calls = authz.vault_calls
    clock.now += 1  # within the TTL: cached
    await authz.require(token, Need("publish", "acct-a"))
    assert authz.vault_calls == calls
    clock.now += 30  # past the TTL Vault reported: asked again (the token may be gone by now)
    world.admin.revoke_accessor(world.accessors["op-short"])  # and it is: only Vault can tell
    with pytest.raises(ApiError) as e:
        await authz.require(token, Need("publish", "acct-a"))
    assert e.value.code == "invalid_token"
    assert authz.vault_calls == calls + 1


async def test_unknown_token_and_missing_capability(world: World) -> None:
    authz = Authorizer(lambda: world.daemon, world.acl_prefix)
    with pytest.raises(ApiError) as e:
        await authz.authenticate("hvs.not-a-token")
    assert e.value.code == "invalid_token"
    with pytest.raises(ApiError) as denied:
        await authz.require(world.tokens["op-mod"], Need("publish", "acct-a"))
    assert denied.value.status == 403
    assert denied.value.body()["error"]["capability"] == "publish"


async def test_concurrent_requests_share_one_lookup(world: World) -> None:
    authz = Authorizer(lambda: world.daemon, world.acl_prefix)
    token = world.tokens["op-analyst"]
    results = await asyncio.gather(*(authz.authenticate(token) for _ in range(20)))
    assert {r.actor for r in results} == {"op-analyst"}
    assert authz.vault_calls == 1


async def test_decisions_are_logged_without_the_token(harness: Harness) -> None:
    token = harness.world.tokens["op-mod"]
    with structlog.testing.capture_logs() as logs:
        await harness.client.post(
            "/v1/accounts/acct-a/posts", json={"text": "x"}, headers={"X-Vault-Token": token}
        )
    decisions = [e for e in logs if e["event"] == "authz.decision"]
    assert decisions == [
        {
            "event": "authz.decision",
            "log_level": "info",
            "actor": "op-mod",
            "identity": "entity:" + person_entity(harness.world.admin, "op-mod"),
            "accessor": harness.world.accessors["op-mod"],
            "capability": "publish",
            "account": "acct-a",
            "allowed": False,
            "route": "publish",
        }
    ]
    assert token not in repr(logs)


async def test_bearer_and_x_vault_token_are_both_accepted(harness: Harness) -> None:
    c = harness.client
    token = harness.world.tokens["op-analyst"]
    assert (await c.get("/v1/accounts", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    assert (await c.get("/v1/accounts", headers={"X-Vault-Token": token})).status_code == 200
    basic = await c.get("/v1/accounts", headers={"Authorization": f"Basic {token}"})
    assert basic.status_code == 401 and basic.headers["www-authenticate"].startswith("Bearer")
    bad = await c.get("/v1/accounts", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_token"


async def test_a_token_in_use_is_renewed_ahead_without_waiting(world: World) -> None:
    clock = Clock()
    authz = Authorizer(lambda: world.daemon, world.acl_prefix, cache_seconds=4, clock=clock)
    token = world.tokens["op-editor"]
    await authz.require(token, Need("publish", "acct-a"))
    await authz.grants(token, [Need("approve"), Need("publish", "acct-c")])
    assert authz.vault_calls == 3  # lookup, then one capabilities call per request
    clock.now += 3.5  # the last quarter of the entry's life: answered from the cache at once...
    caller = await authz.require(token, Need("publish", "acct-a"))
    assert caller.actor == "op-editor" and authz.renewals == 0
    await wait_for(lambda: authz.renewals, what="the renewal")  # ...and renewed in the background
    # the renewal asked for the token and, in one call, for every path the entry knew
    assert authz.vault_calls == 5
    clock.now += 3.5  # past the old entry's end, within the renewed one's: no Vault call
    _, got = await authz.grants(
        token, [Need("publish", "acct-a"), Need("approve"), Need("publish", "acct-c")]
    )
    assert got == {Need("publish", "acct-a"): True, Need("approve"): True, Need("publish", "acct-c"): False}
    assert authz.vault_calls == 5


async def test_a_renewal_drops_a_revoked_token_at_once(world: World) -> None:
    token = world.person("op-renew-revoked", [world.policy("publisher-a")])
    clock = Clock()
    authz = Authorizer(lambda: world.daemon, world.acl_prefix, cache_seconds=4, clock=clock)
    await authz.require(token, Need("publish", "acct-a"))
    world.admin.revoke_accessor(world.accessors["op-renew-revoked"])
    clock.now += 3.5
    await authz.require(token, Need("publish", "acct-a"))  # still within the window Vault answered for
    await wait_for(lambda: authz.vault_calls >= 3 and not authz.renewing, what="the renewal")
    with pytest.raises(ApiError) as e:  # the renewal learned of the revocation: refused before expiry
        await authz.require(token, Need("publish", "acct-a"))
    assert e.value.code == "invalid_token"
