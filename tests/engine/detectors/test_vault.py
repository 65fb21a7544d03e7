"""Vault-request detectors on their own: baselines per identity, and who may change what."""

from __future__ import annotations

from collections import deque
from typing import Any

from sentinel.engine.detectors.base import DETECTORS
from sentinel.engine.detectors.vault import vault_control_change, vault_mass_read, vault_odd_hour
from sentinel.engine.settings import EngineSettings
from sentinel.engine.takeover_context import VaultContext
from sentinel.engine.takeover_settings import TakeoverSettings
from sentinel.engine.takeover_state import IdentityState
from sentinel.engine.vault_events import parse_audit_entry
from tests.engine import takeover_sim as sim

DAY = 86400.0


def ctx(entries: list[dict[str, Any]], ident: IdentityState, admin: bool = False) -> VaultContext:
    req = parse_audit_entry(entries[1], "sentinel").request
    return VaultContext(req, ident, TakeoverSettings(), EngineSettings(), admin, None)


def params(name: str, **kw: Any) -> dict[str, Any]:
    return DETECTORS[name].compile_params(kw)


def learned(days: int = 20, per_day: int = 10) -> IdentityState:
    """An identity that read ``per_day`` accounts at 10:00 every day for ``days`` days."""
    ident = IdentityState(first_ts=sim.at(0, 10).timestamp())
    for day in range(days):
        for i in range(per_day):
            ts = sim.at(day, 10, 0, i).timestamp()
            ident.reads.append((ts, f"acct-{i}"))
            ident.learn_read(ts, 10, "198.51.100.7", f"acct-{i}", (600,))
        ident.trim(sim.at(day, 23).timestamp(), 0)
    return ident


def test_mass_read_is_against_the_identitys_own_earlier_days() -> None:
    ident = learned(per_day=10)
    assert ident.peak(600, sim.at(20, 9).timestamp()) == 10
    ident.reads = deque((sim.at(20, 3, 0, i).timestamp(), f"acct-{i}") for i in range(19))
    p = params("vault_mass_read")
    assert (
        vault_mass_read(ctx(sim.read(sim.at(20, 3, 1), "op-a", "acct-19"), ident), p) is None
    )  # 20 = 2 x 10
    ident.reads.append((sim.at(20, 3, 0, 30).timestamp(), "acct-20"))
    hit = vault_mass_read(ctx(sim.read(sim.at(20, 3, 1), "op-a", "acct-21"), ident), p)
    assert hit is not None and "read 21 accounts' credentials within 10 min (most before: 10)" in hit[0]


def test_mass_read_waits_until_the_identity_is_learned() -> None:
    ident = IdentityState(first_ts=sim.at(0, 1).timestamp())
    ident.reads = deque((sim.at(0, 3, 0, i).timestamp(), f"acct-{i}") for i in range(20))
    assert (
        vault_mass_read(ctx(sim.read(sim.at(0, 3, 1), "op-a", "acct-30"), ident), params("vault_mass_read"))
        is None
    )


def test_odd_hour_uses_neighbouring_hours() -> None:
    ident = learned()
    p = params("vault_odd_hour")
    assert vault_odd_hour(ctx(sim.read(sim.at(21, 11, 30), "op-a", "acct-1"), ident), p) is None  # next to 10
    hit = vault_odd_hour(ctx(sim.read(sim.at(21, 3), "op-a", "acct-1"), ident), p)
    assert hit is not None and "03:00 UTC (0.0% of 200 reads)" in hit[0]


def test_control_change_who_and_what() -> None:
    p = params("vault_control_change")
    ident = IdentityState()
    change = sim.audit(sim.at(0, 23), "op-gus", "sys/policies/acl/sentinel-role-support", "update")
    assert vault_control_change(ctx(change, ident), p) is not None
    assert vault_control_change(ctx(change, ident, admin=True), p) is None
    refused = sim.audit(sim.at(0, 23), "op-gus", "identity/entity/id/x", "update", denied=True)
    hit = vault_control_change(ctx(refused, ident), p)
    assert hit is not None and hit[1] == 0.5 and "tried to change" in hit[0]
    other = sim.audit(sim.at(0, 23), "op-gus", "sys/policies/acl/marketing", "update")
    assert vault_control_change(ctx(other, ident), p) is None
    own_password = sim.audit(sim.at(0, 23), "op-gus", "auth/userpass/users/op-gus/password", "update")
    assert vault_control_change(ctx(own_password, ident), p) is None
    policies = sim.audit(sim.at(0, 23), "op-gus", "auth/userpass/users/op-gus/policies", "update")
    assert vault_control_change(ctx(policies, ident), p) is not None
    reading = sim.audit(sim.at(0, 23), "op-gus", "sys/policies/acl/sentinel-role-support")
    assert vault_control_change(ctx(reading, ident), p) is None
