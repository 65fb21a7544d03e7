"""The gate keeps deciding during a Vault outage, on Vault's last answers, for a bounded grace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from sentinel.api.errors import ApiError
from sentinel.api.grace import LOG_EVERY, in_grace
from sentinel.vault.devserver import DevVault
from tests.api.grace_world import CACHE, GRACE, World, make_world, world

__all__ = ["world"]


async def test_a_token_seen_before_keeps_its_answers_in_grace_marked(world: World) -> None:
    token = world.tokens["op-pub"]
    first = await world.authz.require(token, world.publish(), "check")
    assert in_grace(first) is None
    with pytest.raises(ApiError) as denied:
        await world.authz.require(token, world.publish("acct-b"), "check")
    assert denied.value.code == "missing_capability"

    world.proxy.down()
    world.tick(CACHE + 60)  # the cache has expired: Vault must be asked, and cannot be
    caller = await world.authz.require(token, world.publish(), "check")
    assert caller.identity == first.identity and in_grace(caller) == pytest.approx(CACHE + 60)
    with pytest.raises(ApiError) as still_denied:  # a remembered "no" stays a "no"
        await world.authz.require(token, world.publish("acct-b"), "check")
    assert still_denied.value.code == "missing_capability"

    world.proxy.up()  # Vault back: answers come from Vault again, unmarked
    caller = await world.authz.require(token, world.publish(), "check")
    assert in_grace(caller) is None


async def test_the_daemon_knowing_vault_is_down_decides_at_once(world: World) -> None:
    token = world.tokens["op-pub"]
    await world.authz.require(token, world.publish(), "check")
    down = [True]
    assert world.authz.grace is not None
    world.authz.grace.vault_down = lambda: down[0]
    world.tick(CACHE + 1)
    before = world.authz.vault_calls
    caller = await world.authz.require(token, world.publish(), "check")
    assert in_grace(caller) is not None and world.authz.vault_calls == before  # Vault not even tried


async def test_grace_decisions_are_logged_once_per_token_per_minute_with_counts(world: World) -> None:
    token = world.tokens["op-pub"]
    await world.authz.require(token, world.publish(), "check")
    with pytest.raises(ApiError):
        await world.authz.require(token, world.publish("acct-b"), "check")
    world.proxy.down()
    world.tick(CACHE + 1)
    with structlog.testing.capture_logs() as logs:
        for _ in range(5):
            await world.authz.require(token, world.publish(), "check")
        with pytest.raises(ApiError) as denied:
            await world.authz.require(token, world.publish("acct-b"), "check")
        assert denied.value.code == "missing_capability"  # a remembered "no", counted as denied
        world.tick(LOG_EVERY)
        await world.authz.require(token, world.publish(), "check")
        await world.authz.require(token, world.publish(), "check")  # counted, not logged
        world.proxy.up()
        world.tick(CACHE + 1)
        caller = await world.authz.require(token, world.publish(), "check")  # Vault answers again
    assert in_grace(caller) is None
    lines = [
        (e["event"], e.get("allowed"), e.get("denied")) for e in logs if e["event"].startswith("authz.grace")
    ]
    assert lines == [
        ("authz.grace_decision", 1, None),  # the first at once
        ("authz.grace_decision", 5, 1),  # a minute later: everything since the first line
        ("authz.grace_ended", 1, None),  # what was not logged yet, when Vault is back
    ]
    assert [e["log_level"] for e in logs if e["event"].startswith("authz.grace")] == [
        "warning",
        "warning",
        "info",
    ]


@pytest.fixture
def closed_world(bao: DevVault) -> Iterator[World]:
    yield from make_world(bao, grace=0.0)


async def test_grace_zero_fails_closed_at_once(closed_world: World) -> None:
    w = closed_world
    await w.authz.require(w.tokens["op-pub"], w.publish(), "check")
    w.proxy.down()
    w.tick(CACHE + 1)
    with pytest.raises(ApiError) as e:
        await w.authz.require(w.tokens["op-pub"], w.publish(), "check")
    assert e.value.code == "vault_unavailable"


async def test_a_grace_that_ran_out_is_logged_once_per_token_per_minute_with_the_refusals(
    world: World,
) -> None:
    token = world.tokens["op-pub"]
    await world.authz.require(token, world.publish(), "check")
    world.proxy.down()
    world.tick(GRACE + 1)
    with structlog.testing.capture_logs() as logs:
        for _ in range(20):  # a publishing tool retrying: refused each time, said once
            with pytest.raises(ApiError) as refused:
                await world.authz.require(token, world.publish(), "check")
            assert refused.value.code == "authz_grace_expired"
        world.tick(LOG_EVERY)
        for _ in range(3):
            with pytest.raises(ApiError):
                await world.authz.require(token, world.publish(), "check")
        world.proxy.up()
        world.tick(CACHE + 1)
        caller = await world.authz.require(token, world.publish(), "check")
    assert in_grace(caller) is None
    lines = [(e["event"], e.get("refused")) for e in logs if e["event"].startswith("authz.grace")]
    assert lines == [
        ("authz.grace_expired", 1),  # the change, at once
        ("authz.grace_expired", 20),  # a minute later: the 19 since, and this one
        ("authz.grace_ended", 2),  # the refusals not logged yet, when Vault answers again
    ]
