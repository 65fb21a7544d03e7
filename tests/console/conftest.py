"""A console over the API test world: real OpenBao, people's tokens, the real engine."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentinel.api.app import create_app
from sentinel.api.deps import Deps
from sentinel.console.login import VaultLogin
from sentinel.engine.engine import Engine
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.api.conftest import FakeResponder, World, build_deps, world

__all__ = ["world"]

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
NONCE = re.compile(r'name="nonce" value="([^"]+)"')
BASE = "http://console.test"


class FreezingResponder(FakeResponder):
    """The fake responder, also blocking the accounts at the engine as the daemon's guard does."""

    def __init__(self, engine: Engine, incidents: ResponseStore) -> None:
        super().__init__()
        self.engine = engine
        self.incidents = incidents

    async def lock(
        self, accounts: Sequence[str], reason: str, actor: str, operator: str = "", actor_id: str = ""
    ) -> Mapping[str, Any]:
        out = await super().lock(accounts, reason, actor, operator, actor_id)
        number = self.incidents.open_incident(f"Lockdown: {reason}", list(accounts))
        self.incidents.mark_frozen(accounts, ["gate"], reason, actor, False, incident=number, done=["gate"])
        for a in accounts:
            self.engine.freeze(a, 0.0, reason)
            self.incidents.add_event(number, "action", actor, {"step": "gate", "status": "done"}, a)
        return out

    async def unfreeze(
        self, account: str, reason: str, actor: str, totp_code: str, actor_id: str = ""
    ) -> Mapping[str, Any]:
        out = await super().unfreeze(account, reason, actor, totp_code, actor_id)
        self.engine.unfreeze(account)
        self.incidents.mark_unfrozen(account)
        return out


@dataclass
class Desk:
    world: World
    deps: Deps
    app: Any
    engine: Engine
    responder: FreezingResponder
    incidents: ResponseStore

    def client(self, **headers: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE, headers=headers)

    async def sign_in(self, client: httpx.AsyncClient, person: str) -> str:
        """Sign ``person`` in with their Vault token; returns the session's CSRF token."""
        form = await client.get("/console/signin")
        nonce = NONCE.search(form.text)
        assert nonce is not None
        resp = await client.post(
            "/console/signin",
            data={"nonce": nonce.group(1), "method": "token", "token": self.world.tokens[person]},
        )
        assert resp.status_code == 303, resp.text
        return await csrf_of(client)


async def csrf_of(client: httpx.AsyncClient, path: str = "/console/") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    m = CSRF.search(page.text)
    assert m is not None
    return m.group(1)


@pytest.fixture
async def desk(world: World, tmp_path: Path) -> AsyncIterator[Desk]:
    store = Store(tmp_path / "state.sqlite3")
    incidents = ResponseStore(store)
    deps, engine, _, _ = build_deps(
        world,
        store,
        incidents=lambda: incidents.incidents(),
        incident=incidents.incident,
        incident_log=incidents,
        freezes=incidents.frozen_records,
        login=VaultLogin(lambda: world.daemon),
    )
    responder = FreezingResponder(engine, incidents)
    deps.responder = lambda: responder
    app = create_app(deps)
    yield Desk(world, deps, app, engine, responder, incidents)
    await app.state.console.aclose()
    assert deps.aclose is not None
    await deps.aclose()
    store.close()
