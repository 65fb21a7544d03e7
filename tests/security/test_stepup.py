"""The TOTP step-up of unfreeze (issue #12, finding 5): guesses are limited per Vault identity
and survive a restart, a code works once, and a responder's seed is issued or replaced only
by a person holding ``admin``, who is then named in the audit trail."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from sentinel.api.app import create_app
from sentinel.api.protocols import ResponderBridge
from sentinel.audit import AuditTrail
from sentinel.cli import main
from sentinel.response import stepup
from sentinel.response.responder import Responder
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.api.conftest import World, build_deps
from tests.conftest import Deployment, person_token

T0 = 1_900_000_000.0  # a fixed clock: the codes below are computed for it


class _Gate:
    def block(self, account: str, reason: str) -> None:
        return None

    def unblock(self, account: str) -> None:
        return None


@dataclass
class StepUp:
    client: httpx.AsyncClient
    store: Store
    clock: list[float]
    alerts: list[dict[str, Any]]
    totp: pyotp.TOTP
    headers: dict[str, str]

    async def lock(self, world: World) -> None:
        resp = await self.client.post(
            "/v1/lockdown", json={"accounts": ["acct-c"], "reason": "x"}, headers=world.auth("op-lock")
        )
        assert resp.status_code == 200, resp.text

    async def unfreeze(self, code: str) -> httpx.Response:
        body = {"reason": "all clear", "totp": code}
        return await self.client.post("/v1/accounts/acct-c/unfreeze", json=body, headers=self.headers)


@pytest.fixture
async def stepup_api(world: World, tmp_path: Path) -> AsyncIterator[StepUp]:
    store = Store(tmp_path / "state.sqlite3")
    alerts: list[dict[str, Any]] = []
    responder = Responder(
        world.inventory, ResponseStore(store), _Gate(), None, None, alert=lambda **kw: alerts.append(kw)
    )
    clock = [T0]
    bridge = ResponderBridge(responder, lambda: world.daemon, now=lambda: clock[0])
    deps, *_ = build_deps(world, store, responder=lambda: bridge)
    name = f"op-resp-{secrets.token_hex(3)}"
    token, _ = person_token(world.admin, name, [world.policy("unfreezer")])
    totp = pyotp.parse_uri(stepup.enroll(world.daemon, name))
    transport = httpx.ASGITransport(app=create_app(deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield StepUp(client, store, clock, alerts, totp, {"Authorization": f"Bearer {token}"})
    await responder.aclose()
    store.close()


def wrong(totp: pyotp.TOTP, now: float) -> str:
    good = {totp.at(now), totp.at(now - 30)}
    return next(c for c in ("000000", "111111", "222222") if c not in good)


async def test_guesses_are_limited_per_identity_and_survive_a_restart(
    stepup_api: StepUp, world: World, tmp_path: Path
) -> None:
    s = stepup_api
    await s.lock(world)
    for _ in range(stepup.MAX_FAILURES):
        resp = await s.unfreeze(wrong(s.totp, T0))
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "step_up_failed"
    # locked out: even the right code is refused now, and one alert says so
    locked = await s.unfreeze(s.totp.at(T0))
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "step_up_locked"
    assert [a["kind"] for a in s.alerts if a["kind"] == "step_up_locked"] == ["step_up_locked"]
    assert ResponseStore(s.store).frozen() == ["acct-c"]
    # the count is in the state database: a restarted daemon (a new connection) still refuses
    with Store(tmp_path / "state.sqlite3") as again, pytest.raises(stepup.StepUpLocked):
        stepup.StepUpLimiter(again).check(next(iter(_identities(again))), T0 + 60)
    # another person is not locked out by these guesses
    other = pyotp.parse_uri(stepup.enroll(world.daemon, "op-all", replace=True))
    body = {"reason": "all clear", "totp": other.at(T0)}
    ok = await s.client.post("/v1/accounts/acct-c/unfreeze", json=body, headers=world.auth("op-all"))
    assert ok.status_code == 200, ok.text
    # after the window, the locked-out person's right code works again
    await s.lock(world)
    s.clock[0] = T0 + stepup.WINDOW + 1
    assert (await s.unfreeze(s.totp.at(s.clock[0]))).status_code == 200


def _identities(store: Store) -> set[str]:
    return {str(r["identity"]) for r in store.query("SELECT identity FROM stepup_failures")}


async def test_a_code_is_accepted_once(stepup_api: StepUp, world: World) -> None:
    s = stepup_api
    await s.lock(world)
    code = s.totp.at(T0)
    assert (await s.unfreeze(code)).status_code == 200
    await s.lock(world)
    replay = await s.unfreeze(code)
    assert replay.status_code == 403 and replay.json()["error"]["code"] == "step_up_failed"
    assert ResponseStore(s.store).frozen() == ["acct-c"]
    s.clock[0] = T0 + 30
    assert (await s.unfreeze(s.totp.at(s.clock[0]))).status_code == 200


async def test_guesses_sent_in_parallel_are_limited_all_the_same(stepup_api: StepUp, world: World) -> None:
    """Forty wrong codes at once: each is counted before it is checked, so no more than the
    limit are ever checked against the seed, and one alert is raised."""
    s = stepup_api
    await s.lock(world)
    good = {s.totp.at(T0), s.totp.at(T0 - 30)}
    guesses = [c for c in (f"{i:06d}" for i in range(100, 140)) if c not in good]
    answers = await asyncio.gather(*(s.unfreeze(c) for c in guesses))
    codes = [a.json()["error"]["code"] for a in answers]
    assert codes.count("step_up_failed") == stepup.MAX_FAILURES, codes
    assert codes.count("step_up_locked") == len(guesses) - stepup.MAX_FAILURES
    assert [a["kind"] for a in s.alerts if a["kind"] == "step_up_locked"] == ["step_up_locked"]
    locked = await s.unfreeze(s.totp.at(T0))
    assert locked.json()["error"]["code"] == "step_up_locked"
    assert ResponseStore(s.store).frozen() == ["acct-c"]


def test_replacing_a_responders_seed_needs_the_callers_own_admin_token(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = f"op-victim-{secrets.token_hex(3)}"
    daemon = deployment.admin.with_token(deployment.token)
    stepup.enroll(daemon, victim)

    def seed() -> str:
        return str(deployment.admin.kv_read(f"system/totp/{victim}").data["seed"])

    before = seed()
    replace = deployment.cli("totp", "enroll", "--operator", victim, "--replace")
    # with Sentinel's own token only (no personal login): refused
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(deployment.dir))
    assert main(replace) == 3 and "log in to Vault first" in capsys.readouterr().err
    # a person without admin on every account: refused, naming the capability
    p = deployment.settings.policy_prefix
    deployment.admin.policy_write(
        f"{p}-unfreezer", 'path "sentinel/global/unfreeze" { capabilities = ["update"] }'
    )
    token, _ = person_token(deployment.admin, f"op-mallory-{victim}", [f"{p}-unfreezer"])
    monkeypatch.setenv("VAULT_TOKEN", token)
    assert main(replace) == 6 and "missing capability 'admin'" in capsys.readouterr().err
    assert seed() == before
    # an administrator may, and the audit trail names the administrator, not the victim
    deployment.admin.policy_write(
        f"{p}-admin", 'path "sentinel/accounts/+/admin" { capabilities = ["update"] }'
    )
    boss = f"op-boss-{victim}"
    token, _ = person_token(deployment.admin, boss, [f"{p}-admin"])
    monkeypatch.setenv("VAULT_TOKEN", token)
    assert main(replace) == 0 and capsys.readouterr().out.startswith("otpauth://")
    assert seed() != before
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        entries = [(e.actor, e.action, e.target) for e in AuditTrail(store).entries()]
    assert entries[-1] == (boss, "totp.enroll_operator", f"system/totp/{victim}")
