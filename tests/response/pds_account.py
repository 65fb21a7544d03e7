"""A Bluesky account on the test network as the daemon's tests set it up: XRPC calls as
the owner or a hijacker make them, and the inventory entry that protects the account."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from sentinel.config import load_config
from sentinel.daemon import App, Service
from sentinel.vault.client import VaultClient
from tests.conftest import Deployment, running_app

STREAM_ONLY = (
    '[watcher]\nintervals = { bluesky = 3600 }\nstream_poll_interval = "1h"\n'
    'account_state_interval = "1h"\naccount_state_jitter = 0\n'
)
"""Polls and scheduled snapshots an hour away: within a test, only the event stream tells."""


def xrpc(pds: Any, nsid: str, token: str | None = None, **body: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{pds.url}/xrpc/{nsid}", json=body, headers=headers, timeout=30)


def protect(deployment: Deployment, handle: str, more: str = 'timezone = "UTC"\n') -> None:
    """The inventory: one gated account, ``brand-bsky``, with a password and an app password
    (``more``: its timezone and other optional keys)."""
    (deployment.dir / "inventory.toml").write_text(
        f'[[accounts]]\nid = "brand-bsky"\nplatform = "bluesky"\nhandle = "{handle}"\n{more}'
        f'publishing = "gated"\nowners = ["op-ann"]\ndomains = ["example.com"]\n'
        'credentials = [{ kind = "password" }, { kind = "app_password", rotation = "30d" }]\n'
    )


@dataclass
class Protected:
    """A new PDS account protected as ``brand-bsky`` by an in-process daemon's ``App``."""

    acct: dict[str, str]
    session: dict[str, Any]
    """The owner's session: what the phished main password gives the hijacker."""
    app: App
    vault: VaultClient

    @contextlib.asynccontextmanager
    async def running(self, *services: Service) -> AsyncIterator[None]:
        """The daemon's ``services`` started in order on the ``App``, stopped in reverse, then
        the ``App`` closed."""
        try:
            for service in services:
                await service.start(self.app)
            yield
        finally:
            for service in reversed(services):
                await service.stop()
            self.vault.close()
            self.app.store.close()


def protected_app(
    deployment: Deployment, pds: Any, config: str, more: str = 'timezone = "UTC"\n'
) -> Protected:
    """A new account on the PDS, its credentials in Vault, the daemon's ``App`` with
    ``config`` (TOML after ``[api]``; ``more`` for the inventory entry); alerts are dropped."""
    acct = pds.create_account()
    protect(deployment, acct["handle"], more)
    deployment.write_config(config)
    settings = load_config(deployment.config, env={})
    vault = VaultClient.from_settings(settings.vault, env={})
    session = vault_credentials(vault, pds, acct)
    app = running_app(settings, vault)
    app.alert = lambda **kw: None
    return Protected(acct, session, app, vault)


def vault_credentials(vault: VaultClient, pds: Any, acct: dict[str, str]) -> dict[str, Any]:
    """Store ``brand-bsky``'s main password and Sentinel's app password in Vault, as
    enrolment does; the owner's session (what a phished password gives a hijacker too)."""
    handle, password = acct["handle"], acct["password"]
    session: dict[str, Any] = xrpc(
        pds, "com.atproto.server.createSession", identifier=handle, password=password
    ).json()
    ours = xrpc(pds, "com.atproto.server.createAppPassword", session["accessJwt"], name="sentinel").json()
    base = {"service": pds.url, "identifier": handle, "did": acct["did"], "plc": pds.plc_url}
    vault.kv_write("accounts/brand-bsky/password", {"value": password, **base}, cas=0)
    vault.kv_write(
        "accounts/brand-bsky/app_password", {"value": ours["password"], "name": "sentinel", **base}, cas=0
    )
    return session
