"""The takeover sources as a daemon service: real OpenBao (with a file audit device), the
sandbox platform, the guard as the sink."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from sentinel.config import load_config
from sentinel.guard import Guard
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import DevVault
from sentinel.watcher.service import WatcherService
from sentinel.watcher.takeover_sources import TakeoverSources
from tests.conftest import Deployment, running_app
from tests.response.pds_account import STREAM_ONLY, protected_app, xrpc
from tests.waiting import wait_for
from tests.watcher.accounts import new_account


async def test_both_sources_reach_the_guard(
    deployment: Deployment, audited_bao: DevVault, sandbox: SandboxServer
) -> None:
    creds = new_account(sandbox)
    (deployment.dir / "inventory.toml").write_text(
        f'[[accounts]]\nid = "brand-sbx"\nplatform = "sandbox"\nhandle = "{creds["identifier"]}"\n'
        'timezone = "UTC"\npublishing = "open"\nowners = ["op-ann"]\ndomains = ["example.com"]\ncredentials = [{ kind = "password" }]\n'
    )
    deployment.write_config('[watcher]\naccount_state_interval = "1h"\naccount_state_jitter = 0\n')
    text = deployment.config.read_text().replace("[api]", f'audit_log = "{audited_bao.audit_log}"\n[api]', 1)
    deployment.config.write_text(text)
    config = load_config(deployment.config, env={})
    assert config.vault.audit_log == audited_bao.audit_log
    vault = VaultClient.from_settings(config.vault, env={})
    vault.kv_write(
        "accounts/brand-sbx/password",
        {"value": creds["password"], "identifier": creds["identifier"], "service": sandbox.url},
        cas=0,
    )
    app = running_app(config, vault)
    guard, sources = Guard(), TakeoverSources()
    await guard.start(app)
    await sources.start(app)
    try:
        assert sources.accounts is not None and sources.tailer is not None
        await wait_for(
            lambda: sources.accounts is not None and sources.accounts.status()["brand-sbx"]["snapshots"] == 1
        )
        await wait_for(lambda: sources.tailer is not None and sources.tailer.status()["offset"] is not None)
        # an insider reads credentials: each request and response entry reaches the guard
        tag = secrets.token_hex(4)
        with httpx.Client(base_url=audited_bao.addr, headers={"X-Vault-Token": audited_bao.root_token}) as c:
            for i in range(3):
                c.get(f"/v1/secret/data/{tag}/{i}")
        await wait_for(lambda: guard.takeover_events.get("vault", 0) >= 6)
        # the account's e-mail changes: one account event
        async with httpx.AsyncClient(base_url=sandbox.url) as c:
            login = await c.post(
                "/api/sessions", json={"handle": creds["identifier"], "password": creds["password"]}
            )
            await c.patch(
                "/api/profile",
                headers={"authorization": f"Bearer {login.json()['token']}"},
                json={"email": "new@example.net"},
            )
        events = await sources.accounts.snapshot("brand-sbx")
        assert [(e["field"], e["new"]) for e in events] == [("email", "new@example.net")]
        assert guard.takeover_events["account"] == 1
        assert guard.status()["takeover_events"]["account"] == 1
        status = sources.status()
        assert status["accounts"] == 1 and status["audit_log"]["entries"] >= 6
    finally:
        await sources.stop()
        await guard.stop()
        vault.close()
        app.store.close()


@pytest.mark.pds
async def test_a_streamed_handle_change_is_snapshotted_at_once_and_reported_once(
    deployment: Deployment, pds: Any
) -> None:
    # Neither polls nor scheduled snapshots come within the test: only the stream can tell.
    p = protected_app(deployment, pds, STREAM_ONLY)
    session, acct = p.session, p.acct
    guard, watcher, sources = Guard(), WatcherService(), TakeoverSources()
    async with p.running(guard, watcher, sources):
        assert watcher.push is not None and sources.accounts is not None
        accounts, push = sources.accounts, watcher.push
        stream = next(iter(push.bluesky.values()))
        await wait_for(lambda: accounts.status()["brand-bsky"]["snapshots"] == 1, timeout=30)
        await wait_for(lambda: stream.live, timeout=20)
        renamed = "x" + acct["handle"]
        r = xrpc(pds, "com.atproto.identity.updateHandle", session["accessJwt"], handle=renamed)
        assert r.status_code == 200
        await wait_for(lambda: guard.takeover_events.get("account", 0) >= 1, timeout=15)
        # every account event the stream sent for the rename has been snapshotted: still one
        await wait_for(lambda: push.changes >= 1 and not accounts.busy("brand-bsky"), timeout=15)
        st = accounts.status()["brand-bsky"]
        assert st["pokes"] >= 1 and st["events"] == 1, st
        assert guard.takeover_events["account"] == 1
        assert accounts.last("brand-bsky")["handle"] == renamed  # type: ignore[index]
    assert push.on_account is None
