"""A failing account is logged once per distinct error, and a frozen one is polled slowly."""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import sentinel.watcher.watcher as watcher_module
from sentinel.platforms import create_adapter
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.store import Store
from sentinel.watcher import WatchedAccount, Watcher
from sentinel.watcher.watcher import FROZEN_FACTOR
from tests.waiting import wait_for


def new_account(server: SandboxServer) -> dict[str, str]:
    handle, password = f"f{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    httpx.post(f"{server.url}/api/accounts", json={"handle": handle, "password": password}).raise_for_status()
    return {"identifier": handle, "password": password, "service": server.url}


async def _no_sleep(_: float) -> None:
    return None


async def _nothing(_: object) -> None:
    return None


class Logged:
    """Stands in for the watcher's logger: what it said, in order."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __getattr__(self, level: str) -> Any:
        def say(event: str, **kw: Any) -> None:
            self.events.append({"event": event, "level": level, **kw})

        return say


async def test_the_same_error_is_logged_once_then_with_its_count(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged = Logged()
    monkeypatch.setattr(watcher_module, "log", logged)
    creds = new_account(sandbox)
    adapter = create_adapter("sandbox", "locked", creds, sleep=_no_sleep)
    w = Watcher(
        Store(tmp_path / "s.sqlite3"),
        [WatchedAccount("locked", adapter, interval=0.01)],
        _nothing,
        spread=False,
        max_backoff=0.01,
    )
    await w.poll_once("locked")
    fault = {"handle": creds["identifier"], "status": 423, "count": 1000}
    httpx.post(f"{sandbox.url}/api/_faults", json=fault).raise_for_status()
    runner = asyncio.create_task(w.run())
    try:
        await wait_for(lambda: w.state["locked"].errors >= 6, what="six failed polls")
        httpx.post(f"{sandbox.url}/api/_faults", json=fault | {"count": 0}).raise_for_status()
        await wait_for(lambda: not w.state["locked"].errors, what="the recovery")
    finally:
        w.stop()
        await runner
        await adapter.aclose()
    logs = logged.events
    failed = [e for e in logs if e["event"] == "watcher.poll_failed"]
    assert len(failed) == 1 and "HTTP 423" in failed[0]["error"]
    recovered = [e for e in logs if e["event"] == "watcher.poll_recovered"]
    assert len(recovered) == 1 and recovered[0]["failures"] >= 6


async def test_a_frozen_account_is_polled_slowly(sandbox: SandboxServer, tmp_path: Path) -> None:
    adapters = {name: create_adapter("sandbox", name, new_account(sandbox)) for name in ("open", "frozen")}
    w = Watcher(
        Store(tmp_path / "s.sqlite3"),
        [WatchedAccount(name, a, interval=0.5) for name, a in adapters.items()],
        _nothing,
        spread=False,
        max_backoff=600,
        slow=lambda account: account == "frozen",
    )
    runner = asyncio.create_task(w.run())
    try:
        await wait_for(lambda: w.state["open"].polls >= 2 and w.state["frozen"].polls >= 1, what="polls")
    finally:
        w.stop()
        await runner
        for a in adapters.values():
            await a.aclose()
    assert w.state["frozen"].due - time.time() > 0.5 * FROZEN_FACTOR / 2
    assert w.state["frozen"].polls == 1 and w.state["open"].errors == 0
