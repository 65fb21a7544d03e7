from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from sentinel.config import VaultSettings
from sentinel.vault.bootstrap import bootstrap, issue_daemon_token
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import DevVault
from tests.conftest import admin_client, tls_settings


@pytest.fixture
def settings(bao: DevVault) -> VaultSettings:
    """A fresh KV mount and policy prefix per test, so tests never see each other's data;
    Vault is reached over TLS."""
    tag = secrets.token_hex(4)
    return tls_settings(
        bao,
        kv_mount=f"kv-{tag}",
        policy_prefix=f"snt-{tag}",
        approle_mount=f"approle-{tag}",
        transit_mount=f"transit-{tag}",
        password_policy=f"pw-{tag}",
    )


@pytest.fixture
def admin(bao: DevVault, settings: VaultSettings) -> Iterator[VaultClient]:
    client = admin_client(bao, settings)
    yield client
    client.close()


@pytest.fixture
def daemon_client(admin: VaultClient, settings: VaultSettings) -> Iterator[VaultClient]:
    """A client holding only Sentinel's own least-privilege policy."""
    bootstrap(admin, settings)
    token, _ = issue_daemon_token(admin, settings, ttl="1h")
    client = admin.with_token(token)
    yield client
    client.close()
