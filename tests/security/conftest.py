"""Attacks on Sentinel's trust boundary, performed against the session's real OpenBao.

The API world of ``tests/api`` (role policies rendered from a roles file, people's tokens of
their own Vault identity entities, the sandbox platform) is shared here; ``daemon`` runs the
daemon's own guard, responder and API in-process over the demo-like deployment; ``shipped``
is the API harness with the shipped rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sentinel.api.app import create_app
from sentinel.engine.engine import Engine
from sentinel.engine.loader import load_rules
from sentinel.store import Store
from tests.api.conftest import Harness, World, build_deps, harness, world
from tests.creds.conftest import env
from tests.pds_fixture import pds

__all__ = ["env", "harness", "pds", "world"]

SHIPPED = load_rules([Path(__file__).resolve().parents[2] / "rules"])
"""The rules the project ships."""


@pytest.fixture
async def shipped(world: World, tmp_path: Path) -> AsyncIterator[Harness]:
    """The API harness with the shipped rules and the default policy."""
    store = Store(tmp_path / "state.sqlite3")
    engine = Engine(world.inventory, SHIPPED)
    deps, _, responder, events = build_deps(world, store, gate=lambda: engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(deps)), base_url="http://api"
    ) as client:
        yield Harness(world, deps, client, engine, responder, events, store)
    assert deps.aclose is not None
    await deps.aclose()
    store.close()
