"""Fixtures for credential tests: a per-test KV mount with a least-privilege daemon token
(the real OpenBao from tests/conftest.py), the sandbox platform over real HTTP, and
helpers to create an account on both."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sentinel.config import VaultSettings
from sentinel.creds.rotator import Rotator, default_adapters
from sentinel.creds.settings import RotationSettings
from sentinel.creds.store import CredentialStore
from sentinel.inventory import Account, CredentialSpec, Inventory
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import DevVault
from tests.conftest import new_mount
from tests.pds_fixture import pds  # noqa: F401

FAST = RotationSettings(attempts=3, backoff=0.01, backoff_max=0.02, grace=0.0, jitter=0.0)


@dataclass
class CredsEnv:
    """One KV mount with Sentinel's own least-privilege token, and the sandbox."""

    settings: VaultSettings
    admin: VaultClient
    vault: VaultClient
    sandbox_url: str
    accounts: list[Account] = field(default_factory=list)

    @property
    def store(self) -> CredentialStore:
        return CredentialStore(self.vault)

    @property
    def inventory(self) -> Inventory:
        return Inventory(tuple(self.accounts))

    def sandbox_account(
        self, kinds: tuple[str, ...] = ("password",), rotation: float | None = None
    ) -> tuple[Account, dict[str, str]]:
        """An account on the sandbox with its credentials stored in Vault; returns the
        account and the secrets as first stored (for assertions)."""
        handle = f"h{secrets.token_hex(5)}"
        password = secrets.token_urlsafe(18)
        sandbox_api(self.sandbox_url, "POST", "/api/accounts", json={"handle": handle, "password": password})
        specs = tuple(CredentialSpec(kind=k, rotation_seconds=rotation) for k in kinds)
        account = Account(
            id=f"acct-{handle}",
            platform="sandbox",
            handle=handle,
            timezone="UTC",
            publishing="gated",
            credentials=specs,
        )
        self.accounts.append(account)
        now = datetime.now(UTC)
        out = {"password": password}
        if "password" in kinds:
            self.store.replace(account, "password", "password", {"value": password}, "test-seed", now)
        if "app_password" in kinds:
            token = sandbox_login(self.sandbox_url, handle, password)
            created = sandbox_api(
                self.sandbox_url, "POST", "/api/app-passwords", token=token, json={"name": "seed-app"}
            )
            data = {"value": created["password"], "name": created["name"]}
            self.store.replace(account, "app_password", "app_password", data, "test-seed", now)
            out["app_password"] = created["password"]
        return account, out

    def rotator(self, settings: RotationSettings = FAST, **kw: Any) -> Rotator:
        return Rotator(
            vault=self.vault,
            inventory=self.inventory,
            settings=settings,
            password_policy=self.settings.password_policy,
            adapters=default_adapters({"base_url": self.sandbox_url, "sleep": _no_sleep}),
            **kw,
        )


async def _no_sleep(seconds: float) -> None:
    """The platform client's own retry pauses, skipped in tests."""


def sandbox_api(url: str, method: str, path: str, token: str | None = None, json: Any = None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    r = httpx.request(method, f"{url}{path}", json=json, headers=headers, timeout=10)
    r.raise_for_status()
    return r.json() if r.content else None


def sandbox_login(url: str, handle: str, secret: str) -> str:
    return str(
        sandbox_api(url, "POST", "/api/sessions", json={"handle": handle, "password": secret})["token"]
    )


def sandbox_accepts(url: str, handle: str, secret: str) -> bool:
    r = httpx.post(f"{url}/api/sessions", json={"handle": handle, "password": secret}, timeout=10)
    return r.status_code == 201


def sandbox_app_passwords(url: str, handle: str, password: str) -> list[str]:
    token = sandbox_login(url, handle, password)
    return [a["name"] for a in sandbox_api(url, "GET", "/api/app-passwords", token=token)["app_passwords"]]


@pytest.fixture
def env(bao: DevVault, sandbox: SandboxServer) -> Iterator[CredsEnv]:
    settings, admin, daemon, _ = new_mount(bao, tls=True)
    e = CredsEnv(settings=settings, admin=admin, vault=daemon, sandbox_url=sandbox.url)
    yield e
    admin.close()
    daemon.close()
