from __future__ import annotations

from collections.abc import Iterator

import pytest

from sentinel.config import VaultSettings
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import DevVault
from tests.conftest import admin_client, bootstrap_daemon, mount_settings


@pytest.fixture
def settings(bao: DevVault) -> VaultSettings:
    """A fresh KV mount and policy prefix per test (and AppRole and Transit mounts), so tests
    never see each other's data; Vault is reached over TLS."""
    return mount_settings(bao, "kv", True, "approle_mount", "transit_mount")


@pytest.fixture
def admin(bao: DevVault, settings: VaultSettings) -> Iterator[VaultClient]:
    client = admin_client(bao, settings)
    yield client
    client.close()


@pytest.fixture
def daemon_client(admin: VaultClient, settings: VaultSettings) -> Iterator[VaultClient]:
    """A client holding only Sentinel's own least-privilege policy."""
    client, _, _ = bootstrap_daemon(admin, settings)
    yield client
    client.close()
