"""Freeze and unfreeze end to end: real OpenBao, the sandbox platform over HTTP."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentinel.errors import SentinelError, VaultPermissionDenied
from sentinel.inventory import Account, Inventory, parse_inventory
from sentinel.metrics import FREEZES, counted
from sentinel.platforms import create_adapter
from sentinel.platforms.base import PlatformAdapter
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.response.containment import VaultContainment, freeze_policy_name
from sentinel.response.responder import Evidence, Responder, ResponderSettings
from sentinel.response.service import VaultAdapters
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import DevVault
from sentinel.watcher.account_state import AccountStateWatcher
from tests.conftest import new_mount, seed_sandbox
from tests.platforms.mockapi import MockApi, no_sleep
from tests.watcher.accounts import Sink


class Gate:
    """What the engine does at the gate, reduced to the set it keeps."""

    def __init__(self) -> None:
        self.blocked: set[str] = set()

    def block(self, account: str, reason: str) -> None:
        self.blocked.add(account)

    def unblock(self, account: str) -> None:
        self.blocked.discard(account)


def inventory(n: int = 3) -> Inventory:
    return parse_inventory(
        {
            "accounts": [
                {
                    "id": f"acct-{i}",
                    "platform": "sandbox",
                    "handle": f"h{i}",
                    "timezone": "UTC",
                    "publishing": "gated",
                    "owners": ["op-ann"],
                    "tags": ["brand"] if i < 2 else ["support"],
                }
                for i in range(n)
            ]
        }
    )


class World:
    def __init__(self, bao: DevVault, sandbox: SandboxServer, tmp: Path) -> None:
        self.settings, self.admin, self.daemon, _ = new_mount(bao, "r")
        self.inventory = inventory()
        self.sandbox = sandbox
        tag = secrets.token_hex(4)
        self.handles = {a.id: f"{a.handle}-{tag}" for a in self.inventory}
        self.passwords = seed_sandbox(sandbox.url, self.daemon, self.handles)
        # An operator whose role carries the freeze policy and may read credentials.
        self.admin.policy_write(
            f"{self.settings.policy_prefix}-role-social",
            f'path "{self.settings.kv_mount}/data/accounts/*" {{ capabilities = ["read"] }}',
        )
        self.admin.policy_write(
            freeze_policy_name(self.settings), 'path "x/none" { capabilities = ["deny"] }'
        )
        op_token, _ = self.admin.create_token(
            policies=[f"{self.settings.policy_prefix}-role-social", freeze_policy_name(self.settings)],
            ttl="1h",
        )
        self.operator = self.admin.with_token(op_token)
        self.store = Store(tmp / "state.sqlite3")
        self.rstore = ResponseStore(self.store)
        self.gate = Gate()

    def creds(self, account: Account) -> dict[str, str]:
        value = self.daemon.kv_read(f"accounts/{account.id}/password").data["value"]
        return {"identifier": self.handles[account.id], "password": value, "service": self.sandbox.url}

    async def adapter(self, account: Account) -> PlatformAdapter:
        return create_adapter("sandbox", account.id, self.creds(account))

    def responder(self, **kw: Any) -> Responder:
        return Responder(
            self.inventory,
            self.rstore,
            self.gate,
            VaultContainment(self.daemon, self.settings, self.rstore),
            self.adapter,
            settings=ResponderSettings(backoff=0.01, **kw),
        )

    def attacker_session(self, account: str) -> httpx.Client:
        """The attacker logs in with a stolen app password and keeps the session."""
        main = httpx.post(
            f"{self.sandbox.url}/api/sessions",
            json={"handle": self.handles[account], "password": self.passwords[account]},
        ).json()
        app = httpx.post(
            f"{self.sandbox.url}/api/app-passwords",
            json={"name": "attacker"},
            headers={"authorization": f"Bearer {main['token']}"},
        ).json()
        sess = httpx.post(
            f"{self.sandbox.url}/api/sessions",
            json={"handle": self.handles[account], "password": app["password"]},
        ).json()
        return httpx.Client(base_url=self.sandbox.url, headers={"authorization": f"Bearer {sess['token']}"})


@pytest.fixture
def world(bao: DevVault, sandbox: SandboxServer, tmp_path: Path) -> Iterator[World]:
    w = World(bao, sandbox, tmp_path)
    yield w
    w.store.close()


async def test_freeze_cuts_the_attacker_off_and_keeps_the_record(world: World) -> None:
    attacker = world.attacker_session("acct-0")
    assert attacker.post("/api/posts", json={"text": "free crypto"}).status_code in (200, 201)
    assert world.operator.kv_read("accounts/acct-0/password").data  # before: operators can read

    evidence = [Evidence("acct-0", "p-1", "free crypto https://evil.example", "2026-11-28T10:00:00Z")]
    frozen_before = counted(FREEZES, trigger="automatic")
    report = await world.responder().lock(
        ["acct-0"],
        "out-of-band post",
        "sentinel",
        automatic=True,
        evidence=evidence,
        findings=[{"rule": "out-of-band", "account": "acct-0"}],
    )

    assert "acct-0" in world.gate.blocked
    assert counted(FREEZES, trigger="automatic") == frozen_before + 1
    steps = {s.step: s.status for s in report.accounts[0].steps}
    assert steps == {
        "gate": "done",
        "vault": "done",
        "sessions": "done",
        "rotate": "todo",
        "lock": "done",
        "evidence": "skipped",
        "record": "done",
    }
    assert report.ok and not report.complete  # rotation is a to-do here: never reported complete
    assert report.accounts[0].settled
    # The attacker's open session and app password are dead, and the account is locked.
    assert attacker.post("/api/posts", json={"text": "again"}).status_code in (401, 423)
    attacker.close()
    # Vault denies the account's secrets to its operators, not to other accounts'.
    with pytest.raises(VaultPermissionDenied):
        world.operator.kv_read("accounts/acct-0/password")
    assert world.operator.kv_read("accounts/acct-1/password").data
    incident = world.rstore.incident(report.incident or 0)
    assert incident is not None
    kinds = [e["kind"] for e in incident["events"]]
    assert "finding" in kinds and "post" in kinds and kinds.count("action") >= 6
    post = next(e for e in incident["events"] if e["kind"] == "post")
    assert post["data"]["text"] == "free crypto https://evil.example"


async def test_lockdown_by_tag_and_retry_on_platform_errors(world: World) -> None:
    # The platform answers 503 twice for acct-1: the calls are retried and the step succeeds.
    httpx.post(
        f"{world.sandbox.url}/api/_faults",
        json={"handle": world.handles["acct-1"], "status": 503, "count": 2},
    )
    ids = [a.id for a in world.inventory.select(tags=["brand"])]
    report = await world.responder().lock(ids, "worm", "op-resp")
    assert world.gate.blocked == {"acct-0", "acct-1"}
    assert report.gate_seconds < report.total_seconds
    for rec in report.accounts:
        assert {s.step: s.status for s in rec.steps}["sessions"] == "done"
    assert world.sandbox.state.faults[world.handles["acct-1"]].count == 0  # both 503s were met and retried
    # A second lockdown of the same accounts changes nothing and says so.
    again = await world.responder().lock(ids, "worm", "op-resp")
    assert again.already_frozen == ids


async def test_failed_step_is_reported_and_resumed_after_restart(world: World) -> None:
    httpx.post(
        f"{world.sandbox.url}/api/_faults",
        json={"handle": world.handles["acct-2"], "status": 503, "count": 50},
    )
    report = await world.responder(attempts=2).lock(["acct-2"], "test", "op-resp")
    steps = {s.step: s for s in report.accounts[0].steps}
    # The HTTP client retried each platform call (4 tries); the step does not retry it again.
    assert steps["sessions"].status == "failed" and steps["sessions"].attempts == 1
    platform_steps = [s for s in steps.values() if s.status == "failed"]
    served = 50 - world.sandbox.state.faults[world.handles["acct-2"]].count
    assert served == 4 * len(platform_steps)
    assert not report.ok
    httpx.post(
        f"{world.sandbox.url}/api/_faults",
        json={"handle": world.handles["acct-2"], "status": 503, "count": 0},
    )
    # A new process (same store) resumes what is unfinished, and the gate is blocked again from the store.
    fresh_gate = Gate()
    world.gate = fresh_gate
    resumed = await world.responder().resume()
    assert fresh_gate.blocked == {"acct-2"}
    assert {s.step: s.status for s in resumed[0].steps}["sessions"] == "done"


async def test_unfreeze_rules(world: World) -> None:
    responder = world.responder()
    await responder.lock(["acct-1"], "suspicious", "op-bea")
    with pytest.raises(SentinelError, match="TOTP"):
        await responder.unfreeze("acct-1", "false alarm", "op-cat", verified_step_up=False)
    with pytest.raises(SentinelError, match="two-person rule"):
        await responder.unfreeze("acct-1", "false alarm", "op-bea", verified_step_up=True)
    rec = await responder.unfreeze("acct-1", "false alarm", "op-cat", verified_step_up=True)
    assert not rec.frozen and "acct-1" not in world.gate.blocked
    assert world.operator.kv_read("accounts/acct-1/password").data  # access restored
    with pytest.raises(SentinelError, match="not frozen"):
        await responder.unfreeze("acct-1", "again", "op-cat", verified_step_up=True)
    # Automatic freezes may be lifted by anyone allowed, including whoever is on call.
    await responder.lock(["acct-0"], "auto", "sentinel", automatic=True)
    await responder.unfreeze("acct-0", "checked", "sentinel", verified_step_up=True)
    assert world.rstore.frozen() == []
    incidents = world.rstore.incidents()
    assert incidents[0]["status"] == "resolved"


class CountingContainment(VaultContainment):
    """The real containment, counting its policy writes (and failing the first ``fail``)."""

    def __init__(self, *args: Any, fail: int = 0) -> None:
        super().__init__(*args)
        self.writes: list[list[str]] = []
        self.fail = fail

    def write_freeze_policy(self) -> list[str]:
        if self.fail:
            self.fail -= 1
            raise VaultPermissionDenied("Vault denied writing policy (test)")
        frozen = super().write_freeze_policy()
        self.writes.append(frozen)
        return frozen


def denied_in_policy(world: World) -> set[str]:
    hcl = world.admin.policy_read(freeze_policy_name(world.settings)) or ""
    m = world.settings.kv_mount
    return {a.id for a in world.inventory if f'"{m}/data/accounts/{a.id}/*"' in hcl}


async def test_a_lockdown_writes_the_freeze_policy_once_for_all_its_accounts(world: World) -> None:
    containment = CountingContainment(world.daemon, world.settings, world.rstore)
    responder = world.responder()
    responder.containment = containment
    ids = [a.id for a in world.inventory]
    report = await responder.lock(ids, "worm", "op-resp")
    assert [sorted(w) for w in containment.writes] == [ids]
    for rec in report.accounts:
        vault_step = {s.step: s for s in rec.steps}["vault"]
        assert vault_step.status == "done" and "(3 frozen)" in vault_step.detail
    assert denied_in_policy(world) == set(ids)
    with pytest.raises(VaultPermissionDenied):
        world.operator.kv_read("accounts/acct-1/password")


async def test_when_the_batch_policy_write_fails_each_account_writes_it_with_retries(world: World) -> None:
    containment = CountingContainment(world.daemon, world.settings, world.rstore, fail=2)
    responder = world.responder()
    responder.containment = containment
    report = await responder.lock(["acct-0", "acct-1"], "worm", "op-resp")
    steps = [{s.step: s for s in rec.steps}["vault"] for rec in report.accounts]
    assert all(s.status == "done" for s in steps)
    assert sorted(s.attempts for s in steps) == [1, 2]  # the batch write and one step's first try failed
    assert denied_in_policy(world) == {"acct-0", "acct-1"}


async def test_concurrent_lockdowns_never_write_a_stale_frozen_set(world: World) -> None:
    responder = world.responder()
    first, second = await asyncio.gather(
        responder.lock(["acct-0"], "worm", "op-resp"), responder.lock(["acct-1", "acct-2"], "worm", "op-b")
    )
    assert first.ok and second.ok
    assert denied_in_policy(world) == {"acct-0", "acct-1", "acct-2"}


async def test_vault_adapters_list_an_accounts_credentials_once_per_batch(world: World) -> None:
    listed: list[str] = []

    class CountingVault(VaultClient):
        async def akv_list(self, path: str = "") -> list[str]:
            listed.append(path)
            return await super().akv_list(path)

    vault = CountingVault(world.daemon.addr, world.daemon.token, kv_mount=world.settings.kv_mount)
    adapters = VaultAdapters(vault, {"base_url": world.sandbox.url})
    account = world.inventory["acct-0"]
    try:
        with adapters.batch():
            first = await adapters(account)
            world.daemon.kv_write("accounts/acct-0/password", {"value": "pw-changed-123"}, cas=1)
            second = await adapters(account)
        third = await adapters(account)
        assert first.credentials["password"] == world.passwords["acct-0"]
        assert second.credentials["password"] == "pw-changed-123"  # values are read every time
        assert third.credentials["password"] == "pw-changed-123"
        assert listed == ["accounts/acct-0/"] * 2  # once in the batch, once after it
    finally:
        await adapters.aclose()
        vault.close()


async def test_offending_posts_are_stored_first_and_deleted_by_account_and_rule(world: World) -> None:
    attacker = world.attacker_session("acct-0")
    scam = attacker.post("/api/posts", json={"text": "free crypto at evil.example"}).json()["id"]
    odd = attacker.post("/api/posts", json={"text": "good night"}).json()["id"]
    attacker.close()
    evidence = [
        Evidence("acct-0", scam, "free crypto at evil.example", rules=("content.giveaway-scam",)),
        Evidence("acct-0", odd, "good night", rules=("timing.odd-hour",)),
    ]
    # Every platform call fails: the freeze cannot finish, the evidence is in the incident anyway.
    httpx.post(
        f"{world.sandbox.url}/api/_faults",
        json={"handle": world.handles["acct-0"], "status": 500, "count": 99},
    )
    settings = {"attempts": 1, "delete_offending": True, "delete_offending_rules": ("content.*",)}
    report = await world.responder(**settings).lock(
        ["acct-0"], "scam", "sentinel", automatic=True, evidence=evidence
    )
    assert {s.step: s.status for s in report.accounts[0].steps}["evidence"] == "failed"
    stored = world.rstore.posts(report.incident or 0, "acct-0")
    assert [p["post_id"] for p in stored] == [scam, odd] and stored[0]["rules"] == ["content.giveaway-scam"]
    httpx.post(
        f"{world.sandbox.url}/api/_faults",
        json={"handle": world.handles["acct-0"], "status": 500, "count": 0},
    )
    # A new process resumes from the store alone (no evidence handed in): only the post a
    # deleting rule flagged is deleted; the other stays, as evidence and at the platform.
    resumed = await world.responder(**settings).resume()
    step = next(s for s in resumed[0].steps if s.step == "evidence")
    assert (step.status, step.detail) == ("done", "1 post(s) stored as evidence, then deleted; 1 kept")
    assert scam not in world.sandbox.state.posts and odd in world.sandbox.state.posts


def test_which_offending_posts_are_deleted() -> None:
    off = ResponderSettings()
    assert off.deletes("brand-x", ["content.scam"]) == "deletion is off"
    some = ResponderSettings(delete_offending=True, delete_offending_accounts=("brand-*",))
    assert some.deletes("brand-x", []) == ""
    assert some.deletes("support-x", []) == "deletion is off for this account"
    by_rule = ResponderSettings(
        delete_offending=True, delete_offending_rules=("content.*", "links.new-domain")
    )
    assert by_rule.deletes("any", ["timing.odd-hour", "links.new-domain"]) == ""
    assert by_rule.deletes("any", ["timing.odd-hour"]) == "no rule that deletes flagged it"


async def test_revoke_lists_for_a_person_what_appeared_since_the_known_good_snapshot(world: World) -> None:
    """Facebook has no API to remove a Page's people: the freeze names the one added since
    the last known-good account-state snapshot (documented Graph shapes, MockTransport)."""
    graph = "https://graph.facebook.com/v21.0"
    page = httpx.Response(200, json={"id": "1234", "name": "Brand", "username": "brand"})
    pia = {"id": "1", "name": "Pia", "tasks": ["MANAGE"]}
    intruder = {"id": "2", "name": "Intruder", "tasks": ["MANAGE"]}
    api = MockApi()
    api.on("GET", f"{graph}/1234", page)
    api.on(
        "GET",
        f"{graph}/1234/assigned_users",
        httpx.Response(200, json={"data": [pia]}),
        httpx.Response(200, json={"data": [pia, intruder]}),
    )
    creds = {"access_token": "page-token-123456", "page_id": "1234", "business_id": "99"}
    fb = create_adapter("facebook", "acct-0", creds, transport=api.transport, sleep=no_sleep)
    watcher = AccountStateWatcher(world.store, Sink())
    watcher.add("acct-0", fb)
    assert await watcher.snapshot("acct-0") == []
    assert [e["new"] for e in await watcher.snapshot("acct-0")] == ["MANAGE · Intruder"]

    async def the_page(account: Account) -> PlatformAdapter:
        return fb

    responder = Responder(
        world.inventory,
        world.rstore,
        world.gate,
        VaultContainment(world.daemon, world.settings, world.rstore),
        the_page,
        settings=ResponderSettings(backoff=0.01),
    )
    await responder.lock(["acct-0"], "a new Page admin", "op-lee")
    rec = world.rstore.get("acct-0")
    assert rec is not None
    sessions = {s.step: s for s in rec.steps}["sessions"]
    assert sessions.status == "todo"
    assert "remove delegate 'MANAGE · Intruder'" in sessions.detail
    assert "Meta Business Suite" in sessions.detail  # the platform's own manual step comes first
    assert "Pia" not in sessions.detail
    await fb.aclose()


async def test_unfreeze_leaves_the_operators_entity_to_an_administrator(world: World) -> None:
    name = f"op-raj-{secrets.token_hex(3)}"
    entity = world.admin.request("POST", "identity/entity", json={"name": name})["data"]["id"]
    responder = world.responder()
    await responder.lock(["acct-1"], "op-raj's laptop", "op-bea", operator=name)
    assert world.admin.entity_read(entity)["disabled"] is True
    rec = await responder.unfreeze("acct-1", "laptop wiped", "op-cat", verified_step_up=True)
    assert not rec.frozen and "acct-1" not in world.gate.blocked
    # Sentinel's token may not re-enable anyone: the entity stays disabled, and the record says who acts
    assert world.admin.entity_read(entity)["disabled"] is True
    events = world.rstore.incident(rec.incident)["events"] if rec.incident is not None else []
    notes = [n for e in events if e["data"].get("step") == "unfreeze" for n in e["data"]["notes"]]
    assert any(f"Vault entity {name!r} stays disabled: an administrator re-enables it" in n for n in notes)
