"""A deployment (tests/conftest.py) whose inventory holds sandbox accounts with credentials
in Vault, and people's Vault tokens with different policies, for the CLI tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from sentinel.creds.store import CredentialStore
from sentinel.inventory import load_inventory
from sentinel.platforms.sandbox_server import SandboxServer
from tests.conftest import Deployment, person_token
from tests.creds.conftest import sandbox_api, sandbox_login

INVENTORY = """\
[[accounts]]
id = "{a}"
platform = "sandbox"
handle = "{ha}"
timezone = "UTC"
publishing = "gated"
credentials = [{{ kind = "password", rotation = "30d" }}, {{ kind = "app_password" }}, {{ kind = "totp_seed" }}]

[[accounts]]
id = "{b}"
platform = "sandbox"
handle = "{hb}"
timezone = "UTC"
publishing = "gated"
credentials = [{{ kind = "password" }}]
"""


@dataclass
class SandboxDeployment:
    d: Deployment
    url: str
    a: str
    b: str
    handles: dict[str, str]
    first: dict[str, str]
    """The secrets as first stored, by ``<account>/<credential>``."""

    @property
    def store(self) -> CredentialStore:
        return CredentialStore(self.d.admin.with_token(self.d.token))

    def person(self, name: str, hcl: str) -> str:
        """A Vault token of the person ``name`` (their identity entity) holding policy ``hcl``."""
        policy = f"{self.d.settings.policy_prefix}-person-{name}"
        self.d.admin.policy_write(policy, hcl)
        token, _ = person_token(self.d.admin, name, [policy], ttl="10m")
        return token

    def reader_policy(self, account: str) -> str:
        m = self.d.settings.kv_mount
        return (
            f'path "{m}/data/accounts/{account}/*" {{ capabilities = ["read"] }}\n'
            f'path "{m}/metadata/accounts/{account}/*" {{ capabilities = ["read"] }}\n'
        )

    def admin_policy(self, account: str) -> str:
        m = self.d.settings.kv_mount
        return (
            f'path "{m}/data/accounts/{account}/*" {{ capabilities = ["create", "read", "update"] }}\n'
            f'path "{m}/metadata/accounts/{account}/*" {{ capabilities = ["read", "patch", "update"] }}\n'
        )


def sandbox_deployment(d: Deployment, url: str) -> SandboxDeployment:
    tag = secrets.token_hex(3)
    a, b = f"brand-{tag}", f"news-{tag}"
    handles = {a: f"ha{tag}", b: f"hb{tag}"}
    (d.dir / "inventory.toml").write_text(INVENTORY.format(a=a, b=b, ha=handles[a], hb=handles[b]))
    inv = load_inventory(d.dir / "inventory.toml")
    store = CredentialStore(d.admin.with_token(d.token))
    now = datetime.now(UTC)
    first: dict[str, str] = {}
    for acct in inv:
        password = secrets.token_urlsafe(18)
        sandbox_api(url, "POST", "/api/accounts", json={"handle": acct.handle, "password": password})
        # 'service' tells the sandbox adapter where the platform is (the CLI builds adapters
        # from the registry without options, as the daemon does).
        store.replace(acct, "password", "password", {"value": password, "service": url}, "seed", now)
        first[f"{acct.id}/password"] = password
        if acct.id == a:
            token = sandbox_login(url, acct.handle, password)
            app = sandbox_api(url, "POST", "/api/app-passwords", token=token, json={"name": "seed-app"})
            data = {"value": app["password"], "name": app["name"], "service": url}
            store.replace(acct, "app_password", "app_password", data, "seed", now)
            first[f"{acct.id}/app_password"] = app["password"]
    return SandboxDeployment(d, url, a, b, handles, first)


@pytest.fixture(name="sd")
def sd_fixture(deployment: Deployment, sandbox: SandboxServer) -> SandboxDeployment:
    """For a test module: ``from tests.creds.deploy import sd_fixture``."""
    return sandbox_deployment(deployment, sandbox.url)
