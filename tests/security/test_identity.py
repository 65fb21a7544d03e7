"""One identity model: who acts is the caller's Vault identity, never a request field or a
display name (issue #12, finding 1). Each test performs the attack against real OpenBao."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from sentinel.api.app import create_app
from sentinel.api.protocols import ResponderBridge
from sentinel.api.wiring import build_deps as daemon_deps
from sentinel.config import load_config
from sentinel.daemon import App
from sentinel.errors import VaultError
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.post_guard import Guard
from sentinel.response import stepup
from sentinel.response.responder import Responder
from sentinel.response.service import ResponseService
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from sentinel.vault.client import VaultClient
from tests.api.conftest import Harness, World, build_deps
from tests.conftest import (
    Deployment,
    auth_accessor,
    person_entity,
    person_token,
    running_app,
    sandbox_inventory,
    seed_sandbox,
)

SCAM = "Send 1 BTC to bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh and get 2 back! https://claim-example.com"


def error(resp: httpx.Response) -> dict[str, Any]:
    return dict(resp.json()["error"])


# -- blast radius and containment act on authenticated identities only -----------------------------
@dataclass
class Daemon:
    app: App
    guard: Guard
    client: httpx.AsyncClient
    alerts: list[dict[str, Any]] = field(default_factory=list)

    async def settle(self) -> None:
        while self.guard._tasks:
            await asyncio.gather(*list(self.guard._tasks))


@pytest.fixture
async def daemon(deployment: Deployment, sandbox: SandboxServer) -> AsyncIterator[Daemon]:
    """The daemon's guard, responder and API in-process: lure-1/lure-2 are nobody's in the
    inventory, alice-1/alice-2 are alice-<tag>'s (a Vault entity of that name)."""
    tag = secrets.token_hex(3)
    owners = {
        "lure-1": "op-x",
        "lure-2": "op-x",
        "alice-1": f"alice-{tag}",
        "alice-2": f"alice-{tag}",
    }
    (deployment.dir / "inventory.toml").write_text(
        sandbox_inventory(
            {
                a: {"handle": f"{a}-{tag}", "owners": [o], "domains": ["example.com"]}
                for a, o in owners.items()
            }
        )
    )
    config = load_config(deployment.config, env={})
    vault = VaultClient.from_settings(config.vault, env={})
    seed_sandbox(sandbox.url, vault, {a: f"{a}-{tag}" for a in owners})
    app = running_app(config, vault)
    alerts: list[dict[str, Any]] = []
    app.alert = lambda **kw: alerts.append(kw)
    guard, responder = Guard(), ResponseService()
    await guard.start(app)
    await responder.start(app)
    deps = daemon_deps(app)
    transport = httpx.ASGITransport(app=create_app(deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield Daemon(app, guard, client, alerts)
    await responder.stop()
    await guard.stop()
    assert deps.aclose is not None
    await deps.aclose()
    vault.close()
    app.store.close()


def publisher(deployment: Deployment, name: str, *, assert_author: bool) -> str:
    """A token of the entity ``name``, whose own policy grants publish on two lure accounts."""
    lures = ("lure-1", "lure-2")
    lines = [f'path "sentinel/accounts/{a}/publish" {{ capabilities = ["update"] }}' for a in lures]
    if assert_author:
        lines.append('path "sentinel/global/assert_author" { capabilities = ["update"] }')
    policy = f"{deployment.settings.policy_prefix}-{name}"
    deployment.admin.policy_write(policy, "\n".join(lines))
    eid = person_entity(deployment.admin, name)
    deployment.admin.request("POST", f"identity/entity/id/{eid}", json={"policies": [policy]})
    token, _ = person_token(deployment.admin, name, [])
    return token


async def lure(d: Daemon, token: str, account: str, author: str) -> httpx.Response:
    body = {"account": account, "text": SCAM, "client": "SocialSuite", "author": author}
    return await d.client.post("/v1/check", json=body, headers={"Authorization": f"Bearer {token}"})


async def test_forged_author_does_not_contain_the_person_named(
    daemon: Daemon, deployment: Deployment
) -> None:
    alice = next(o for a in daemon.app.inventory if (o := a.owners[0]).startswith("alice-"))
    alice_id = person_entity(deployment.admin, alice)
    tag = secrets.token_hex(3)
    # Without assert_author, naming somebody else is refused before the post is even judged.
    mallory = publisher(deployment, f"mallory-{tag}", assert_author=False)
    refused = await lure(daemon, mallory, "lure-1", alice)
    assert refused.status_code == 403 and error(refused)["capability"] == "assert_author"
    assert daemon.guard.checked == {}
    # A tool that may assert authors sends lures "by" alice: the freezes and the blast radius
    # act on the tool's own identity; alice's accounts and her entity are left alone.
    tool = f"tool-{tag}"
    token = publisher(deployment, tool, assert_author=True)
    for account in ("lure-1", "lure-2"):
        resp = await lure(daemon, token, account, alice)
        assert resp.status_code == 200 and resp.json()["verdict"] == "block" and resp.json()["frozen"]
    await daemon.settle()
    rs = ResponseStore(daemon.app.store)
    assert rs.frozen() == ["lure-1", "lure-2"]  # what the tool reaches; none of alice's
    assert deployment.admin.entity_read(alice_id)["disabled"] is False
    # containment reached the authenticated sender (all it reaches was frozen by its lures
    # already): its entity is disabled, and the freezes name it for the unfreeze
    assert {r.operator for a in ("lure-1", "lure-2") if (r := rs.get(a)) is not None} == {tool}
    assert deployment.admin.entity_read(person_entity(deployment.admin, tool))["disabled"] is True
    with pytest.raises(VaultError):  # Vault itself now refuses every token of that entity
        deployment.admin.with_token(token).lookup_self()


# -- four eyes on held posts -------------------------------------------------------------------------
async def hold(harness: Harness, person: str, body: dict[str, Any]) -> httpx.Response:
    return await harness.client.post("/v1/accounts/acct-a/posts", json=body, headers=harness.auth(person))


async def test_self_approval_through_a_forged_author_is_refused(harness: Harness, world: World) -> None:
    c = harness.client
    # op-editor (approve + publish) names somebody else as the author, to approve it itself
    forged = await hold(harness, "op-editor", {"text": "HOLDME please", "author": "op-pub"})
    assert forged.status_code == 403 and error(forged)["capability"] == "assert_author"
    own = await hold(harness, "op-editor", {"text": "HOLDME please"})
    held_id = own.json()["held"]["id"]
    assert own.json()["held"]["author"] == "op-editor"
    # the same person through a second login (same entity, another token) is still the sender
    second, _ = person_token(world.admin, "op-editor", [world.policy("editor")])
    again = await c.post(f"/v1/held/{held_id}/approve", headers={"Authorization": f"Bearer {second}"})
    assert again.status_code == 403 and error(again)["code"] == "self_approval"
    # a tool with assert_author names an approver as the author: that approver may not approve
    by_tool = await hold(harness, "op-tool", {"text": "HOLDME too", "author": "op-approver"})
    tool_held = by_tool.json()["held"]
    assert tool_held["author"] == "op-approver" and tool_held["sent_by"] == "op-tool"
    named = await c.post(f"/v1/held/{tool_held['id']}/approve", headers=harness.auth("op-approver"))
    assert named.status_code == 403 and error(named)["code"] == "self_approval"
    # the legitimate path: another person approves, the post is published
    ok = await c.post(f"/v1/held/{held_id}/approve", headers=harness.auth("op-approver"))
    assert ok.status_code == 200 and ok.json()["status"] == "published"
    ok2 = await c.post(f"/v1/held/{tool_held['id']}/approve", headers=harness.auth("op-editor"))
    assert ok2.status_code == 200 and ok2.json()["decided_by"] == "op-editor"


async def test_an_author_named_in_another_case_is_still_the_author(harness: Harness) -> None:
    """Vault's identity store takes OP-EDITOR for op-editor; so does the four-eyes rule: a
    tool naming the author in another case does not let that author approve the post."""
    assert harness.world.admin.request("GET", "identity/entity/name/OP-EDITOR")["data"]["name"] == "op-editor"
    by_tool = await hold(harness, "op-tool", {"text": "HOLDME my own, in capitals", "author": "OP-Editor"})
    held = by_tool.json()["held"]
    mine = await harness.client.post(f"/v1/held/{held['id']}/approve", headers=harness.auth("op-editor"))
    assert mine.status_code == 403 and error(mine)["code"] == "self_approval"
    assert (await harness.client.get(f"/v1/held/{held['id']}", headers=harness.auth("op-editor"))).json()[
        "status"
    ] == "held"


# -- two-person unfreeze -----------------------------------------------------------------------------
def userpass_login(world: World, entity: str, policies: list[str]) -> str:
    """A second login of ``entity``: a userpass user aliased to the same entity."""
    mount = f"up-{secrets.token_hex(3)}"
    world.admin.request("POST", f"sys/auth/{mount}", json={"type": "userpass"})
    user, pw = "lee", secrets.token_hex(8)
    world.admin.request(
        "POST", f"auth/{mount}/users/{user}", json={"password": pw, "token_policies": policies}
    )
    world.admin.request(
        "POST",
        "identity/entity-alias",
        json={
            "name": user,
            "canonical_id": person_entity(world.admin, entity),
            "mount_accessor": auth_accessor(world.admin, mount),
        },
    )
    resp = httpx.post(f"{world.bao.addr}/v1/auth/{mount}/login/{user}", json={"password": pw})
    return str(resp.json()["auth"]["client_token"])


async def test_one_entity_with_two_logins_cannot_freeze_and_unfreeze(world: World, tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite3")
    responder = Responder(world.inventory, ResponseStore(store), _Gate(), None, None)
    bridge = ResponderBridge(responder, lambda: world.daemon)
    deps, *_ = build_deps(world, store, responder=lambda: bridge)
    lead = f"op-lead-{secrets.token_hex(3)}"
    policy = world.policy("everything")
    first, _ = person_token(world.admin, lead, [policy])
    second = userpass_login(world, lead, [policy])
    totp = pyotp.parse_uri(stepup.enroll(world.daemon, lead))
    other = pyotp.parse_uri(stepup.enroll(world.daemon, "op-all", replace=True))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(deps)), base_url="http://a"
    ) as c:
        locked = await c.post(
            "/v1/lockdown",
            json={"accounts": ["acct-c"], "reason": "suspicious"},
            headers={"Authorization": f"Bearer {first}"},
        )
        assert locked.status_code == 200, locked.text
        rec = ResponseStore(store).get("acct-c")
        assert rec is not None and rec.actor == lead and rec.actor_id.startswith("entity:")
        # the other login has another display name (userpass) but is the same person
        body = {"reason": "all clear", "totp": totp.now()}
        refused = await c.post(
            "/v1/accounts/acct-c/unfreeze", json=body, headers={"Authorization": f"Bearer {second}"}
        )
        assert refused.status_code == 409 and "two-person rule" in error(refused)["message"]
        assert ResponseStore(store).frozen() == ["acct-c"]
        ok = await c.post(
            "/v1/accounts/acct-c/unfreeze",
            json={"reason": "all clear", "totp": other.now()},
            headers=world.auth("op-all"),
        )
        assert ok.status_code == 200 and ResponseStore(store).frozen() == []
    await responder.aclose()
    store.close()


class _Gate:
    def block(self, account: str, reason: str) -> None:
        return None

    def unblock(self, account: str) -> None:
        return None


async def test_the_authors_address_is_an_assertion_like_the_author(
    daemon: Daemon, deployment: Deployment
) -> None:
    """``ip`` names somebody else's address: without ``assert_author`` a publisher could teach
    an account's address baseline, or borrow its owner's usual address for a lure."""
    tag = secrets.token_hex(3)
    body = {"account": "lure-1", "text": "Our spring catalogue is out", "ip": "198.51.100.7"}
    plain = publisher(deployment, f"pub-{tag}", assert_author=False)
    refused = await daemon.client.post("/v1/check", json=body, headers={"Authorization": f"Bearer {plain}"})
    assert refused.status_code == 403 and error(refused)["capability"] == "assert_author"
    assert daemon.guard.checked == {}
    tool = publisher(deployment, f"relay-{tag}", assert_author=True)
    relayed = await daemon.client.post("/v1/check", json=body, headers={"Authorization": f"Bearer {tool}"})
    assert relayed.status_code == 200
    assert sum(daemon.guard.checked.values()) == 1
