"""The freeze policy's text, read the way Vault reads policies (``sentinel.response.acl``):
whatever a role or a hand-written policy grants on a frozen account, by exact path, ``+``
or glob, the freeze policy's rule for that path is the one Vault applies, and it denies."""

from __future__ import annotations

import pytest

from sentinel.capabilities import ACCOUNT_CAPABILITIES
from sentinel.config import VaultSettings
from sentinel.inventory import CREDENTIAL_KINDS
from sentinel.response.acl import Acl, parse_policy
from sentinel.response.containment import freeze_paths, render_freeze_policy
from sentinel.vault.policies import empty_freeze_policy

S = VaultSettings(kv_mount="kv", policy_prefix="snt")
GRANTS = {
    "exact capability": 'path "acl/accounts/a/moderate" { capabilities = ["update"] }',
    "exact, policy prefix": 'path "snt/accounts/a/publish" { capabilities = ["update"] }',
    "all accounts (+)": 'path "acl/accounts/+/admin" { capabilities = ["update"] }',
    "account glob": 'path "acl/accounts/a/*" { capabilities = ["update"] }',
    "exact credential": 'path "kv/data/accounts/a/password" { capabilities = ["read"] }',
    "inventory credential": 'path "kv/data/accounts/a/ig-backup" { capabilities = ["read"] }',
    "credential metadata": 'path "kv/metadata/accounts/a/totp_seed" { capabilities = ["read"] }',
    "every credential (+)": 'path "kv/data/accounts/+/api_key" { capabilities = ["read"] }',
}


def _vault_answer(grant: str, frozen: list[str], path: str) -> frozenset[str]:
    freeze = render_freeze_policy(S, frozen, {"a": ["ig-backup"]}, ("acl",))
    acl = Acl([*parse_policy("role", grant), *parse_policy("freeze", freeze)])
    m = acl.match(path)
    return frozenset() if m is None else m.capabilities


@pytest.mark.parametrize("name", sorted(GRANTS))
def test_every_grant_on_a_frozen_account_is_denied(name: str) -> None:
    grant = GRANTS[name]
    path = parse_policy("role", grant)[0].path.replace("+", "a").replace("*", "publish")
    assert _vault_answer(grant, [], path) - {"deny"}, "granted before the freeze"
    assert _vault_answer(grant, ["a"], path) == {"deny"}
    # another account's freeze leaves it alone
    assert _vault_answer(grant, ["b"], path) != {"deny"}


def test_the_paths_cover_every_capability_and_credential_kind() -> None:
    paths = set(freeze_paths(S, "a", ["ig-backup"], ("acl",)))
    for prefix in ("acl", "snt"):
        assert {f"{prefix}/accounts/a/{c}" for c in ACCOUNT_CAPABILITIES} <= paths
        assert f"{prefix}/accounts/a/*" in paths
    for key in (*CREDENTIAL_KINDS, "ig-backup"):
        assert {f"kv/data/accounts/a/{key}", f"kv/metadata/accounts/a/{key}"} <= paths


def test_nothing_frozen_is_the_policy_bootstrap_creates() -> None:
    assert render_freeze_policy(S, []) == empty_freeze_policy(S)
    assert all(r.capabilities == {"deny"} for r in parse_policy("freeze", empty_freeze_policy(S)))
