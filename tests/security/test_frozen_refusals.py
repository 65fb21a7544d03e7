"""A frozen account is refused in-process by every route that acts on it, before any platform
call, whatever the caller's Vault policies still grant (issue #12, finding 2: defence in
depth). The tokens are real; their role policies do not carry the freeze policy here, so
only Sentinel's own check stands between them and the platform."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from sentinel.api.held import HeldStore
from sentinel.cli import main
from sentinel.errors import AccountFrozen
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.api.conftest import Harness, World
from tests.api.test_moderation import fan_reply, replies
from tests.creds.deploy import SandboxDeployment, sd_fixture  # noqa: F401


def error(resp: httpx.Response) -> dict[str, Any]:
    return dict(resp.json()["error"])


def frozen(resp: httpx.Response) -> bool:
    return resp.status_code == 423 and error(resp)["code"] == "account_frozen"


def posts(world: World, account: str) -> list[str]:
    return [str(p["id"]) for p in world.posts(account)]


async def test_every_route_that_acts_on_a_frozen_account_refuses(harness: Harness) -> None:
    c, world = harness.client, harness.world
    # before the freeze: a published post with a fan's reply, and a post held for approval
    post = await c.post("/v1/accounts/acct-a/posts", json={"text": "Hi all"}, headers=harness.auth("op-pub"))
    post_id = post.json()["post"]["post_id"]
    reply = fan_reply(world, post_id, "rude words")
    held = await c.post(
        "/v1/accounts/acct-a/posts", json={"text": "HOLDME"}, headers=harness.auth("op-editor")
    )
    held_id = held.json()["held"]["id"]
    before = posts(world, "acct-a")

    harness.engine.freeze("acct-a", time.time(), "responder lockdown")
    attempts = {
        "publish": c.post(
            "/v1/accounts/acct-a/posts", json={"text": "hello"}, headers=harness.auth("op-all")
        ),
        "reply": c.post(
            "/v1/accounts/acct-a/posts",
            json={"text": "thanks", "reply_to": post_id},
            headers=harness.auth("op-all"),
        ),
        "approve": c.post(f"/v1/held/{held_id}/approve", headers=harness.auth("op-approver")),
        "hide": c.post(f"/v1/accounts/acct-a/comments/{reply}/hide", headers=harness.auth("op-mod")),
        "delete comment": c.delete(f"/v1/accounts/acct-a/comments/{reply}", headers=harness.auth("op-mod")),
        "delete post": c.delete(f"/v1/accounts/acct-a/posts/{post_id}", headers=harness.auth("op-all")),
        "rotate": c.post("/v1/accounts/acct-a/rotate", json={"reason": "x"}, headers=harness.auth("op-all")),
    }
    for what, attempt in attempts.items():
        resp = await attempt
        assert frozen(resp), (what, resp.status_code, resp.text)
        assert error(resp)["account"] == "acct-a"
    # nothing reached the platform, nothing changed in the store
    assert posts(world, "acct-a") == before
    assert [r["hidden"] for r in replies(world, post_id)] == [False]
    got = HeldStore(harness.store).get(held_id)
    assert got is not None and got.status == "held"
    # the gate keeps judging (and blocking) a frozen account's posts
    check = await c.post("/v1/check", json={"account": "acct-a", "text": "x"}, headers=harness.auth("op-pub"))
    assert check.status_code == 200 and check.json()["verdict"] == "block" and check.json()["frozen"] is True

    # another account is untouched, and once unfrozen the held post can be approved
    other = await c.post(
        "/v1/accounts/acct-b/posts", json={"text": "hello b"}, headers=harness.auth("op-all")
    )
    assert other.status_code == 201
    harness.engine.unfreeze("acct-a")
    ok = await c.post(f"/v1/held/{held_id}/approve", headers=harness.auth("op-approver"))
    assert ok.status_code == 200 and ok.json()["status"] == "published"


def test_a_person_cannot_reveal_a_frozen_accounts_secret_from_the_cli(
    sd: SandboxDeployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reader's own policy still allows the read in Vault (it does not carry the freeze policy).
    monkeypatch.setenv("VAULT_TOKEN", sd.person("op-ann", sd.reader_policy(sd.a) + sd.reader_policy(sd.b)))
    with Store(sd.d.dir / "state" / "sentinel.sqlite3") as store:
        ResponseStore(store).mark_frozen([sd.a], ["gate"], "phished", "op-lee", automatic=False)
    reveal = ("creds", "show", "--credential", "password", "--reveal")
    assert main(sd.d.cli(*reveal[:2], sd.a, *reveal[2:])) == AccountFrozen.exit_code
    out, err = capsys.readouterr()
    assert "is frozen" in err and sd.first[f"{sd.a}/password"] not in out + err
    assert main(sd.d.cli("totp", "code", sd.a)) == AccountFrozen.exit_code
    assert "is frozen" in capsys.readouterr().err
    # the account that is not frozen is still served
    assert main(sd.d.cli(*reveal[:2], sd.b, *reveal[2:])) == 0
    assert sd.first[f"{sd.b}/password"] in capsys.readouterr().out
