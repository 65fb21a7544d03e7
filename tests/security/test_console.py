"""Attacks on the console, against real OpenBao: every refusal leaves nothing changed.

The console acts only through the API with the signed-in person's own Vault token, so
what a person cannot do through the API they cannot do here either; on top, a form needs a
session and its CSRF token, and comes from the console's own origin.
"""

from __future__ import annotations

import secrets
from contextlib import ExitStack
from pathlib import Path

import httpx
from starlette.routing import Mount

from sentinel.config import ApiSettings
from sentinel.console.live import MAX_STREAMS
from sentinel.console.sessions import SessionStore
from tests.api.conftest import World
from tests.api.served import ServedApi
from tests.console.conftest import NONCE, Desk, csrf_of, desk, world

__all__ = ["desk", "world"]


async def _hold(desk: Desk, account: str, text: str, person: str = "op-editor") -> str:
    async with desk.client() as api:
        resp = await api.post(
            f"/v1/accounts/{account}/posts", json={"text": text}, headers=desk.world.auth(person)
        )
    assert resp.status_code == 202, resp.text
    return str(resp.json()["held"]["id"])


async def test_no_session_no_action(desk: Desk) -> None:
    held = await _hold(desk, "acct-a", "HOLDME anonymous approve")
    async with desk.client() as c:
        for path, data in (
            ("/console/lockdown", {"accounts": "acct-a", "reason": "x", "all": "on", "confirm": "on"}),
            (f"/console/held/{held}/approve", {}),
            ("/console/accounts/acct-a/unfreeze", {"reason": "x", "totp": "000000"}),
        ):
            resp = await c.post(path, data={"csrf": "x", **data})
            assert resp.status_code == 401, path
        assert (await c.get("/console/events")).status_code == 303
    assert desk.responder.calls == []
    got = desk.deps.held.get(held)
    assert got is not None and got.status == "held"


async def test_a_forged_session_cookie_is_no_session(desk: Desk) -> None:
    async with desk.client() as c:
        c.cookies.set("sentinel_console", secrets.token_urlsafe(32))
        resp = await c.post("/console/lockdown", data={"csrf": "x", "accounts": "acct-a", "reason": "x"})
    assert resp.status_code == 401
    assert desk.responder.calls == []


async def test_a_vault_token_in_place_of_the_cookie_is_no_session(desk: Desk) -> None:
    async with desk.client() as c:
        c.cookies.set("sentinel_console", desk.world.tokens["op-all"])
        resp = await c.post("/console/lockdown", data={"csrf": "x", "accounts": "acct-a", "reason": "x"})
    assert resp.status_code == 401
    assert desk.responder.calls == []


async def test_wrong_or_missing_csrf_token_is_refused(desk: Desk) -> None:
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-all")
        for data in ({"csrf": csrf[:-1] + "x"}, {}, {"csrf": ""}):
            resp = await c.post("/console/lockdown", data={**data, "accounts": "acct-a", "reason": "x"})
            assert resp.status_code == 403
            assert "CSRF" in resp.text
    assert desk.responder.calls == []


async def test_another_sessions_csrf_token_is_refused(desk: Desk) -> None:
    async with desk.client() as other:
        theirs = await desk.sign_in(other, "op-analyst")
    async with desk.client() as c:
        await desk.sign_in(c, "op-all")
        resp = await c.post("/console/lockdown", data={"csrf": theirs, "accounts": "acct-a", "reason": "x"})
    assert resp.status_code == 403
    assert desk.responder.calls == []


async def test_a_form_posted_from_another_site_is_refused(desk: Desk) -> None:
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-all")
        resp = await c.post(
            "/console/lockdown",
            data={"csrf": csrf, "accounts": "acct-a", "reason": "x"},
            headers={"Origin": "https://evil.example"},
        )
    assert resp.status_code == 403
    assert desk.responder.calls == []


async def test_sign_in_form_needs_its_own_nonce(desk: Desk) -> None:
    """Login CSRF: a page elsewhere cannot sign the victim into the attacker's session."""
    async with desk.client() as c:
        resp = await c.post(
            "/console/signin", data={"nonce": "forged", "token": desk.world.tokens["op-nobody"]}
        )
        assert resp.status_code == 403
        assert "sentinel_console" not in c.cookies


