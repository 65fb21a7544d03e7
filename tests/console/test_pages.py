"""The console's pages and forms through the ASGI app, against real OpenBao tokens."""

from __future__ import annotations

from collections import Counter

import pyotp

from sentinel import metrics
from tests.console.conftest import Desk, csrf_of


async def test_sign_in_with_a_token_sets_a_strict_httponly_cookie_without_the_token(desk: Desk) -> None:
    async with desk.client() as c:
        form = await c.get("/console/signin")
        assert form.status_code == 200
        assert "default-src 'none'" in form.headers["content-security-policy"]
        await desk.sign_in(c, "op-all")
        page = await c.get("/console/")
    cookie = next(h for h in page.request.headers.get_list("cookie"))
    assert desk.world.tokens["op-all"] not in cookie
    assert "op-all" in page.text  # the actor as Vault knows the token
    assert "Overview" in page.text


async def test_the_session_cookie_flags(desk: Desk) -> None:
    async with desk.client() as c:
        form = await c.get("/console/signin")
        nonce = form.text.split('name="nonce" value="')[1].split('"')[0]
        resp = await c.post("/console/signin", data={"nonce": nonce, "token": desk.world.tokens["op-all"]})
    set_cookie = [v for k, v in resp.headers.multi_items() if k == "set-cookie" and "sentinel_console=" in v]
    assert set_cookie, resp.headers
    flags = set_cookie[0].lower()
    assert "httponly" in flags and "samesite=strict" in flags and "path=/console" in flags
    assert "secure" not in flags  # plain HTTP here; over TLS the cookie is Secure
    assert desk.world.tokens["op-all"] not in set_cookie[0]


async def test_root_redirects_to_the_console_and_the_console_to_sign_in(desk: Desk) -> None:
    async with desk.client() as c:
        root = await c.get("/")
        assert root.status_code == 307 and root.headers["location"] == "/console/"
        page = await c.get("/console/")
        assert page.status_code == 303 and page.headers["location"] == "/console/signin"


async def test_overview_shows_held_posts_incidents_and_frozen_accounts(desk: Desk) -> None:
    held = await _hold(desk, "acct-b", "HOLDME spring launch")
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-all")
        resp = await c.post(
            "/console/lockdown", data={"csrf": csrf, "accounts": "acct-c", "reason": "phished manager"}
        )
        assert resp.status_code == 303
        page = await c.get("/console/")
    assert desk.responder.calls == [("lock", (["acct-c"], "phished manager", "op-all"))]
    assert 'id="frozen-count">1<' in page.text
    assert 'id="incident-count">1<' in page.text
    assert 'id="held-count">1<' in page.text
    assert "locked down acct-c" in page.text  # the outcome, shown once
    assert held  # the held post is listed in the queue
    async with desk.client() as c:
        await desk.sign_in(c, "op-approver")
        queue = await c.get("/console/held")
    assert held in queue.text and "HOLDME spring launch" in queue.text


async def _hold(desk: Desk, account: str, text: str) -> str:
    async with desk.client() as api:
        resp = await api.post(
            f"/v1/accounts/{account}/posts",
            json={"text": text},
            headers=desk.world.auth("op-editor"),
        )
    assert resp.status_code == 202, resp.text
    return str(resp.json()["held"]["id"])


async def test_a_second_person_approves_a_held_post_and_the_broker_publishes_it(desk: Desk) -> None:
    held = await _hold(desk, "acct-b", "HOLDME approved launch")
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-approver")
        resp = await c.post(f"/console/held/{held}/approve", data={"csrf": csrf})
        assert resp.status_code == 303
        page = await c.get("/console/held?status=published")
    assert f"approved held post {held}" in page.text
    assert "published by op-approver" in page.text
    assert any(p["text"] == "HOLDME approved launch" for p in desk.world.posts("acct-b"))


async def test_reject_records_the_reason(desk: Desk) -> None:
    held = await _hold(desk, "acct-a", "HOLDME not this one")
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-approver")
        await c.post(f"/console/held/{held}/reject", data={"csrf": csrf, "reason": "off-brand"})
    got = desk.deps.held.get(held)
    assert got is not None and got.status == "rejected" and got.reason == "off-brand"
    assert got.decided_by == "op-approver"


