"""Floods of junk tokens, against a real OpenBao: what reaches Vault is bounded.

Without a bound, every request bearing an unknown token costs a Vault lookup: an outsider can
slow Vault until the daemon's own probe gives up and everyone is decided in grace, and guess
tokens as fast as Vault answers. Here Vault's own audit log counts the token lookups Sentinel
makes (by the audit HMAC of Sentinel's token's accessor), while the API is called from
several client addresses with a clock the test moves.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from sentinel.api.app import create_app
from sentinel.api.auth_throttle import AuthThrottle
from sentinel.api.caller_access import Authorizer
from sentinel.api.deps import Deps
from sentinel.api.held import HeldStore
from sentinel.config import ApiSettings
from sentinel.console.login import VaultLogin
from sentinel.inventory import Inventory
from sentinel.metrics import TOKEN_REFUSALS, counted
from sentinel.store import Store
from sentinel.vault.client import VaultClient
from sentinel.vault.devproxy import TcpProxy
from sentinel.vault.devserver import AUDIT_DEVICE, DevVault

DEFAULTS = ApiSettings()
BURST = DEFAULTS.failed_auth_burst
RATE = DEFAULTS.failed_auth_rate
INVALID_TTL = float(DEFAULTS.invalid_token_cache)
CACHE = 5.0
NONCE = re.compile(r'name="nonce" value="([^"]+)"')


def junk() -> str:
    return "s." + secrets.token_urlsafe(18)


@dataclass
class Flood:
    app: Starlette
    authz: Authorizer
    proxy: TcpProxy
    admin: VaultClient
    audit_log: Path
    accessor_hash: str
    now: list[float]

    def tick(self, seconds: float) -> None:
        self.now[0] += seconds

    def requests(self, path: str, accessor_hash: str | None = None) -> int:
        """Requests to ``path`` Vault logged so far (made with the token of ``accessor_hash``)."""
        found = 0
        for line in self.audit_log.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if (
                entry.get("type") == "request"
                and entry.get("request", {}).get("path") == path
                and (accessor_hash is None or entry.get("auth", {}).get("accessor") == accessor_hash)
            ):
                found += 1
        return found

    def lookups(self) -> int:
        """Token lookups Vault logged for Sentinel's own token so far."""
        return self.requests("auth/token/lookup", self.accessor_hash)

    def person(self) -> str:
        token, _ = self.admin.create_token(["default"], ttl="1h")
        return token

    def client(self, address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


@pytest.fixture
def flood(audited_bao: DevVault, tmp_path: Path) -> Iterator[Flood]:
    assert audited_bao.audit_log is not None
    admin = VaultClient(audited_bao.addr, audited_bao.root_token)
    own, accessor = admin.create_token(["root"], ttl="1h")  # Sentinel's own token
    now = [1000.0]
    store = Store(tmp_path / "state.sqlite3")
    with TcpProxy(audited_bao.port) as proxy:
        sentinel = VaultClient(proxy.addr, own, timeout=5.0)
        authz = Authorizer(
            lambda: sentinel,
            "flood",
            CACHE,
            clock=lambda: now[0],
            invalid_seconds=INVALID_TTL,
            throttle=AuthThrottle(BURST, RATE, clock=lambda: now[0]),
        )
        deps = Deps(
            inventory=lambda: Inventory(()),
            authorizer=authz,
            held=HeldStore(store),
            login=VaultLogin(lambda: sentinel),
        )
        app = create_app(deps)
        try:
            yield Flood(
                app,
                authz,
                proxy,
                admin,
                audited_bao.audit_log,
                admin.audit_hash(AUDIT_DEVICE, accessor),
                now,
            )
        finally:
            sentinel.close()
            admin.close()
            store.close()


@pytest.fixture
async def attacker(flood: Flood) -> AsyncIterator[httpx.AsyncClient]:
    async with flood.client("203.0.113.66") as c:
        yield c


async def whoami(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})


async def test_a_flood_of_junk_tokens_reaches_vault_at_most_a_burst_of_times(
    flood: Flood, attacker: httpx.AsyncClient
) -> None:
    before = flood.lookups()
    throttled = counted(TOKEN_REFUSALS, reason="throttled")
    answers = await asyncio.gather(*(whoami(attacker, junk()) for _ in range(500)))
    statuses = [r.status_code for r in answers]
    assert flood.lookups() - before == BURST  # concurrent requests included: a try is taken first
    assert statuses.count(401) == BURST and statuses.count(429) == 500 - BURST
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.json()["error"]["code"] == "too_many_auth_failures"
    wait = int(refused.headers["Retry-After"])
    assert wait == refused.json()["error"]["retry_after"] == math.ceil(1 / RATE)
    assert counted(TOKEN_REFUSALS, reason="throttled") - throttled == 500 - BURST
    # the address regains tries at the documented rate, not all at once
    flood.tick(1 / RATE)
    assert (await whoami(attacker, junk())).status_code == 401
    assert (await whoami(attacker, junk())).status_code == 429
    assert flood.lookups() - before == BURST + 1


