from __future__ import annotations

from pathlib import Path

from sentinel.config import VaultSettings
from sentinel.vault.bootstrap import bootstrap
from sentinel.vault.client import VaultClient
from sentinel.vault.policies import PASSWORD_POLICY, daemon_policy, daemon_policy_name

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


def test_shipped_hcl_files_match_what_bootstrap_writes() -> None:
    defaults = VaultSettings()
    shipped = (REPO / "vault" / "policies" / f"{daemon_policy_name(defaults)}.hcl").read_text()
    assert shipped == daemon_policy(defaults)
    assert (REPO / "vault" / "password-policy.hcl").read_text() == PASSWORD_POLICY


def test_daemon_policy_is_least_privilege(daemon_client: VaultClient, admin: VaultClient) -> None:
    m = admin.kv_mount
    caps = daemon_client.capabilities_self(
        [
            f"{m}/data/accounts/a/password",
            f"{m}/metadata/accounts/a/password",
            f"{m}/data/other/x",
            "sys/mounts",
            "sys/policies/acl/root-like",
            "auth/token/create",
            "sys/audit",
        ]
    )
    assert set(caps[f"{m}/data/accounts/a/password"]) == {"create", "read", "update"}
    assert "delete" not in caps[f"{m}/metadata/accounts/a/password"]
    # Any policy may be read (blast radius: what an operator's policies grant), none written
    # but Sentinel's own.
    assert caps["sys/policies/acl/root-like"] == ["read"]
    for denied in (
        f"{m}/data/other/x",
        "sys/mounts",
        "auth/token/create",
        "sys/audit",
    ):
        assert caps[denied] == ["deny"], denied
