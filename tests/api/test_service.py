"""The API as a daemon service (uvicorn in the daemon's loop, behind the real guard), and the
bridge to the real responder with the TOTP step-up kept in Vault."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from sentinel.api.protocols import ResponderBridge, StepUpFailed
from sentinel.api.service import ApiService
from sentinel.api.wiring import build_deps
from sentinel.config import ApiSettings, Config, GeneralSettings
from sentinel.daemon import App
from sentinel.metrics import FROZEN_ACCOUNTS
from sentinel.post_guard import Guard
from sentinel.response import stepup
from sentinel.response.responder import Responder
from sentinel.response.store import ResponseStore
from sentinel.sdnotify import Notifier
from sentinel.store import Store
from sentinel.watcher.ledger import PublishedLedger
from tests.api.conftest import RULES, World


def make_app(world: World, tmp_path: Path, **api: Any) -> App:
    config = Config(
        sentinel=GeneralSettings(state_dir=tmp_path, rules_dirs=(RULES,), shipped_rules=False),
        vault=world.settings,
        api=ApiSettings(port=0, acl_prefix=world.acl_prefix, capability_cache=1.0, **api),
    )
    return App(
        config=config,
        inventory=world.inventory,
        store=Store(config.sentinel.database),
        notifier=Notifier({}),
        vault=world.daemon,
        vault_ok=True,
    )


async def test_service_serves_the_gate_through_the_guard(world: World, tmp_path: Path) -> None:
    app = make_app(world, tmp_path)
    guard, api = Guard(), ApiService()
    await guard.start(app)
    guard.ledger = PublishedLedger(app.store)  # as the watcher service shares it
    await api.start(app)
    try:
        assert api.handle is not None
        url = api.handle.url
        async with httpx.AsyncClient(base_url=url) as c:
            assert (await c.get("/healthz")).json() == {"status": "ok"}
            ready = await c.get("/readyz")
            assert ready.status_code == 200 and ready.json()["checks"] == {
                "vault": True,
                "rules": True,
                "store": True,
            }
            resp = await c.post(
                "/v1/check", json={"account": "acct-a", "text": "BLOCKME"}, headers=world.auth("op-pub")
            )
            assert resp.status_code == 200 and resp.json()["verdict"] == "block"
            assert (await c.post("/v1/check", json={"account": "acct-a", "text": "x"})).status_code == 401
            ok = await c.post(
                "/v1/check",
                json={"account": "acct-b", "text": "Hello from the gate"},
                headers=world.auth("op-editor"),
            )
            assert ok.json()["verdict"] == "allow"
            # the guard expects the approved post on the platform: the watcher will reconcile it
            assert guard.ledger.match("acct-b", "999", "Hello from the gate") == "text"
            scrape = await c.get("/metrics")
            assert scrape.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
            assert (
                "\nsentinel_frozen_accounts 0.0\n" in scrape.text
                and "\nsentinel_vault_up 1.0\n" in scrape.text
            )
            assert '\nsentinel_posts_checked_total{verdict="block"} ' in scrape.text

            def unreadable() -> int:
                raise OSError("disk I/O error")

            app.metrics.read(FROZEN_ACCOUNTS, unreadable)  # a store that cannot be read any more
            scrape = await c.get("/metrics")
            assert scrape.status_code == 200 and "\nsentinel_vault_up 1.0\n" in scrape.text
            assert "sentinel_frozen_accounts " not in scrape.text
            assert '\nsentinel_metrics_read_errors_total{metric="sentinel_frozen_accounts"} ' in scrape.text
        assert guard.checked.get("block") == 1
        assert api.status()["url"] == url
    finally:
        await api.stop()
        await guard.stop()
        app.store.close()
    assert api.handle is None


async def test_without_a_guard_the_api_builds_its_engine(world: World, tmp_path: Path) -> None:
    app = make_app(world, tmp_path)
    api = ApiService()
    await api.start(app)
    try:
        assert app.extras["engine_owner"] == "api" and len(app.extras["engine"].rules) == 3
        deps = build_deps(app)
        gate = deps.gate()
        assert gate is not None and gate.frozen("acct-a") is None
        await api.reload(app)
    finally:
        await api.stop()
        app.store.close()


async def test_failed_authentications_count_per_address_the_trusted_proxy_names(
    world: World, tmp_path: Path
) -> None:
    app = make_app(world, tmp_path, failed_auth_burst=2, trusted_proxies=("127.0.0.1",))
    api = ApiService()
    await api.start(app)
    try:
        assert api.handle is not None
        url = api.handle.url

        async def statuses(forwarded_for: str, n: int) -> list[int]:
            headers = {"Authorization": "Bearer s.junk-token-000", "X-Forwarded-For": forwarded_for}
            async with httpx.AsyncClient(base_url=url, headers=headers) as c:
                return [(await c.get("/v1/whoami")).status_code for _ in range(n)]

        assert await statuses("198.51.100.1", 3) == [401, 401, 429]
        assert await statuses("198.51.100.2", 2) == [401, 401]  # another client behind the proxy
        # a reload applies new limits (0 = off)
        app.config = dataclasses.replace(
            app.config, api=dataclasses.replace(app.config.api, failed_auth_burst=0)
        )
        await api.reload(app)
        assert await statuses("198.51.100.1", 3) == [401, 401, 401]
    finally:
        await api.stop()
        app.store.close()


async def test_an_acknowledgement_made_through_the_api_applies_at_once(world: World, tmp_path: Path) -> None:
    """With the guard (which also follows the store by itself) or the API's own engine."""
    for with_guard in (True, False):
        app = make_app(world, tmp_path / str(with_guard))
        guard, api = Guard(), ApiService()
        if with_guard:
            await guard.start(app)
        await api.start(app)
        try:
            assert api.handle is not None
            # a tuner acknowledges the rule for the planner a colleague posts with (never for
            # their own posts)
            tuner, colleague = world.auth("op-all"), world.auth("op-trial")
            post = {"account": "acct-a", "text": "HOLDME", "client": "planner", "dry_run": True}
            async with httpx.AsyncClient(base_url=api.handle.url) as c:
                assert (await c.post("/v1/check", json=post, headers=colleague)).json()["verdict"] == "hold"
                ack = {"rule": "test.hold-marker", "account": "acct-a", "key": "Planner", "days": 1}
                made = await c.post(
                    "/v1/rules/acks", json={**ack, "reason": "the planner's test posts"}, headers=tuner
                )
                assert made.status_code == 201, made.text
                assert (await c.post("/v1/check", json=post, headers=colleague)).json()["verdict"] == "allow"
                assert (await c.post("/v1/check", json=post, headers=tuner)).json()["verdict"] == "hold"
                assert (
                    await c.delete(f"/v1/rules/acks/{made.json()['id']}", headers=tuner)
                ).status_code == 200
                assert (await c.post("/v1/check", json=post, headers=colleague)).json()["verdict"] == "hold"
        finally:
            await api.stop()
            if with_guard:
                await guard.stop()
            app.store.close()


