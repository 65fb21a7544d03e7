"""Incidents and account states are shown only as far as the caller may see (issue #12,
finding 5): a person with ``analytics`` on one account must not read another account's events
through an incident that spans both, nor learn through the account list that another account
is frozen, why, or by whom."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sentinel.api.app import create_app
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.api.conftest import World, build_deps


@pytest.fixture
async def api(world: World, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, int]]]:
    store = Store(tmp_path / "state.sqlite3")
    rs = ResponseStore(store)
    both = rs.open_incident("Lockdown: worm", ["acct-a", "acct-c"])
    rs.add_event(both, "post", "sentinel", {"text": "scam on a"}, "acct-a")
    rs.add_event(both, "post", "sentinel", {"text": "secret-ish detail of c"}, "acct-c")
    only_c = rs.open_incident("Lockdown: c alone", ["acct-c"], window=0)
    deps, *_ = build_deps(world, store, incidents=rs.incidents, incident=rs.incident)
    transport = httpx.ASGITransport(app=create_app(deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client, {"both": both, "only_c": only_c}
    store.close()


async def test_incidents_are_narrowed_to_the_accounts_the_caller_sees(
    api: tuple[httpx.AsyncClient, dict[str, int]], world: World
) -> None:
    c, ids = api
    mod = world.auth("op-mod")  # analytics on acct-a only
    listed = (await c.get("/v1/incidents", headers=mod)).json()["incidents"]
    assert [(i["id"], i["accounts"]) for i in listed] == [(ids["both"], ["acct-a"])]
    one = await c.get(f"/v1/incidents/{ids['both']}", headers=mod)
    assert one.status_code == 200 and one.json()["accounts"] == ["acct-a"]
    assert [e["data"]["text"] for e in one.json()["events"]] == ["scam on a"]
    hidden = await c.get(f"/v1/incidents/{ids['only_c']}", headers=mod)
    assert hidden.status_code == 403 and "secret-ish" not in hidden.text
    # a responder with lockdown sees everything
    lock = world.auth("op-lock")
    full = (await c.get(f"/v1/incidents/{ids['both']}", headers=lock)).json()
    assert full["accounts"] == ["acct-a", "acct-c"] and len(full["events"]) == 2
    assert len((await c.get("/v1/incidents", headers=lock)).json()["incidents"]) == 2


async def test_the_account_list_shows_states_only_of_accounts_the_caller_sees(
    world: World, tmp_path: Path
) -> None:
    store = Store(tmp_path / "state.sqlite3")
    rs = ResponseStore(store)
    rs.mark_frozen(["acct-a"], ["gate", "lock"], "worm on a", "op-lock", False)
    rs.mark_frozen(["acct-c"], ["gate", "lock"], "op-raj's laptop: c is secret-ish", "op-lock", False)
    deps, *_ = build_deps(world, store, freezes=rs.frozen_records)
    transport = httpx.ASGITransport(app=create_app(deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
        mod = await c.get("/v1/accounts", headers=world.auth("op-mod"))  # analytics on acct-a only
        assert mod.status_code == 200
        assert [(a["id"], a["status"]["state"]) for a in mod.json()["accounts"]] == [("acct-a", "frozen")]
        assert "acct-c" not in mod.text and "secret-ish" not in mod.text
        nobody = await c.get("/v1/accounts", headers=world.auth("op-nobody"))
        assert nobody.status_code == 200 and nobody.json() == {"accounts": []}
        anonymous = await c.get("/v1/accounts")
        assert anonymous.status_code == 401 and "acct" not in anonymous.text
        forged = await c.get("/v1/accounts?caller=op-analyst", headers=world.auth("op-mod"))
        assert [a["id"] for a in forged.json()["accounts"]] == ["acct-a"]  # who asks is the token's
    store.close()
