"""However a console session ends, it leaves no usable credential behind, against real OpenBao.

A password sign-in makes the console the only holder of a fresh Vault token: the attacks
here end such sessions every way they can end (evicted by the identity's ninth sign-in,
expired while nobody looks, signed out while Vault is unreachable) and then try the token
the console held; and they keep a live-update stream open across the end of its session.
"""

from __future__ import annotations

import asyncio
import secrets
from contextlib import closing
from pathlib import Path

import httpx

from sentinel.console.login import VaultLogin
from sentinel.console.pages import Console
from sentinel.console.sessions import Session
from sentinel.errors import VaultError
from sentinel.metrics import CONSOLE_REVOCATIONS, counted
from sentinel.retry import RetryPolicy
from sentinel.vault.client import VaultClient
from tests.api.conftest import World
from tests.api.served import ServedApi
from tests.console.conftest import NONCE, Desk, csrf_of, desk, world
from tests.waiting import wait_for, wait_until

__all__ = ["desk", "world"]


def _userpass(world: World) -> tuple[str, str, str]:
    """A userpass mount and a user on it (only the ``default`` policy: enough to sign in)."""
    mount = "up-" + secrets.token_hex(3)
    world.admin.request("POST", f"sys/auth/{mount}", json={"type": "userpass"})
    user, password = "kim", "pw-" + secrets.token_hex(8)
    world.admin.request("POST", f"auth/{mount}/users/{user}", json={"password": password})
    return mount, user, password


def _signin_fields(page: str, mount: str, user: str, password: str) -> dict[str, str]:
    nonce = NONCE.search(page)
    assert nonce is not None
    return {
        "nonce": nonce.group(1),
        "method": "password",
        "mount": mount,
        "username": user,
        "password": password,
    }


async def _sign_in(desk: Desk, c: httpx.AsyncClient, mount: str, user: str, password: str) -> Session:
    """Sign in by password; returns the new session (the console's only copy of its token)."""
    before = set(map(id, _console(desk).sessions._sessions.values()))
    form = await c.get("/console/signin")
    resp = await c.post("/console/signin", data=_signin_fields(form.text, mount, user, password))
    assert resp.status_code == 303, resp.text
    new = [s for s in _console(desk).sessions._sessions.values() if id(s) not in before]
    assert len(new) == 1 and new[0].owned
    return new[0]


def _console(desk: Desk) -> Console:
    console: Console = desk.app.state.console
    return console


def _usable(world: World, token: str) -> bool:
    try:
        world.admin.lookup_token(token)
    except VaultError:
        return False
    return True


async def test_an_evicted_sessions_token_is_revoked(desk: Desk) -> None:
    """Signing in a ninth time ends the identity's oldest session: its token must die with it."""
    mount, user, password = _userpass(desk.world)
    async with desk.client() as first:
        oldest = await _sign_in(desk, first, mount, user, password)
        for _ in range(_console(desk).sessions.per_identity):
            async with desk.client() as again:
                await _sign_in(desk, again, mount, user, password)
        assert (await first.get("/console/")).headers["location"] == "/console/signin"
        cookie = first.cookies.get("sentinel_console") or ""
        api = await first.get("/v1/whoami", headers={"Cookie": f"sentinel_console={cookie}"})
        assert api.status_code == 401  # the API never took a console cookie
    await wait_for(lambda: not _usable(desk.world, oldest.token), what="the evicted session's token revoked")
    assert len(_console(desk).sessions) == _console(desk).sessions.per_identity


async def test_an_expired_sessions_token_is_revoked_though_nobody_comes_back(desk: Desk) -> None:
    """Idle past its limit and never asked for again: the sweep ends it and revokes its token."""
    console = _console(desk)
    mount, user, password = _userpass(desk.world)
    now = [1000.0]
    console.sessions.clock = lambda: now[0]
    async with desk.client() as c:
        session = await _sign_in(desk, c, mount, user, password)
    now[0] += console.sessions.idle + 1
    sweeper = asyncio.create_task(console.expire_sessions(0.01))
    try:
        await wait_for(
            lambda: not _usable(desk.world, session.token), what="the expired session's token revoked"
        )
    finally:
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)
    assert len(console.sessions) == 0


async def test_sign_out_revokes_the_token_once_vault_is_reachable_again(desk: Desk) -> None:
    """Vault is unreachable at sign-out: the page does not wait, and the token is revoked
    when Vault answers again (tried again, counted)."""
    console = _console(desk)
    assert console.revocations is not None
    console.revocations.policy = RetryPolicy(attempts=50, initial=0.05, maximum=0.2)
    down = VaultClient("http://127.0.0.1:9", "", timeout=2)
    vault: list[VaultClient] = [desk.world.daemon]
    console.revocations.login = VaultLogin(lambda: vault[0])
    retried = counted(CONSOLE_REVOCATIONS, outcome="retried")
    mount, user, password = _userpass(desk.world)
    async with desk.client() as c:
        session = await _sign_in(desk, c, mount, user, password)
        csrf = await csrf_of(c)
        vault[0] = down  # Vault cut off
        resp = await c.post("/console/signout", data={"csrf": csrf})
        assert resp.status_code == 303
        assert (await c.get("/console/")).headers["location"] == "/console/signin"
    await wait_for(lambda: counted(CONSOLE_REVOCATIONS, outcome="retried") > retried, what="a retry")
    assert _usable(desk.world, session.token)  # not revoked yet: Vault could not be reached
    vault[0] = desk.world.daemon  # Vault back
    await wait_for(lambda: not _usable(desk.world, session.token), what="the token revoked after the outage")
    assert console.revocations.pending == 0


