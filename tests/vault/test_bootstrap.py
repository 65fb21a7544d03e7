from __future__ import annotations

from pathlib import Path

import pytest

from sentinel.audit import fingerprint
from sentinel.audit_keys import transit_public_keys
from sentinel.config import VaultSettings
from sentinel.errors import VaultInvalidRequest
from sentinel.vault.bootstrap import bootstrap
from sentinel.vault.client import VaultClient
from sentinel.vault.policies import (
    PASSWORD_POLICY,
    daemon_policy,
    daemon_policy_name,
    empty_freeze_policy,
    freeze_policy_name,
    transit_key_name,
)

REPO = Path(__file__).resolve().parents[2]


def test_bootstrap_is_idempotent_and_repairs_drift(admin: VaultClient, settings: VaultSettings) -> None:
    first = bootstrap(admin, settings, approle=True)
    assert {s.status for s in first} == {"created"}
    again = bootstrap(admin, settings, approle=True)
    assert {s.status for s in again} == {"unchanged"}
    admin.policy_write(daemon_policy_name(settings), 'path "*" { capabilities = ["sudo"] }')
    fixed = {s.name: s.status for s in bootstrap(admin, settings)}
    assert fixed[f"ACL policy {daemon_policy_name(settings)}"] == "updated"
    assert admin.policy_read(daemon_policy_name(settings)) is not None
    assert "sudo" not in (admin.policy_read(daemon_policy_name(settings)) or "")


def test_bootstrap_creates_the_freeze_policy_and_never_overwrites_it(
    admin: VaultClient, settings: VaultSettings
) -> None:
    bootstrap(admin, settings)
    name = freeze_policy_name(settings)
    assert admin.policy_read(name) == empty_freeze_policy(settings)
    holding = 'path "snt/accounts/a/*" { capabilities = ["deny"] }'
    admin.policy_write(name, holding)  # today's freezes, as the daemon wrote them
    steps = {s.name: s.status for s in bootstrap(admin, settings)}
    assert steps[f"ACL policy {name}"] == "unchanged" and admin.policy_read(name) == holding


def test_shipped_hcl_files_match_what_bootstrap_writes() -> None:
    defaults = VaultSettings()
    shipped = (REPO / "vault" / "policies" / f"{daemon_policy_name(defaults)}.hcl").read_text()
    assert shipped == daemon_policy(defaults)
    assert (REPO / "vault" / "password-policy.hcl").read_text() == PASSWORD_POLICY


def test_daemon_policy_is_least_privilege(
    daemon_client: VaultClient, admin: VaultClient, settings: VaultSettings
) -> None:
    m, p = admin.kv_mount, settings.policy_prefix
    caps = daemon_client.capabilities_self(
        [
            f"{m}/data/accounts/a/password",
            f"{m}/metadata/accounts/a/password",
            f"{m}/data/other/x",
            "sys/mounts",
            "sys/policies/acl/root-like",
            "auth/token/create",
            "sys/audit",
            f"sys/policies/acl/{p}-role-social",
            f"sys/policies/acl/{p}-account-freeze",
            "auth/token/revoke-accessor",
            "auth/token/lookup-accessor",
            f"{m}/data/system/elsewhere",
            "identity/entity/id/some-id",
            "identity/group/name/some-group",
            f"sys/audit-hash/{settings.audit_device}",
            "sys/audit-hash/another-device",
        ]
    )
    assert set(caps[f"{m}/data/accounts/a/password"]) == {"create", "read", "update"}
    assert "delete" not in caps[f"{m}/metadata/accounts/a/password"]
    # Any policy may be read (blast radius: what an operator's policies grant), none written
    # but Sentinel's own.
    assert caps["sys/policies/acl/root-like"] == ["read"]
    # It writes one policy, the freeze policy; role policies are the administrator's.
    assert caps[f"sys/policies/acl/{p}-role-social"] == ["read"]
    assert sorted(caps[f"sys/policies/acl/{p}-account-freeze"]) == ["create", "read", "update"]
    assert sorted(caps["identity/entity/id/some-id"]) == ["read", "update"]  # 'disabled' only
    # the HMAC of a value as its own audit device writes it (to know its own audit lines)
    assert caps[f"sys/audit-hash/{settings.audit_device}"] == ["update"]
    for denied in (
        "auth/token/revoke-accessor",
        "auth/token/lookup-accessor",
        f"{m}/data/system/elsewhere",
        "identity/group/name/some-group",
        f"{m}/data/other/x",
        "sys/mounts",
        "auth/token/create",
        "sys/audit",
        "sys/audit-hash/another-device",
    ):
        assert caps[denied] == ["deny"], denied


def test_bootstrap_creates_a_non_exportable_audit_key_and_names_its_pin(
    admin: VaultClient, settings: VaultSettings
) -> None:
    steps = {s.name: s for s in bootstrap(admin, settings)}
    step = steps[f"audit signing key {settings.transit_mount}/{transit_key_name(settings)}"]
    key = admin.request("GET", f"{settings.transit_mount}/keys/{transit_key_name(settings)}")["data"]
    assert (key["type"], key["exportable"], key["allow_plaintext_backup"]) == ("ed25519", False, False)
    assert (
        step.detail == f"pin public_key_fingerprint = {fingerprint(transit_public_keys(admin, settings)[1])}"
    )


def test_bootstrap_refuses_an_exportable_audit_key(admin: VaultClient, settings: VaultSettings) -> None:
    admin.request("POST", f"sys/mounts/{settings.transit_mount}", json={"type": "transit"})
    admin.request(
        "POST",
        f"{settings.transit_mount}/keys/{transit_key_name(settings)}",
        json={"type": "ed25519", "exportable": True},
    )
    with pytest.raises(VaultInvalidRequest, match="not a non-exportable Ed25519 key"):
        bootstrap(admin, settings)
