from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sentinel.inventory import parse_inventory
from sentinel.posture import CredentialInfo, audit_posture

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def inventory() -> object:
    base = {"platform": "x", "handle": "@h", "timezone": "UTC", "publishing": "gated"}
    return parse_inventory(
        {
            "accounts": [
                {
                    **base,
                    "id": "a",
                    "owners": ["op-1"],
                    "credentials": [{"kind": "password", "rotation": "30d"}],
                },
                {**base, "id": "b", "owners": ["op-1", "op-2"]},
                {**base, "id": "c", "owners": [], "retired": False},
                {**base, "id": "old", "owners": ["op-1"], "retired": True},
            ]
        }
    )


def test_findings_per_check() -> None:
    stored = {
        "a": {
            "password": CredentialInfo("password", "password", NOW - timedelta(days=31)),
            "totp_seed": CredentialInfo("totp_seed", "totp_seed", NOW),
        },
        "b": {"password": CredentialInfo("password", "password", NOW - timedelta(days=200))},
        "c": {},
    }
    findings = audit_posture(
        inventory(),  # type: ignore[arg-type]
        stored,
        {"b": (NOW - timedelta(days=91)).isoformat()},
        NOW,
        max_reach=1,
        default_rotation={"password": 365 * 86400.0},
        unsupported={"x": ["change the password"]},
    )
    got = {(f.check, f.subject) for f in findings}
    assert ("overdue-rotation", "a") in got  # 31 days > 30-day period from the inventory
    assert ("overdue-rotation", "b") not in got  # 200 days < the 365-day default
    assert ("no-2fa", "b") in got and ("no-2fa", "a") not in got
    assert ("no-credential", "c") in got and ("no-owner", "c") in got
    assert ("silent", "b") in got
    assert ("blast-radius", "op-1") in got  # a and b: 2 active accounts > 1 (retired one not counted)
    assert ("platform-gap", "a") in got
    assert not any(f.subject == "old" for f in findings)


def test_without_vault_only_inventory_checks() -> None:
    findings = audit_posture(inventory(), None, {}, NOW, max_reach=10)  # type: ignore[arg-type]
    assert {f.check for f in findings} == {"no-owner"}


def test_holders_without_the_freeze_policy_are_high_findings() -> None:
    gaps = {"group hand-made": "holds Sentinel capabilities (a: publish) without the freeze policy"}
    findings = audit_posture(inventory(), None, {}, NOW, max_reach=10, freeze_gaps=gaps)  # type: ignore[arg-type]
    (gap,) = [f for f in findings if f.check == "freeze-not-carried"]
    assert (gap.subject, gap.severity) == ("group hand-made", "high") and "freeze policy" in gap.detail
