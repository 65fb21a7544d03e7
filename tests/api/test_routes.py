"""The API end to end in-process: real OpenBao decides, the real engine judges, the sandbox
platform publishes. Markers in the text (HOLDME, BLOCKME) drive the test rules."""

from __future__ import annotations

import pyotp

from sentinel.engine.events import parse_event
from sentinel.response.store import ResponseStore
from tests.api.conftest import Harness


def error(resp: object) -> dict[str, object]:
    body = resp.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    return body["error"]  # type: ignore[no-any-return]


# -- gate ------------------------------------------------------------------------------------------
async def test_check_allows_and_records_in_the_ledger(harness: Harness) -> None:
    resp = await harness.client.post(
        "/v1/check",
        json={"account": "acct-a", "text": "Spring sale starts today", "client": "planner", "post_id": "p-1"},
        headers=harness.auth("op-pub"),
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["verdict"] == "allow" and body["findings"] == [] and body["post_id"] == "p-1"
    assert harness.deps.ledger is not None
    assert harness.deps.ledger.match("acct-a", "x-1", "Spring sale starts today") == "text"


async def test_check_holds_and_blocks_with_findings(harness: Harness) -> None:
    hold = await harness.client.post(
        "/v1/check", json={"account": "acct-a", "text": "please HOLDME"}, headers=harness.auth("op-pub")
    )
    assert hold.json()["verdict"] == "hold"
    assert [f["rule"] for f in hold.json()["findings"]] == ["test.hold-marker"]
    held_id = hold.json()["held_id"]
    # the tool that asked may poll the held post (it holds publish on the account)
    got = await harness.client.get(f"/v1/held/{held_id}", headers=harness.auth("op-pub"))
    assert got.status_code == 200 and got.json()["status"] == "held" and got.json()["kind"] == "gate"
    block = await harness.client.post(
        "/v1/check", json={"account": "acct-a", "text": "BLOCKME now"}, headers=harness.auth("op-pub")
    )
    assert block.json()["verdict"] == "block"
    assert ("post.held", {"held_id": held_id, "account": "acct-a", "author": "op-pub", "kind": "gate"}) in (
        harness.events
    )


async def test_check_dry_run_decides_without_learning_holding_or_freezing(harness: Harness) -> None:
    c, who = harness.client, harness.auth("op-trial")  # publish and tune on acct-a
    before = harness.engine.snapshot_account("acct-a")
    held = await c.post(
        "/v1/check", json={"account": "acct-a", "text": "HOLDME", "dry_run": True}, headers=who
    )
    assert held.status_code == 200 and held.json()["verdict"] == "hold" and held.json()["dry_run"] is True
    assert "held_id" not in held.json() and harness.deps.held.list(None, "acct-a", 10) == []
    worm = {"account": "acct-a", "text": "BLOCKME <script>x</script>", "dry_run": True, "explain": True}
    block = (await c.post("/v1/check", json=worm, headers=who)).json()
    assert block["verdict"] == "block" and block["explain"]["dry_run"] is True
    fired = [r["rule"] for r in block["explain"]["rules"] if r["fired"]]
    assert fired == ["test.block-marker"] and block["explain"]["decided_by"].startswith(
        "score 9 >= block_score"
    )
    assert harness.engine.snapshot_account("acct-a") == before and harness.engine.frozen("acct-a") is None
    assert not harness.events and harness.deps.ledger is not None
    assert harness.deps.ledger.match("acct-a", "x-9", "HOLDME") is None
    # explain without dry_run: the real decision (held) with its explanation
    real = (
        await c.post("/v1/check", json={"account": "acct-a", "text": "HOLDME", "explain": True}, headers=who)
    ).json()
    assert real["verdict"] == "hold" and "held_id" in real and "dry_run" not in real
    assert [g["group"] for g in real["explain"]["combined"]["groups"]] == ["test.hold-marker"]
    bad = await c.post("/v1/check", json={"account": "acct-a", "text": "x", "dry_run": "yes"}, headers=who)
    assert bad.status_code == 400 and error(bad)["field"] == "dry_run"


async def test_check_shows_rules_on_trial_apart_and_they_never_change_the_verdict(harness: Harness) -> None:
    c, who = harness.client, harness.auth("op-pub")
    trial = (await c.post("/v1/check", json={"account": "acct-a", "text": "TRYME now"}, headers=who)).json()
    assert trial["verdict"] == "allow" and trial["findings"] == [] and "held_id" not in trial
    assert [f["rule"] for f in trial["observed"]] == ["test.observe-marker"] and trial["would"] == "block"
    both = {"account": "acct-a", "text": "HOLDME TRYME", "dry_run": True, "explain": True}
    held = (await c.post("/v1/check", json=both, headers=harness.auth("op-trial"))).json()
    assert held["verdict"] == "hold" and [f["rule"] for f in held["findings"]] == ["test.hold-marker"]
    assert [f["rule"] for f in held["observed"]] == ["test.observe-marker"] and held["would"] == "block"
    assert [f["rule"] for f in held["explain"]["observed"]] == ["test.observe-marker"]
    plain = (await c.post("/v1/check", json={"account": "acct-a", "text": "hello"}, headers=who)).json()
    assert "observed" not in plain and "would" not in plain


async def test_check_author_is_the_caller_unless_a_tool_with_assert_author_names_it(harness: Harness) -> None:
    post = {"account": "acct-a", "text": "HOLDME", "author": "op-alice"}
    refused = await harness.client.post("/v1/check", json=post, headers=harness.auth("op-pub"))
    assert refused.status_code == 403 and error(refused)["capability"] == "assert_author"
    own = await harness.client.post(
        "/v1/check", json={**post, "author": "op-pub"}, headers=harness.auth("op-pub")
    )
    held = harness.deps.held.get(own.json()["held_id"])
    assert held is not None and held.author == "op-pub" and held.caller_name == "op-pub"
    resp = await harness.client.post("/v1/check", json=post, headers=harness.auth("op-tool"))
    held = harness.deps.held.get(resp.json()["held_id"])
    assert held is not None and held.author == "op-alice"
    assert held.to_dict()["sent_by"] == "op-tool" and held.caller.startswith("entity:")


async def test_check_needs_publish_or_respond_for_replies(harness: Harness) -> None:
    post = {"account": "acct-a", "text": "thanks!"}
    denied = await harness.client.post("/v1/check", json=post, headers=harness.auth("op-rep"))
    assert denied.status_code == 403
    assert error(denied)["capability"] == "publish"
    reply = await harness.client.post(
        "/v1/check", json={**post, "reply_to": "x-9"}, headers=harness.auth("op-rep")
    )
    assert reply.status_code == 200 and reply.json()["verdict"] == "allow"
    # the publisher may not reply: respond is its own capability
    no_reply = await harness.client.post(
        "/v1/check", json={**post, "reply_to": "x-9"}, headers=harness.auth("op-pub")
    )
    assert error(no_reply)["capability"] == "respond"


async def test_check_validates_after_authenticating(harness: Harness) -> None:
    c = harness.client
    assert error(await c.post("/v1/check", content=b"{not json"))["code"] == "missing_token"
    bad = await c.post("/v1/check", content=b"{not json", headers=harness.auth("op-pub"))
    assert bad.status_code == 400 and error(bad)["code"] == "invalid_request"
    missing = await c.post("/v1/check", json={"account": "acct-a"}, headers=harness.auth("op-pub"))
    assert error(missing) == {
        "code": "invalid_request",
        "message": "field 'text' is required",
        "field": "text",
    }
    typed = await c.post("/v1/check", json={"account": "acct-a", "text": 5}, headers=harness.auth("op-pub"))
    assert error(typed)["field"] == "text"
    unknown = await c.post("/v1/check", json={"account": "nope", "text": "x"}, headers=harness.auth("op-pub"))
    assert unknown.status_code == 404 and error(unknown)["code"] == "not_found"


# -- broker ----------------------------------------------------------------------------------------
async def test_broker_publishes_with_the_vaulted_credential(harness: Harness) -> None:
    text = "Our new store opens on Friday"
    resp = await harness.client.post(
        "/v1/accounts/acct-a/posts", json={"text": text}, headers=harness.auth("op-pub")
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["status"] == "published" and body["decision"]["verdict"] == "allow"
    posts = harness.world.posts("acct-a")
    assert any(p["id"] == body["post"]["post_id"] and p["text"] == text for p in posts)
    assert harness.deps.ledger is not None
    assert harness.deps.ledger.match("acct-a", body["post"]["post_id"], text) == "post_id"
    # the credential never reaches the caller
    assert "pw-" not in resp.text


async def test_broker_blocks_and_publishes_nothing(harness: Harness) -> None:
    before = len(harness.world.posts("acct-b"))
    resp = await harness.client.post(
        "/v1/accounts/acct-b/posts", json={"text": "BLOCKME"}, headers=harness.auth("op-editor")
    )
    assert resp.status_code == 403
    err = error(resp)
    assert err["code"] == "post_blocked" and err["findings"][0]["rule"] == "test.block-marker"  # type: ignore[index]
    assert len(harness.world.posts("acct-b")) == before


async def test_account_a_token_cannot_touch_account_b(harness: Harness) -> None:
    c = harness.client
    resp = await c.post("/v1/accounts/acct-b/posts", json={"text": "hello"}, headers=harness.auth("op-pub"))
    assert resp.status_code == 403
    assert error(resp)["capability"] == "publish" and error(resp)["account"] == "acct-b"
    check = await c.post(
        "/v1/check", json={"account": "acct-b", "text": "hello"}, headers=harness.auth("op-pub")
    )
    assert check.status_code == 403
    status = await c.get("/v1/accounts/acct-b", headers=harness.auth("op-mod"))
    assert status.status_code == 403 and error(status)["capability"] == "analytics"
    delete = await c.delete("/v1/accounts/acct-b/posts/1", headers=harness.auth("op-mod"))
    assert delete.status_code == 403 and error(delete)["capability"] == "moderate"


async def test_moderator_cannot_publish_but_can_delete(harness: Harness) -> None:
    c = harness.client
    published = await c.post(
        "/v1/accounts/acct-a/posts", json={"text": "A post to moderate"}, headers=harness.auth("op-pub")
    )
    post_id = published.json()["post"]["post_id"]
    denied = await c.post("/v1/accounts/acct-a/posts", json={"text": "mine"}, headers=harness.auth("op-mod"))
    assert denied.status_code == 403 and error(denied)["capability"] == "publish"
    no_delete = await c.delete(f"/v1/accounts/acct-a/posts/{post_id}", headers=harness.auth("op-pub"))
    assert no_delete.status_code == 403 and error(no_delete)["capability"] == "moderate"
    deleted = await c.delete(f"/v1/accounts/acct-a/posts/{post_id}", headers=harness.auth("op-mod"))
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert all(p["id"] != post_id for p in harness.world.posts("acct-a"))


async def test_replies_need_respond_not_publish(harness: Harness) -> None:
    # (replies end to end, and platforms that cannot reply: tests/api/test_moderation.py)
    resp = await harness.client.post(
        "/v1/accounts/acct-a/posts", json={"text": "thanks", "reply_to": "7"}, headers=harness.auth("op-pub")
    )
    assert resp.status_code == 403 and error(resp)["capability"] == "respond"


# -- held posts ------------------------------------------------------------------------------------
async def test_held_post_is_published_when_another_person_approves(harness: Harness) -> None:
    c = harness.client
    resp = await c.post(
        "/v1/accounts/acct-b/posts", json={"text": "HOLDME launch"}, headers=harness.auth("op-editor")
    )
    assert resp.status_code == 202 and resp.json()["status"] == "held"
    held_id = resp.json()["held"]["id"]
    assert not any(p["text"] == "HOLDME launch" for p in harness.world.posts("acct-b"))
    listed = await c.get("/v1/held?status=held", headers=harness.auth("op-approver"))
    assert held_id in [h["id"] for h in listed.json()["held"]]
    for query in ("/v1/held?status=", "/v1/held?status=bogus", "/v1/incidents?status="):
        refused = await c.get(query, headers=harness.auth("op-approver"))
        assert refused.status_code == 400 and error(refused)["field"] == "status", query
    assert (await c.get("/v1/held", headers=harness.auth("op-pub"))).status_code == 403
    self_ok = await c.post(f"/v1/held/{held_id}/approve", headers=harness.auth("op-editor"))
    assert self_ok.status_code == 403 and error(self_ok)["code"] == "self_approval"
    no_cap = await c.post(f"/v1/held/{held_id}/approve", headers=harness.auth("op-pub"))
    assert error(no_cap)["capability"] == "approve"
    ok = await c.post(f"/v1/held/{held_id}/approve", headers=harness.auth("op-approver"))
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "published" and ok.json()["decided_by"] == "op-approver"
    assert any(p["id"] == ok.json()["post_id"] for p in harness.world.posts("acct-b"))
    again = await c.post(f"/v1/held/{held_id}/approve", headers=harness.auth("op-approver"))
    assert again.status_code == 409 and error(again)["code"] == "conflict"


async def test_approved_held_post_seen_on_the_platform_is_reconciled_not_out_of_band(
    harness: Harness,
) -> None:
    c = harness.client
    text = "HOLDME summer launch, see you there"
    resp = await c.post("/v1/accounts/acct-b/posts", json={"text": text}, headers=harness.auth("op-editor"))
    held = resp.json()["held"]
    ok = await c.post(f"/v1/held/{held['id']}/approve", headers=harness.auth("op-approver"))
    assert ok.status_code == 200, ok.text
    # The watcher's view of the published post, reconciled to the approval (by id or by text).
    seen = harness.engine.evaluate(
        parse_event(
            {
                "id": "obs:1",
                "ts": ok.json()["decided_at"],
                "account": "acct-b",
                "via": "observed",
                "text": text,
                "client": "sentinel-broker",
                "post_id": held["event"],
            }
        )
    )
    assert seen.verdict == "ok" and not seen.findings and harness.engine.frozen("acct-b") is None


async def test_held_post_rejected(harness: Harness) -> None:
    c = harness.client
    resp = await c.post("/v1/accounts/acct-a/posts", json={"text": "HOLDME"}, headers=harness.auth("op-pub"))
    held_id = resp.json()["held"]["id"]
    rej = await c.post(
        f"/v1/held/{held_id}/reject", json={"reason": "off brand"}, headers=harness.auth("op-approver")
    )
    assert (
        rej.status_code == 200 and rej.json()["status"] == "rejected" and rej.json()["reason"] == "off brand"
    )
    late = await c.post(f"/v1/held/{held_id}/approve", headers=harness.auth("op-approver"))
    assert late.status_code == 409
    assert (await c.get("/v1/held/held_nope", headers=harness.auth("op-approver"))).status_code == 404


# -- response --------------------------------------------------------------------------------------
async def test_lockdown_and_unfreeze_with_step_up(harness: Harness) -> None:
    c = harness.client
    body = {"tags": ["brand"], "reason": "suspicious logins"}
    denied = await c.post("/v1/lockdown", json=body, headers=harness.auth("op-unfreeze"))
    assert denied.status_code == 403 and error(denied)["capability"] == "lockdown"
    locked = await c.post("/v1/lockdown", json=body, headers=harness.auth("op-lock"))
    assert locked.status_code == 200 and locked.json()["accounts"] == ["acct-a", "acct-b"]
    assert harness.responder.calls[0] == ("lock", (["acct-a", "acct-b"], "suspicious logins", "op-lock"))
    # the responder who may lock down cannot unfreeze
    code = pyotp.TOTP(harness.responder.seed).now()
    no = await c.post(
        "/v1/accounts/acct-a/unfreeze", json={"reason": "ok", "totp": code}, headers=harness.auth("op-lock")
    )
    assert no.status_code == 403 and error(no)["capability"] == "unfreeze"
    wrong = await c.post(
        "/v1/accounts/acct-a/unfreeze",
        json={"reason": "ok", "totp": "000000" if code != "000000" else "111111"},
        headers=harness.auth("op-unfreeze"),
    )
    assert wrong.status_code == 403 and error(wrong)["code"] == "step_up_failed"
    ok = await c.post(
        "/v1/accounts/acct-a/unfreeze",
        json={"reason": "ok", "totp": code},
        headers=harness.auth("op-unfreeze"),
    )
    assert ok.status_code == 200 and "acct-a" not in harness.responder.frozen
    not_frozen = await c.post(
        "/v1/accounts/acct-c/unfreeze",
        json={"reason": "ok", "totp": code},
        headers=harness.auth("op-unfreeze"),
    )
    assert not_frozen.status_code == 409
    assert (
        "account.unfrozen",
        {"account": "acct-a", "reason": "ok", "actor": "op-unfreeze"},
    ) in harness.events


async def test_lockdown_selection_errors(harness: Harness) -> None:
    c = harness.client
    unknown = await c.post(
        "/v1/lockdown", json={"accounts": ["nope"], "reason": "x"}, headers=harness.auth("op-lock")
    )
    assert unknown.status_code == 404
    empty = await c.post("/v1/lockdown", json={"reason": "x"}, headers=harness.auth("op-lock"))
    assert empty.status_code == 400
    no_tag = await c.post(
        "/v1/lockdown", json={"tags": ["nope"], "reason": "x"}, headers=harness.auth("op-lock")
    )
    assert no_tag.status_code == 404
    assert harness.responder.calls == []


async def test_lockdown_by_operator_locks_their_reach_and_names_the_operator(harness: Harness) -> None:
    c = harness.client
    body = {"operator": "op-pub", "accounts": ["acct-c"], "reason": "op-pub's laptop is compromised"}
    assert (await c.post("/v1/lockdown", json=body, headers=harness.auth("op-pub"))).status_code == 403
    locked = await c.post("/v1/lockdown", json=body, headers=harness.auth("op-lock"))
    assert locked.status_code == 200, locked.text
    out = locked.json()
    # op-pub owns every account in the inventory (the Vault side is tested in tests/response).
    assert out["accounts"] == ["acct-a", "acct-b", "acct-c"]
    assert out["reach"]["operator"] == "op-pub"
    assert harness.responder.calls[-1] == (
        "lock",
        (["acct-a", "acct-b", "acct-c"], "op-pub's laptop is compromised", "op-lock", "op-pub"),
    )
    nobody = await c.post(
        "/v1/lockdown", json={"operator": "op-stranger", "reason": "x"}, headers=harness.auth("op-lock")
    )
    assert nobody.status_code == 404 and len(harness.responder.calls) == 1
    blank = await c.post(
        "/v1/lockdown", json={"operator": "", "reason": "x"}, headers=harness.auth("op-lock")
    )
    assert blank.status_code == 400


# -- views -----------------------------------------------------------------------------------------
async def test_accounts_listing_shows_only_analytics_accounts(harness: Harness) -> None:
    async def ids(person: str) -> list[str]:
        resp = await harness.client.get("/v1/accounts", headers=harness.auth(person))
        assert resp.status_code == 200
        return [a["id"] for a in resp.json()["accounts"]]

    assert await ids("op-analyst") == ["acct-a", "acct-b", "acct-c"]
    assert await ids("op-mod") == ["acct-a"]
    assert await ids("op-editor") == ["acct-a", "acct-b"]
    assert await ids("op-nobody") == []


async def test_accounts_listing_carries_each_state_and_the_callers_capabilities(harness: Harness) -> None:
    rs = ResponseStore(harness.store)
    rs.mark_frozen(["acct-a", "acct-b"], ["gate", "lock"], "worm", "op-lock", False, incident=4)
    rs.set_step("acct-b", "lock", "done")
    harness.deps.freezes = rs.frozen_records
    harness.engine.freeze("acct-c", 1_700_000_000.0, "engine only")  # the gate's memory counts too
    resp = await harness.client.get("/v1/accounts", headers=harness.auth("op-editor"))
    by_id = {a["id"]: a for a in resp.json()["accounts"]}
    assert list(by_id) == ["acct-a", "acct-b"]
    a, b = by_id["acct-a"]["status"], by_id["acct-b"]["status"]
    assert (a["state"], a["frozen"], a["frozen_by"], a["incident"], a["held"]) == (
        "frozen",
        True,
        "op-lock",
        4,
        0,
    )
    assert b["state"] == "locked" and b["freeze_reason"] == "worm"
    assert by_id["acct-a"]["capabilities"] == ["publish", "respond", "analytics", "approve"]
    analyst = await harness.client.get("/v1/accounts", headers=harness.auth("op-analyst"))
    c = next(x for x in analyst.json()["accounts"] if x["id"] == "acct-c")["status"]
    assert (c["state"], c["freeze_reason"], c["frozen_by"]) == ("frozen", "engine only", None)
    one = await harness.client.get("/v1/accounts/acct-b", headers=harness.auth("op-editor"))
    assert one.json()["status"] == b  # the list and the single account agree


async def test_account_status_lists_the_callers_capabilities(harness: Harness) -> None:
    harness.engine.freeze("acct-a", 1_700_000_000.0, "test freeze")
    resp = await harness.client.get("/v1/accounts/acct-a", headers=harness.auth("op-editor"))
    assert resp.status_code == 200
    body = resp.json()
    assert body["capabilities"] == ["publish", "respond", "analytics", "approve"]
    assert body["status"]["frozen"] is True and body["status"]["freeze_reason"] == "test freeze"
    blocked = await harness.client.post(
        "/v1/check", json={"account": "acct-a", "text": "hi"}, headers=harness.auth("op-pub")
    )
    assert blocked.json()["verdict"] == "block" and blocked.json()["frozen"] is True


async def test_unauthenticated_endpoints_and_json_errors(harness: Harness) -> None:
    c = harness.client
    assert (await c.get("/healthz")).json() == {"status": "ok"}
    ready = await c.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"vault": True, "rules": True}
    await c.post("/v1/check", json={"account": "acct-a", "text": "count me"}, headers=harness.auth("op-pub"))
    metrics = await c.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'sentinel_posts_checked_total{verdict="allow"}' in metrics.text
    assert 'sentinel_api_authz_decisions_total{capability="publish",result="allow"}' in metrics.text
    assert error(await c.get("/nope"))["code"] == "not_found"
    wrong = await c.put("/v1/check")
    assert wrong.status_code == 405 and error(wrong)["code"] == "method_not_allowed"
    assert (await c.get("/openapi.json")).json()["openapi"] == "3.1.0"


async def test_not_ready_without_vault(world: object, tmp_path: object) -> None:
    from pathlib import Path

    import httpx

    from sentinel.api.app import create_app
    from sentinel.store import Store
    from tests.api.conftest import World, build_deps

    assert isinstance(world, World) and isinstance(tmp_path, Path)
    store = Store(tmp_path / "s.sqlite3")
    deps, *_ = build_deps(world, store, readiness=lambda: {"vault": False, "rules": True})
    deps.authorizer._vault = lambda: None
    app = create_app(deps)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
        ready = await c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["ready"] is False
        resp = await c.get("/v1/accounts", headers=world.auth("op-analyst"))
        assert resp.status_code == 503 and error(resp)["code"] == "vault_unavailable"
    assert deps.aclose is not None
    await deps.aclose()
    store.close()
