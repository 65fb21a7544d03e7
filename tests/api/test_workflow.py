"""``/v1/whoami`` and working an incident: notes, assignment, closing (needs 'lockdown')."""

from __future__ import annotations

from pathlib import Path

import httpx

from sentinel.api.app import create_app
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.api.conftest import World, build_deps


async def test_whoami_names_the_caller_as_vault_knows_the_token(world: World, tmp_path: Path) -> None:
    deps, *_ = build_deps(world, Store(tmp_path / "s.sqlite3"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(deps)), base_url="http://a"
    ) as c:
        me = await c.get("/v1/whoami", headers=world.auth("op-lock"))
        nobody = await c.get("/v1/whoami")
    assert me.json()["actor"] == "op-lock" and me.json()["capabilities"] == ["lockdown"]
    assert nobody.status_code == 401
    await deps.aclose()  # type: ignore[misc]


async def test_incident_note_assign_close(world: World, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    incidents = ResponseStore(store)
    deps, *_ = build_deps(
        world, store, incidents=incidents.incidents, incident=incidents.incident, incident_log=incidents
    )
    number = incidents.open_incident("Lockdown: test", ["acct-a"])
    incidents.mark_frozen(["acct-a"], ["gate"], "test", "op-lock", False, incident=number)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(deps)), base_url="http://a"
    ) as c:
        base = f"/v1/incidents/{number}"
        refused = await c.post(f"{base}/note", json={"text": "x"}, headers=world.auth("op-analyst"))
        assert refused.status_code == 403 and refused.json()["error"]["capability"] == "lockdown"
        blank = await c.post(f"{base}/note", json={"text": "  "}, headers=world.auth("op-lock"))
        assert blank.status_code == 400 and blank.json()["error"]["field"] == "text"
        note = await c.post(f"{base}/note", json={"text": "called them"}, headers=world.auth("op-lock"))
        assert note.status_code == 201
        for hostile in ("op\tlee", "\u202eeel-po", " op-lee", "", "op-lee\n[admin]"):
            bad = await c.post(f"{base}/assign", json={"assignee": hostile}, headers=world.auth("op-lock"))
            assert bad.status_code == 400 and bad.json()["error"]["field"] == "assignee", hostile
        assign = await c.post(f"{base}/assign", json={"assignee": "op-lee"}, headers=world.auth("op-lock"))
        assert assign.json()["assignee"] == "op-lee"
        early = await c.post(f"{base}/close", json={"reason": "done"}, headers=world.auth("op-lock"))
        assert early.status_code == 409 and "acct-a still frozen" in early.json()["error"]["message"]
        incidents.mark_unfrozen("acct-a")
        closed = await c.post(f"{base}/close", json={"reason": "done"}, headers=world.auth("op-lock"))
        assert closed.json()["status"] == "resolved"
        missing = await c.post("/v1/incidents/999/note", json={"text": "x"}, headers=world.auth("op-lock"))
        assert missing.status_code == 404
    data = incidents.incident(number)
    assert data is not None and data["assignee"] == "op-lee" and data["status"] == "resolved"
    assert [(e["kind"], e["actor"]) for e in data["events"]][-3:] == [
        ("note", "op-lock"),
        ("assign", "op-lock"),
        ("action", "op-lock"),
    ]
    await deps.aclose()  # type: ignore[misc]
    store.close()
