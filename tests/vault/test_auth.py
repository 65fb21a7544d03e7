from __future__ import annotations

from pathlib import Path

import pytest

from sentinel.config import VaultSettings
from sentinel.errors import VaultAuthError
from sentinel.files import write_private
from sentinel.vault.auth import TokenKeeper, find_token, login
from sentinel.vault.bootstrap import bootstrap
from sentinel.vault.client import VaultClient


def test_token_sources_in_order(tmp_path: Path) -> None:
    f = tmp_path / "tok"
    write_private(f, "from-file-token\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    write_private(creds / "vault-token", "from-credential\n")
    env = {"VAULT_TOKEN": "from-env-token", "CREDENTIALS_DIRECTORY": str(creds)}
    assert find_token(VaultSettings(token_file=f), env)[0] == "from-file-token"
    token, source = find_token(VaultSettings(), env)
    assert (token, source.kind) == ("from-env-token", "env")
    token, source = find_token(VaultSettings(), {"CREDENTIALS_DIRECTORY": str(creds)})
    assert (token, source.kind) == ("from-credential", "credential")
    with pytest.raises(VaultAuthError, match="no Vault token"):
        find_token(VaultSettings(), {})
    write_private(tmp_path / "empty", "  \n")
    with pytest.raises(VaultAuthError, match="is empty"):
        find_token(VaultSettings(token_file=tmp_path / "empty"), {})


def test_approle_login_and_renewal(admin: VaultClient, settings: VaultSettings, tmp_path: Path) -> None:
    bootstrap(admin, settings, approle=True)
    role = f"auth/{settings.approle_mount}/role/sentinel"
    role_id = admin.request("GET", f"{role}/role-id")["data"]["role_id"]
    secret_id = admin.request("POST", f"{role}/secret-id")["data"]["secret_id"]
    write_private(tmp_path / "sid", secret_id)
    cfg = VaultSettings(
        addr=settings.addr,
        ca_cert=settings.ca_cert,
        kv_mount=settings.kv_mount,
        policy_prefix=settings.policy_prefix,
        auth="approle",
        approle_mount=settings.approle_mount,
        approle_role_id=role_id,
        approle_secret_id_file=tmp_path / "sid",
    )
    client = VaultClient(cfg.addr, kv_mount=cfg.kv_mount, ca_cert=str(cfg.ca_cert))
    source = login(client, cfg, env={})
    assert source.kind == "approle"
    info = client.lookup_self()
    assert f"{settings.policy_prefix}-daemon" in info.policies
    keeper = TokenKeeper(client, cfg)
    keeper.start()
    assert keeper.next_renewal is not None
    keeper.next_renewal = 0  # due now
    assert keeper.tick() is True
    assert keeper.last_error is None and keeper.ttl > 0
    assert keeper.tick() is False  # not due again yet


def test_keeper_does_not_renew_root_tokens(admin: VaultClient, settings: VaultSettings) -> None:
    keeper = TokenKeeper(admin, settings)
    keeper.start()
    assert keeper.next_renewal is None and keeper.tick() is False
