"""A Bluesky account on the test network as the daemon's tests set it up: XRPC calls as
the owner or a hijacker make them, and the inventory entry that protects the account."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Deployment


def xrpc(pds: Any, nsid: str, token: str | None = None, **body: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{pds.url}/xrpc/{nsid}", json=body, headers=headers, timeout=30)


def protect(deployment: Deployment, handle: str) -> None:
    """The inventory: one gated account, ``brand-bsky``, with a password and an app password."""
    (deployment.dir / "inventory.toml").write_text(
        f'[[accounts]]\nid = "brand-bsky"\nplatform = "bluesky"\nhandle = "{handle}"\ntimezone = "UTC"\n'
        f'publishing = "gated"\nowners = ["op-ann"]\ndomains = ["example.com"]\n'
        'credentials = [{ kind = "password" }, { kind = "app_password", rotation = "30d" }]\n'
    )