async def test_unfreeze_with_a_totp_code_by_another_responder(desk: Desk) -> None:
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-lock")
        await c.post("/console/lockdown", data={"csrf": csrf, "accounts": "acct-a", "reason": "r"})
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-all")
        respond = await c.get("/console/respond")
        assert 'id="frozen-acct-a"' in respond.text
        code = pyotp.TOTP(desk.responder.seed).now()
        resp = await c.post(
            "/console/accounts/acct-a/unfreeze", data={"csrf": csrf, "reason": "clean", "totp": code}
        )
        assert resp.status_code == 303
        page = await c.get("/console/respond")
    assert "unfroze acct-a" in page.text
    assert 'id="frozen-acct-a"' not in page.text
    assert desk.engine.frozen("acct-a") is None


async def test_lockdown_of_every_account_needs_the_confirmation(desk: Desk) -> None:
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-all")
        await c.post("/console/lockdown", data={"csrf": csrf, "all": "on", "reason": "worm"})
        page = await c.get("/console/respond")
        assert "needs the confirmation box ticked" in page.text
        assert desk.responder.calls == []
        await c.post("/console/lockdown", data={"csrf": csrf, "all": "on", "confirm": "on", "reason": "worm"})
    assert desk.responder.calls[0][0] == "lock"
    assert sorted(desk.responder.calls[0][1][0]) == ["acct-a", "acct-b", "acct-c"]


async def test_incident_page_defangs_evidence_and_takes_notes_assignment_and_closing(desk: Desk) -> None:
    number = desk.incidents.open_incident("Automatic freeze: worm", ["acct-a"], automatic=True)
    desk.incidents.add_event(
        number,
        "post",
        "sentinel",
        {"post_id": "p1", "text": "free coins at https://evil.example/claim"},
        "acct-a",
    )
    desk.incidents.add_event(
        number,
        "finding",
        "sentinel",
        {"rule": "links.new-domain", "severity": "high", "detail": "evil.example"},
        "acct-a",
    )
    desk.incidents.add_event(
        number,
        "action",
        "sentinel",
        {"step": "lock", "status": "manual", "detail": "lock it in the app"},
        "acct-a",
    )
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-lock")
        page = await c.get(f"/console/incidents/{number}")
        assert page.status_code == 200
        assert "hxxps://evil[.]example/claim" in page.text
        assert "https://evil.example" not in page.text
        assert "Steps left for a person" in page.text and "lock it in the app" in page.text
        await c.post(f"/console/incidents/{number}/note", data={"csrf": csrf, "text": "called the manager"})
        await c.post(f"/console/incidents/{number}/assign", data={"csrf": csrf, "assignee": "op-lee"})
        await c.post(f"/console/incidents/{number}/close", data={"csrf": csrf, "reason": "contained"})
        page = await c.get(f"/console/incidents/{number}")
    assert "called the manager" in page.text
    assert 'id="assignee">op-lee<' in page.text
    data = desk.incidents.incident(number)
    assert data is not None and data["status"] == "resolved"
    assert [e["actor"] for e in data["events"] if e["kind"] in ("note", "assign")] == ["op-lock", "op-lock"]


async def test_accounts_page_shows_state_and_capabilities_from_one_api_call(desk: Desk) -> None:
    desk.engine.freeze("acct-b", 0.0, "test")
    desk.incidents.mark_frozen(["acct-c"], ["gate", "lock"], "worm", "sentinel", True, done=["gate", "lock"])
    async with desk.client() as c:
        await desk.sign_in(c, "op-analyst")
        before = _api_calls(desk)
        page = await c.get("/console/accounts")
        calls = _api_calls(desk) - before
    row = {
        a: page.text.split(f'id="account-{a}"')[1].split("</tr>")[0] for a in ("acct-a", "acct-b", "acct-c")
    }
    assert ">frozen<" in row["acct-b"] and ">ok<" in row["acct-a"] and ">locked<" in row["acct-c"]
    assert "analytics" in row["acct-a"]
    assert calls == {"accounts": 1}  # one list call, not one per account


def _api_calls(desk: Desk) -> Counter[str]:
    """API requests served so far, by route (the API's own request counter)."""
    return Counter({r: int(metrics.counted(metrics.API_REQUESTS, route=r)) for r in ("accounts", "account")})


async def test_signing_out_ends_the_session(desk: Desk) -> None:
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-all")
        cookie = c.cookies.get("sentinel_console")
        await c.post("/console/signout", data={"csrf": csrf})
    async with desk.client() as c:
        c.cookies.set("sentinel_console", cookie or "")
        page = await c.get("/console/")
    assert page.status_code == 303 and page.headers["location"] == "/console/signin"
    assert await csrf_of_or_none(desk) is None


async def csrf_of_or_none(desk: Desk) -> str | None:
    async with desk.client() as c:
        resp = await c.get("/console/")
        return None if resp.status_code != 200 else await csrf_of(c)