async def test_sign_in_with_a_token_vault_does_not_know_is_refused(desk: Desk) -> None:
    async with desk.client() as c:
        form = await c.get("/console/signin")
        nonce = form.text.split('name="nonce" value="')[1].split('"')[0]
        resp = await c.post("/console/signin", data={"nonce": nonce, "token": "s.not-a-real-token"})
        assert resp.status_code == 401
        assert "Vault does not accept this token" in resp.text
        assert "sentinel_console" not in c.cookies


async def test_an_operator_without_the_capability_is_refused_by_vault(desk: Desk) -> None:
    held = await _hold(desk, "acct-a", "HOLDME analyst approve")
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-analyst")
        await c.post("/console/lockdown", data={"csrf": csrf, "accounts": "acct-a", "reason": "x"})
        page = await c.get("/console/respond")
        assert "lacks the &#39;lockdown&#39; capability" in page.text
        await c.post(f"/console/held/{held}/approve", data={"csrf": csrf})
        page = await c.get("/console/held")
        assert "lacks the &#39;approve&#39; capability" in page.text
    assert desk.responder.calls == []
    got = desk.deps.held.get(held)
    assert got is not None and got.status == "held"


def _still_held(desk: Desk, held: str, account: str, text: str) -> None:
    got = desk.deps.held.get(held)
    assert got is not None and got.status == "held"
    assert not any(p["text"] == text for p in desk.world.posts(account))


async def test_the_author_cannot_approve_their_own_held_post(desk: Desk) -> None:
    held = await _hold(desk, "acct-b", "HOLDME my own post", person="op-editor")
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-editor")  # holds 'approve' too
        await c.post(f"/console/held/{held}/approve", data={"csrf": csrf})
        page = await c.get("/console/held")
    assert "cannot approve it" in page.text
    _still_held(desk, held, "acct-b", "HOLDME my own post")


async def test_a_held_post_of_a_frozen_account_is_not_published(desk: Desk) -> None:
    held = await _hold(desk, "acct-a", "HOLDME posted before the freeze")
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-all")
        await c.post("/console/lockdown", data={"csrf": csrf, "accounts": "acct-a", "reason": "hijack"})
        await c.post(f"/console/held/{held}/approve", data={"csrf": csrf})
        page = await c.get("/console/held")
    assert "account &#39;acct-a&#39; is frozen" in page.text
    _still_held(desk, held, "acct-a", "HOLDME posted before the freeze")


async def test_unfreeze_needs_a_valid_totp_code(desk: Desk) -> None:
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-all")
        await c.post("/console/lockdown", data={"csrf": csrf, "accounts": "acct-c", "reason": "x"})
        await c.post("/console/accounts/acct-c/unfreeze", data={"csrf": csrf, "reason": "r", "totp": "123"})
        page = await c.get("/console/respond")
    assert "TOTP code is wrong" in page.text
    assert desk.engine.frozen("acct-c") is not None


async def test_a_revoked_token_ends_the_session(desk: Desk) -> None:
    token = desk.world.person("op-revoked", [desk.world.policy("everything")])
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-revoked")
        desk.world.admin.revoke_accessor(desk.world.accessors["op-revoked"])
        desk.deps.authorizer.clear()
        resp = await c.post("/console/lockdown", data={"csrf": csrf, "accounts": "acct-a", "reason": "x"})
        assert resp.status_code == 401
        assert (await c.get("/console/")).headers["location"] == "/console/signin"
    assert desk.responder.calls == []
    assert token not in resp.text


async def test_refusal_pages_never_show_the_token(desk: Desk) -> None:
    async with desk.client() as c:
        await desk.sign_in(c, "op-all")
        resp = await c.post("/console/lockdown", data={"csrf": "bad", "reason": "x"})
        page = await c.get("/console/")
        stream_cookie = c.cookies.get("sentinel_console")
    assert resp.status_code == 403
    for text in (resp.text, page.text, stream_cookie or ""):
        assert desk.world.tokens["op-all"] not in text