class GateStub:
    def __init__(self) -> None:
        self.blocked: set[str] = set()

    def block(self, account: str, reason: str) -> None:
        self.blocked.add(account)

    def unblock(self, account: str) -> None:
        self.blocked.discard(account)


async def test_bridge_to_the_real_responder_checks_the_totp_in_vault(world: World, tmp_path: Path) -> None:
    store = Store(tmp_path / "r.sqlite3")
    gate = GateStub()
    responder = Responder(world.inventory, ResponseStore(store), gate, None, None)
    bridge = ResponderBridge(responder, lambda: world.daemon)
    report = await bridge.lock(["acct-c"], "test lockdown", "op-lock")
    assert report["accounts"][0]["account"] == "acct-c" and gate.blocked == {"acct-c"}
    uri = stepup.enroll(world.daemon, "op-unfreeze", replace=True)
    totp = pyotp.parse_uri(uri)
    with pytest.raises(StepUpFailed):
        await bridge.unfreeze("acct-c", "all clear", "op-unfreeze", "12345x")
    record = await bridge.unfreeze("acct-c", "all clear", "op-unfreeze", totp.now())
    assert record["frozen"] is False and gate.blocked == set()
    with pytest.raises(StepUpFailed):  # the same code twice: refused before the responder is asked
        await bridge.unfreeze("acct-c", "again", "op-unfreeze", totp.now())
    store.close()