async def test_people_keep_working_during_a_flood_from_their_address_and_elsewhere(
    flood: Flood, attacker: httpx.AsyncClient
) -> None:
    colleague = flood.person()  # behind the same NAT as the attacker, signed in before the flood
    assert (await whoami(attacker, colleague)).status_code == 200
    await asyncio.gather(*(whoami(attacker, junk()) for _ in range(BURST + 30)))
    assert (await whoami(attacker, junk())).status_code == 429
    assert (await whoami(attacker, colleague)).status_code == 200
    flood.tick(CACHE + 1)  # Vault is asked again about the colleague's token: still no try taken
    assert (await whoami(attacker, colleague)).status_code == 200
    async with flood.client("198.51.100.7") as elsewhere:
        assert (await whoami(elsewhere, flood.person())).status_code == 200
        assert (await whoami(elsewhere, junk())).status_code == 401  # its own burst


async def test_a_token_vault_refused_is_not_looked_up_again_within_the_ttl(flood: Flood) -> None:
    token, before = junk(), flood.lookups()
    cached = counted(TOKEN_REFUSALS, reason="cached_invalid")
    for i in range(30):  # from as many addresses: no throttle involved
        async with flood.client(f"192.0.2.{i + 1}") as c:
            resp = await whoami(c, token)
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_token"
    assert flood.lookups() - before == 1
    assert counted(TOKEN_REFUSALS, reason="cached_invalid") - cached == 29
    flood.tick(INVALID_TTL + 1)
    async with flood.client("192.0.2.1") as c:
        assert (await whoami(c, token)).status_code == 401
    assert flood.lookups() - before == 2


async def test_a_vault_outage_is_never_remembered_as_an_invalid_token(
    flood: Flood, attacker: httpx.AsyncClient
) -> None:
    person = flood.person()
    flood.proxy.down()
    resp = await whoami(attacker, person)
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "vault_unavailable"
    flood.proxy.up()
    resp = await whoami(attacker, person)  # at once: no TTL to wait out
    assert resp.status_code == 200, resp.text


async def sign_in(c: httpx.AsyncClient, **fields: str) -> httpx.Response:
    form = await c.get("/console/signin")
    nonce = NONCE.search(form.text)
    assert nonce is not None
    return await c.post("/console/signin", data={"nonce": nonce.group(1), **fields})


async def test_pasting_junk_tokens_into_the_console_sign_in_is_limited_too(flood: Flood) -> None:
    before = flood.lookups()

    async with flood.client("203.0.113.99") as browser:
        statuses = [
            (await sign_in(browser, method="token", token=junk())).status_code for _ in range(BURST + 10)
        ]
        assert statuses == [401] * BURST + [429] * 10
        last = await sign_in(browser, method="token", token=junk())
        assert "too many failed authentications" in last.text
        assert int(last.headers["Retry-After"]) >= 1
    assert flood.lookups() - before == BURST
    # counted against that browser's address, not against everyone the console serves
    async with flood.client("198.51.100.20") as someone:
        assert (await sign_in(someone, method="token", token=flood.person())).status_code == 303


async def test_a_revoked_token_is_known_valid_no_longer(flood: Flood, attacker: httpx.AsyncClient) -> None:
    # a stolen token, used once and then revoked, must not keep a way past the throttle open
    stolen, accessor = flood.admin.create_token(["default"], ttl="1h")
    assert (await whoami(attacker, stolen)).status_code == 200
    assert flood.authz.known(stolen)
    flood.admin.revoke_accessor(accessor)
    flood.tick(CACHE + 1)
    assert (await whoami(attacker, stolen)).status_code == 401
    assert not flood.authz.known(stolen)
    before = flood.lookups()
    statuses = [(await whoami(attacker, stolen)).status_code for _ in range(BURST + 5)]
    # the refusal itself took no try (the token was still known valid then); now it does, and
    # Vault is not asked again: it said invalid moments ago
    assert statuses == [401] * BURST + [429] * 5 and flood.lookups() == before


async def test_guessing_passwords_at_the_console_sign_in_is_limited_too(flood: Flood) -> None:
    mount, password = "up-" + secrets.token_hex(3), "pw-" + secrets.token_hex(8)
    flood.admin.request("POST", f"sys/auth/{mount}", json={"type": "userpass"})
    for user in ("lee", "kim"):  # Vault locks lee out after a few wrong passwords; kim is untouched
        flood.admin.request("POST", f"auth/{mount}/users/{user}", json={"password": password})

    async def attempt(c: httpx.AsyncClient, user: str, guess: str) -> int:
        resp = await sign_in(c, method="password", mount=mount, username=user, password=guess)
        c.cookies.clear()  # signed in or not, the next attempt starts from the form
        return resp.status_code

    async with flood.client("203.0.113.50") as guesser:
        assert await attempt(guesser, "kim", password) == 303  # a success gives its try back
        statuses = [await attempt(guesser, "lee", "guess-" + secrets.token_hex(4)) for _ in range(BURST + 5)]
        assert statuses == [401] * BURST + [429] * 5
        assert await attempt(guesser, "kim", password) == 429  # right or wrong: no try left for now
        flood.tick(1 / RATE)
        assert await attempt(guesser, "kim", password) == 303
    assert flood.requests(f"auth/{mount}/login/lee") == BURST  # what reached Vault
    async with flood.client("198.51.100.50") as someone:
        assert await attempt(someone, "kim", password) == 303