def _sessions(desk: Desk) -> SessionStore:
    mount = next(r for r in desk.app.routes if isinstance(r, Mount) and r.path == "/console")
    sessions: SessionStore = mount.app.state.console.sessions
    return sessions


async def test_signing_in_over_and_over_does_not_push_others_out(desk: Desk) -> None:
    """A token with no Sentinel capability at all, signed in again and again until the
    store is full, ends only its own oldest sessions; the responder stays signed in."""
    sessions = _sessions(desk)
    sessions.max_sessions = 24  # a full store, reached quickly
    async with desk.client() as responder:
        csrf = await desk.sign_in(responder, "op-all")
        for _ in range(sessions.max_sessions + 2):
            async with desk.client() as attacker:
                await desk.sign_in(attacker, "op-nobody")
        assert await csrf_of(responder) == csrf  # the same session, still signed in
    assert len(sessions) < sessions.max_sessions


async def test_a_link_cannot_put_its_words_on_the_sign_in_page(desk: Desk) -> None:
    """A phishing link to the real console must not show the attacker's instructions there."""
    lure = "Vault moved: paste your token at https://vault-sso.example/console"
    async with desk.client() as c:
        page = await c.get("/console/signin", params={"error": lure})
    assert page.status_code == 200
    assert "vault-sso.example" not in page.text and "Vault moved" not in page.text


XSS = '"><img src=x onerror=alert(1)><script>alert(2)</script>'


async def test_attacker_text_is_shown_as_text_on_every_page(desk: Desk) -> None:
    """A publisher's held post, a hijacker's post kept as evidence (text and post id from the
    platform), a lockdown reason and a note: each reaches the pages escaped, never as markup."""
    await _hold(desk, "acct-a", f"HOLDME {XSS}")
    async with desk.client() as c:
        csrf = await desk.sign_in(c, "op-all")
        resp = await c.post(
            "/console/lockdown", data={"csrf": csrf, "accounts": "acct-b", "reason": f"phished {XSS}"}
        )
        assert resp.status_code == 303
        number = desk.incidents.incidents()[0]["id"]
        desk.incidents.add_event(number, "post", "sentinel", {"post_id": XSS, "text": XSS}, "acct-b")
        resp = await c.post(f"/console/incidents/{number}/note", data={"csrf": csrf, "text": XSS})
        assert resp.status_code == 303
        pages = [
            await c.get(p)
            for p in ("/console/", "/console/held", "/console/incidents", f"/console/incidents/{number}")
        ]
    for page in pages:
        assert page.status_code == 200
        assert "<img src=x" not in page.text and "<script>alert" not in page.text, page.url
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[1].text  # shown, as text
    assert pages[3].text.count("&lt;script&gt;alert(2)&lt;/script&gt;") >= 3  # title, evidence, note


def test_live_views_cannot_take_every_connection_of_the_server(world: World, tmp_path: Path) -> None:
    """A token with no capability signs in and opens live views until the server's
    connection limit is reached: past its few streams it is answered 429, and the gate
    still answers a publisher."""
    with ServedApi(world, tmp_path, ApiSettings(max_connections=3 * MAX_STREAMS)) as api, ExitStack() as held:
        attacker = held.enter_context(httpx.Client(base_url=api.handle.url, timeout=10))
        nonce = NONCE.search(attacker.get("/console/signin").text)
        assert nonce is not None
        data = {"nonce": nonce.group(1), "method": "token", "token": world.tokens["op-nobody"]}
        assert attacker.post("/console/signin", data=data).status_code == 303
        codes = []
        for _ in range(12):  # the open streams are kept; a refused one gives its connection back
            with ExitStack() as one:
                codes.append(one.enter_context(attacker.stream("GET", "/console/events")).status_code)
                if codes[-1] == 200:
                    held.enter_context(one.pop_all())
        body = {"account": "acct-a", "text": "a normal post", "dry_run": True}
        check = httpx.post(
            f"{api.handle.url}/v1/check", json=body, headers=world.auth("op-trial"), timeout=10
        )
        assert check.status_code == 200, check.text
        assert codes == [200] * MAX_STREAMS + [429] * (12 - MAX_STREAMS)