def _signed_in(url: str, fields: tuple[str, str, str]) -> httpx.Client:
    """A browser signed in to the served console by password."""
    browser = httpx.Client(base_url=url, timeout=10)
    form = browser.get("/console/signin")
    assert browser.post("/console/signin", data=_signin_fields(form.text, *fields)).status_code == 303
    return browser


def test_an_open_live_stream_ends_with_its_session(world: World, tmp_path: Path) -> None:
    """A live-update stream opened before its session was evicted (and one before sign-out)
    closes with ``signedout``; the evicted session's token is revoked."""
    fields = _userpass(world)
    with ServedApi(world, tmp_path, login=VaultLogin(lambda: world.daemon)) as api:
        console: Console = api.app.state.console
        with closing(_signed_in(api.handle.url, fields)) as victim:
            token = next(iter(console.sessions._sessions.values())).token
            with victim.stream("GET", "/console/events") as stream:
                lines = stream.iter_lines()
                assert next(lines) == "event: hello"
                for _ in range(console.sessions.per_identity):
                    _signed_in(api.handle.url, fields).close()
                assert "event: signedout" in list(lines)  # the stream ended after saying so
        wait_until("the evicted session's token revoked", lambda: not _usable(world, token))

        with closing(_signed_in(api.handle.url, fields)) as person:
            csrf = person.get("/console/").text.split('name="csrf" value="')[1].split('"')[0]
            with person.stream("GET", "/console/events") as stream:
                lines = stream.iter_lines()
                assert next(lines) == "event: hello"
                assert person.post("/console/signout", data={"csrf": csrf}).status_code == 303
                assert "event: signedout" in list(lines)


def _minted(world: World, count: int) -> list[str]:
    """``count`` tokens without a Vault entity, minted by one person from one token of theirs
    (an entity-less token allowed to create tokens: its children have no entity either)."""
    policy = "mint-" + secrets.token_hex(3)
    world.admin.request(
        "PUT",
        f"sys/policies/acl/{policy}",
        json={"policy": 'path "auth/token/create" { capabilities = ["update"] }'},
    )
    minter, _ = world.admin.create_token([policy], ttl="10m")
    mint = world.admin.with_token(minter)
    return [mint.create_token(["default"], ttl="10m")[0] for _ in range(count)]


async def _token_sign_in(desk: Desk, token: str, address: str) -> httpx.AsyncClient:
    """A browser at ``address`` signed in with ``token`` (left open: its cookie is the session)."""
    c = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=desk.app, client=(address, 40000)), base_url="http://console.test"
    )
    form = await c.get("/console/signin")
    nonce = NONCE.search(form.text)
    assert nonce is not None
    resp = await c.post("/console/signin", data={"nonce": nonce.group(1), "method": "token", "token": token})
    assert resp.status_code == 303, resp.text
    return c


async def _still_in(c: httpx.AsyncClient) -> bool:
    return (await c.get("/console/")).status_code == 200


async def test_many_entityless_tokens_cannot_push_people_out_of_the_console(desk: Desk) -> None:
    """One person mints tokens without an identity and signs in with each, from one address
    and then from many: the store stays open to people who signed in with their identity, and
    to an entity-less token user elsewhere until the flood comes from everywhere."""
    sessions = _console(desk).sessions
    sessions.max_sessions, sessions.per_address, sessions.entityless = 12, 3, 6
    desk.world.person("ivy-sessions", ["default"])
    colleague = desk.world.person("jo-sessions", ["default"])
    browsers: list[httpx.AsyncClient] = []
    try:
        ivy = await _token_sign_in(desk, desk.world.tokens["ivy-sessions"], "198.51.100.7")
        jo = await _token_sign_in(desk, colleague, "198.51.100.7")  # the attacker's NAT
        browsers += [ivy, jo]
        bystander = await _token_sign_in(desk, _minted(desk.world, 1)[0], "192.0.2.40")
        browsers.append(bystander)
        flood = _minted(desk.world, 16)
        for token in flood[:8]:  # one address
            browsers.append(await _token_sign_in(desk, token, "198.51.100.7"))
        assert await _still_in(ivy) and await _still_in(jo) and await _still_in(bystander)
        from_attacker = [
            s for s in sessions._sessions.values() if s.address == "198.51.100.7" and s.entityless
        ]
        assert len(from_attacker) == sessions.per_address
        for n, token in enumerate(flood[8:]):  # many addresses
            browsers.append(await _token_sign_in(desk, token, f"203.0.113.{n + 1}"))
        assert await _still_in(ivy) and await _still_in(jo)  # people with an identity stay
        assert sum(s.entityless for s in sessions._sessions.values()) == sessions.entityless
        assert len(sessions) <= sessions.max_sessions
    finally:
        for c in browsers:
            await c.aclose()
