"""Account administration through the API (``admin``): credential metadata and a rotation
on demand, with a real OpenBao deciding who may, the real rotator and the sandbox platform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from sentinel.api.app import create_app
from sentinel.metrics import ROTATIONS, counted
from sentinel.store import Store
from tests.api.conftest import World, build_deps

Audit = tuple[str, str, str, dict[str, Any]]


def current_password(world: World, account: str) -> tuple[int, str]:
    from sentinel.creds.store import CredentialStore

    state, data = CredentialStore(world.daemon).current(account, "password")
    return state.current, str(data["value"])


async def client_for(
    world: World, tmp_path: Path, audits: list[Audit], **overrides: Any
) -> httpx.AsyncClient:
    store = Store(tmp_path / "state.sqlite3")
    deps, *_ = build_deps(
        world,
        store,
        audit=lambda actor, action, target, details: audits.append((actor, action, target, dict(details))),
        **overrides,
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(deps)), base_url="http://api")


async def test_an_admin_rotates_an_account_now_and_the_new_password_works(
    world: World, tmp_path: Path
) -> None:
    audits: list[Audit] = []
    before_version, before = current_password(world, "acct-c")
    before_count = counted(ROTATIONS, status="rotated", kind="password")
    async with await client_for(world, tmp_path, audits) as client:
        resp = await client.post(
            "/v1/accounts/acct-c/rotate", json={"reason": "a contractor left"}, headers=world.auth("op-all")
        )
        scrape = (await client.get("/metrics")).text
    assert counted(ROTATIONS, status="rotated", kind="password") == before_count + 1
    assert f'sentinel_rotations_total{{kind="password",status="rotated"}} {before_count + 1}' in scrape
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["ok"] is True and [r["status"] for r in body["results"]] == ["rotated"]
    version, after = current_password(world, "acct-c")
    assert version > before_version and after != before
    assert before not in resp.text and after not in resp.text
    handle = world.inventory["acct-c"].handle
    login = httpx.post(f"{world.sandbox.url}/api/sessions", json={"handle": handle, "password": after})
    assert login.status_code in (200, 201)
    old = httpx.post(f"{world.sandbox.url}/api/sessions", json={"handle": handle, "password": before})
    assert old.status_code == 401
    ((actor, _, target, details),) = [a for a in audits if a[1] == "credential.rotate_requested"]
    assert (actor, target, details["reason"], details["results"]) == (
        "op-all",
        "acct-c",
        "a contractor left",
        {"password": "rotated"},
    )


async def test_credential_metadata_never_carries_a_value(world: World, tmp_path: Path) -> None:
    async with await client_for(world, tmp_path, []) as client:
        resp = await client.get("/v1/accounts/acct-b/credentials", headers=world.auth("op-all"))
    assert resp.status_code == 200, resp.text
    (row,) = resp.json()["credentials"]
    assert row["key"] == "password" and row["kind"] == "password" and row["stored"] is True
    assert current_password(world, "acct-b")[1] not in resp.text


@pytest.mark.parametrize("person", ["op-pub", "op-mod", "op-analyst", "op-editor", "op-lock"])
async def test_only_admin_may_administer(world: World, tmp_path: Path, person: str) -> None:
    audits: list[Audit] = []
    before = current_password(world, "acct-a")
    async with await client_for(world, tmp_path, audits) as client:
        for method, path in (
            ("POST", "/v1/accounts/acct-a/rotate"),
            ("GET", "/v1/accounts/acct-a/credentials"),
        ):
            resp = await client.request(method, path, headers=world.auth(person))
            assert resp.status_code == 403, resp.text
            err = resp.json()["error"]
            assert (err["code"], err["capability"]) == ("missing_capability", "admin")
        assert (await client.post("/v1/accounts/acct-a/rotate")).status_code == 401
    assert current_password(world, "acct-a") == before and not audits


async def test_rotation_not_running_and_failing_rotations_are_reported(world: World, tmp_path: Path) -> None:
    class Failing:
        async def force_rotate(self, account: str, reason: str) -> list[Any]:
            from sentinel.errors import SentinelError

            raise SentinelError(f"rotation of {account} did not complete: password: parked (HTTP 503)")

    audits: list[Audit] = []
    async with await client_for(world, tmp_path, audits, rotator=lambda: None) as client:
        resp = await client.post("/v1/accounts/acct-a/rotate", headers=world.auth("op-all"))
        assert (resp.status_code, resp.json()["error"]["code"]) == (503, "not_configured")
    async with await client_for(world, tmp_path, audits, rotator=lambda: Failing()) as client:
        resp = await client.post("/v1/accounts/acct-a/rotate", content=b"", headers=world.auth("op-all"))
        assert (resp.status_code, resp.json()["error"]["code"]) == (502, "rotation_failed")
        bad = await client.post("/v1/accounts/acct-a/rotate", json=["x"], headers=world.auth("op-all"))
        assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_request")
    assert [a[3].get("error", "") for a in audits] == [
        "rotation of acct-a did not complete: password: parked (HTTP 503)"
    ]
