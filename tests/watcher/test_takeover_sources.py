"""The takeover sources as a daemon service: real OpenBao (with a file audit device), the
sandbox platform, the guard as the sink; on a real Bluesky PDS, the event stream starting a
snapshot; and the daemon's whole path from a mass credential read in the audit log to the
operator's disabled entity and the rotated credentials."""

from __future__ import annotations

import contextlib
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentinel.config import load_config
from sentinel.creds.service import RotationService
from sentinel.errors import SentinelError
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.post_guard import Guard
from sentinel.response.service import ResponseService
from sentinel.vault.audit_log import MAX_LINE
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import AUDIT_DEVICE, DevVault
from sentinel.watcher.service import WatcherService
from sentinel.watcher.takeover_sources import TakeoverSources
from tests.audited_deployment import audited_deployment
from tests.conftest import Deployment, running_app
from tests.engine import takeover_sim as sim
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
    text = deployment.config.read_text().replace(
        "[api]", f'audit_log = "{audited_bao.audit_log}"\naudit_device = "{AUDIT_DEVICE}"\n[api]', 1
    )
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


async def test_an_operator_reading_twenty_accounts_credentials_is_contained_and_they_are_rotated(
    audited_bao: DevVault, sandbox: SandboxServer, tmp_path: Path
) -> None:
    # A deployment on the OpenBao whose file audit log the daemon tails.
    accounts = [f"brand-{i:02d}" for i in range(20)]
    d = audited_deployment(audited_bao, tmp_path, "e", accounts, owners=["op-mal"])
    settings, admin = d.settings, d.admin
    config = load_config(d.config, env={})
    vault = VaultClient.from_settings(config.vault, env={})
    for a in accounts:
        creds = new_account(sandbox)
        vault.kv_write(f"accounts/{a}/password", {"value": creds["password"], **creds}, cas=0)
    # the operator: a person's login (userpass), allowed to read the accounts' credentials
    user, mount = f"op-mal-{secrets.token_hex(3)}", settings.kv_mount
    with contextlib.suppress(SentinelError):  # the session's server may have it enabled already
        admin.request("POST", "sys/auth/userpass", json={"type": "userpass"})
    admin.request(
        "PUT",
        f"sys/policies/acl/{user}",
        json={"policy": f'path "{mount}/data/accounts/*" {{ capabilities = ["read"] }}'},
    )
    admin.request("POST", f"auth/userpass/users/{user}", json={"password": "pw", "token_policies": user})
    login = httpx.post(f"{audited_bao.addr}/v1/auth/userpass/login/{user}", json={"password": "pw"}).json()
    operator, entity = login["auth"]["client_token"], login["auth"]["entity_id"]
    before = {a: vault.kv_metadata(f"accounts/{a}/password").current_version for a in accounts}

    app = running_app(config, vault)
    alerts: list[tuple[str, str]] = []
    app.alert = lambda **kw: alerts.append((kw["kind"], kw["summary"]))
    guard, sources = Guard(), TakeoverSources()
    services = [guard, RotationService(), ResponseService(), sources]
    try:
        for s in services:
            await s.start(app)
        # What the deployment learnt of this operator over three weeks: a couple of the
        # accounts' credentials read a day, never more.
        now = datetime.now(UTC)
        for day in range(21, 0, -1):
            when = now - timedelta(days=day)
            for a in accounts[day % 10 : day % 10 + 2]:
                for raw in sim.read(when, user, a, entity_id=entity, mount=mount):
                    guard.takeover(raw)
        assert sources.tailer is not None
        await wait_for(lambda: sources.tailer is not None and sources.tailer.status()["offset"] is not None)
        # the operator's token (phished, or the operator gone rogue) reads all twenty at once
        with httpx.Client(base_url=audited_bao.addr, headers={"X-Vault-Token": operator}) as c:
            for a in accounts:
                assert c.get(f"/v1/{mount}/data/accounts/{a}/password").status_code == 200
        await wait_for(lambda: admin.entity_read(entity)["disabled"] is True, timeout=30)
        responder = app.extras["responder"]
        await wait_for(lambda: sorted(responder.store.frozen()) == accounts, timeout=30)
        await wait_for(lambda: all(responder.store.get(a).settled for a in accounts), timeout=60)
        # each freeze names the operator, contained for the mass read
        assert all(user in responder.store.get(a).reason for a in accounts)
        contained = [summary for kind, summary in alerts if kind == "contain"]
        assert len(contained) == 1 and "vault.mass-read" in contained[0], alerts
        await wait_for(
            lambda: all(
                vault.kv_metadata(f"accounts/{a}/password").current_version > before[a] for a in accounts
            ),
            timeout=60,
        )
        assert (
            httpx.get(
                f"{audited_bao.addr}/v1/{mount}/data/accounts/brand-00/password",
                headers={"X-Vault-Token": operator},
            ).status_code
            == 403
        )
    finally:
        for s in reversed(services):
            await s.stop()
        vault.close()
        admin.close()
        app.store.close()


async def test_an_audit_log_that_cannot_be_read_raises_an_alert_until_it_is_read_again(
    deployment: Deployment, tmp_path: Path
) -> None:
    audit_log = tmp_path / "audit" / "audit.log"
    audit_log.parent.mkdir()
    audit_log.symlink_to(tmp_path / "elsewhere.log")
    text = deployment.config.read_text().replace("[api]", f'audit_log = "{audit_log}"\n[api]', 1)
    deployment.config.write_text(text)
    config = load_config(deployment.config, env={})
    vault = VaultClient.from_settings(config.vault, env={})
    app = running_app(config, vault)
    alerts: list[dict[str, Any]] = []
    app.alert = lambda **kw: alerts.append(kw)
    guard, sources = Guard(), TakeoverSources()
    await guard.start(app)
    await sources.start(app)
    try:
        await wait_for(lambda: [a for a in alerts if a["kind"] == "vault_audit_unreadable"])
        assert alerts[-1] == {
            "kind": "vault_audit_unreadable",
            "severity": "high",
            "summary": f"Vault's audit log is not being read, so credential reads go unjudged: {audit_log} "
            "cannot be read: is a symbolic link, not the audit file.",
            "dedup_key": "vault_audit_unreadable",
        }
        audit_log.unlink()
        audit_log.write_text("")
        await wait_for(lambda: alerts[-1].get("resolved"), what="the alert resolved")
        assert alerts[-1]["kind"] == "vault_audit_unreadable"
        assert [a["kind"] for a in alerts].count("vault_audit_unreadable") == 2
        with audit_log.open("ab") as f:  # an entry longer than any Vault writes
            f.write(b'{"type": "request", "padding": "' + b"A" * MAX_LINE + b'"}\n')
        await wait_for(lambda: alerts[-1]["kind"] == "vault_audit_oversized", what="the oversized alert")
        assert alerts[-1]["dedup_key"] == "vault_audit_oversized"
        assert "skipped unjudged" in alerts[-1]["summary"]
    finally:
        await sources.stop()
        await guard.stop()
        vault.close()
        app.store.close()
