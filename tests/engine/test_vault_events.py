"""Vault audit entries as OpenBao's file audit device writes them: parsing and path meaning."""

from __future__ import annotations

from typing import Any

import pytest

from sentinel.engine.engine import Engine
from sentinel.engine.events import EventError
from sentinel.engine.intake import Intake
from sentinel.engine.rules import RuleSet
from sentinel.engine.vault_events import classify_path, parse_audit_entry, parse_time
from sentinel.inventory import Inventory
from tests.engine import takeover_sim as sim


def test_response_entry_of_a_credential_read() -> None:
    _, resp = sim.read(
        sim.at(0, 20, 57, 22), "op-pia", "northwind-brand-us-facebook", "totp_seed", ip="203.0.113.20"
    )
    e = parse_audit_entry(resp, "sentinel")
    r = e.request
    assert e.type == "response" and r.response and r.credential_read and not r.write and not r.denied
    assert (r.account, r.key, r.area, r.remote_address) == (
        "northwind-brand-us-facebook",
        "totp_seed",
        "data",
        "203.0.113.20",
    )
    assert (r.identity, r.display_name, r.policies) == (
        "entity-op-pia",
        "userpass-op-pia",
        ("default", "sentinel-role-team"),
    )
    assert r.ts == pytest.approx(sim.at(0, 20, 57, 22).timestamp() + 0.418311129)


def test_refused_request_and_token_without_entity() -> None:
    _, resp = sim.audit(sim.at(0, 3), "x", "sentinel/metadata/accounts/", "list", denied=True, entity_id="")
    r = parse_audit_entry(resp, "sentinel").request
    assert r.denied and r.area == "list" and r.account is None
    assert r.identity == "accessor:hmac-sha256:xacc" and not r.credential_read


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("sentinel/data/accounts/a/password", ("data", "a", "password")),
        ("sentinel/metadata/accounts/a/app_password", ("metadata", "a", "app_password")),
        ("sentinel/destroy/accounts/a/password", ("destroy", "a", "password")),
        ("sentinel/metadata/accounts/", ("list", None, "")),
        ("sys/internal/ui/mounts/sentinel/accounts/a/password", ("lookup", "a", "password")),
        ("sys/internal/ui/mounts/other/accounts/a/password", ("", None, "")),
        ("sentinelx/data/accounts/a/password", ("", None, "")),
        ("sys/policies/acl/sentinel-role-news", ("", None, "")),
    ],
)
def test_paths_under_the_kv_mount(path: str, expected: tuple[str, str | None, str]) -> None:
    assert classify_path(path, "sentinel") == expected


def test_times_with_nanoseconds() -> None:
    assert parse_time("2026-03-02T20:57:22.831312555Z") == pytest.approx(1772485042.831312555)
    assert parse_time("2026-03-02T20:57:22Z") == 1772485042.0
    for bad in ("2026-03-02 20:57:22", "2026-03-02T20:57:22.x1Z", 7):
        with pytest.raises(EventError, match="field 'time'"):
            parse_time(bad)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "audit"}, "field 'type' must be 'request' or 'response'"),
        ({"request": []}, "field 'request' must be an object"),
        ({"request": {"operation": "read", "path": "x"}}, "field 'request.id'"),
        ({"request": {"id": "r", "path": "x"}}, "field 'request.operation'"),
        ({"request": {"id": "r", "operation": "read"}}, "field 'request.path'"),
        ({"auth": "root"}, "field 'auth' must be an object"),
        ({"time": "now"}, "field 'time'"),
    ],
)
def test_malformed_entries_name_the_field(change: dict[str, Any], message: str) -> None:
    _, resp = sim.read(sim.at(0, 10), "op-a", "a")
    with pytest.raises(EventError, match=message):
        parse_audit_entry({**resp, **change}, "sentinel")


def test_an_entry_without_its_request_is_reported_as_an_audit_entry() -> None:
    intake = Intake(Engine(Inventory(accounts=()), RuleSet()))
    with pytest.raises(EventError, match="field 'request' must be an object"):
        intake.feed({"type": "response", "time": "2026-03-02T20:57:22Z"})


def test_policies_must_be_strings() -> None:
    _, resp = sim.read(sim.at(0, 10), "op-a", "a")
    resp["auth"] = {**resp["auth"], "policies": [1]}
    with pytest.raises(EventError, match=r"auth\.policies"):
        parse_audit_entry(resp, "sentinel")
