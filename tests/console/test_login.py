"""Signing in through Vault's own password login (userpass), on real OpenBao."""

from __future__ import annotations

import secrets

import httpx
import pytest

from sentinel.console.login import LoginFailed, VaultLogin
from sentinel.errors import VaultError
from tests.console.conftest import NONCE, Desk
from tests.waiting import wait_for


def _userpass(desk: Desk, policies: list[str]) -> tuple[str, str, str]:
    mount = "up-" + secrets.token_hex(3)
    admin = desk.world.admin
    admin.request("POST", f"sys/auth/{mount}", json={"type": "userpass"})
    user, password = "lee", "pw-" + secrets.token_hex(8)
    admin.request(
        "POST",
        f"auth/{mount}/users/{user}",
        json={"password": password, "token_policies": ",".join(policies)},
    )
    return mount, user, password


async def _password_sign_in(c: httpx.AsyncClient, mount: str, user: str, password: str) -> httpx.Response:
    form = await c.get("/console/signin")
    nonce = NONCE.search(form.text)
    assert nonce is not None
    fields = {"nonce": nonce.group(1), "method": "password", "mount": mount, "username": user}
    return await c.post("/console/signin", data={**fields, "password": password})


async def test_password_sign_in_and_sign_out_revokes_the_token(desk: Desk) -> None:
    mount, user, password = _userpass(desk, [desk.world.policy("locker")])
    async with desk.client() as c:
        resp = await _password_sign_in(c, mount, user, password)
        assert resp.status_code == 303, resp.text
        page = await c.get("/console/")
        assert page.status_code == 200
        session = next(iter(desk.app.state.console.sessions._sessions.values()))
        token = session.token
        assert session.owned
        assert password not in page.text and token not in page.text
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        await c.post("/console/signout", data={"csrf": csrf})

    def revoked() -> bool:
        try:
            desk.world.admin.lookup_token(token)
        except VaultError:
            return True
        return False

    await wait_for(revoked, what="the token revoked after sign-out")


async def test_wrong_password_is_refused_by_vault(desk: Desk) -> None:
    mount, user, _ = _userpass(desk, ["default"])
    guess = "guess-" + secrets.token_hex(6)
    async with desk.client() as c:
        resp = await _password_sign_in(c, mount, user, guess)
    assert resp.status_code == 401
    assert "Vault refused this user name and password" in resp.text
    assert guess not in resp.text


def test_login_fields_are_checked_before_vault_is_asked(desk: Desk) -> None:
    login = VaultLogin(lambda: desk.world.daemon)
    for mount, user, password, field in (
        ("../sys", "lee", "pw", "mount"),
        ("userpass", "lee/../x", "pw", "username"),
        ("userpass", "lee", "", "password"),
    ):
        with pytest.raises(LoginFailed, match=f"field '{field}'"):
            login.password(mount, user, password)
