"""Account-state snapshots and their diffs: on the sandbox platform and on a real Bluesky PDS."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from sentinel.platforms import create_adapter
from sentinel.platforms.bluesky import BlueskyAdapter
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.store import Store
from sentinel.watcher.account_state import AccountStateWatcher, appeared_since_good, diff
from tests.pds_fixture import Pds
from tests.waiting import wait_for
from tests.watcher.accounts import Sink, new_account

TS = "2026-05-01T10:00:00Z"


def changes(events: list[dict[str, Any]]) -> list[tuple[str, Any, Any]]:
    return [(e["field"], e["old"], e["new"]) for e in events]


def test_diff_gives_one_event_per_field_and_per_list_item() -> None:
    old = {
        "handle": "a.test",
        "links": ["https://a"],
        "app_password": ["broker", "old"],
        "two_factor": "totp",
    }
    new = {
        "handle": "b.test",
        "links": ["https://a"],
        "app_password": ["broker", "x1", "x2"],
        "two_factor": "off",
    }
    events = diff("acct", old, new, TS)
    assert changes(events) == [
        ("handle", "a.test", "b.test"),
        ("two_factor", "totp", "off"),
        ("app_password", "old", None),
        ("app_password", None, "x1"),
        ("app_password", None, "x2"),
    ]
    assert all(e["kind"] == "account" and e["account"] == "acct" and e["ts"] == TS for e in events)
    assert diff("acct", new, new, TS) == []


def test_diff_treats_a_field_seen_for_the_first_time_as_its_baseline() -> None:
    did = {"id": "did:plc:x", "pds": "https://pds.example", "rotation_keys": ["did:key:a"]}
    assert diff("acct", {"handle": "a"}, {"handle": "a", "did": did}, TS) == []
    moved = {**did, "pds": "https://evil.example"}
    assert changes(diff("acct", {"did": did}, {"did": moved}, TS)) == [("did", did, moved)]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


async def test_sandbox_snapshots_baseline_then_hijack_then_sentinel_own_rotation(
    sandbox: SandboxServer, store: Store
) -> None:
    creds = new_account(sandbox)
    sink = Sink()
    watcher = AccountStateWatcher(store, sink)
    async with create_adapter("sandbox", "acct-s", creds) as owner:
        assert watcher.add("acct-s", owner)
        assert await watcher.snapshot("acct-s") == []  # the baseline
        assert watcher.last("acct-s") == {
            "handle": creds["identifier"],
            "display_name": None,
            "bio": None,
            "links": [],
            "email": None,
            "two_factor": "off",
            "app_password": [],
        }
        # Sentinel's rotation notes its app password before creating it
        watcher.own.note("acct-s", "app_password", "sentinel-app_password-2")
        await owner.create_app_password("sentinel-app_password-2")
        # a hijacker, logged in with the password: a new e-mail, a keep-access app password
        async with create_adapter("sandbox", "acct-s", creds) as attacker:
            await attacker.create_app_password("backup")
        async with httpx.AsyncClient(base_url=sandbox.url) as c:
            login = await c.post(
                "/api/sessions", json={"handle": creds["identifier"], "password": creds["password"]}
            )
            token = login.json()["token"]
            r = await c.patch(
                "/api/profile",
                headers={"authorization": f"Bearer {token}"},
                json={"email": "attacker@example.net", "links": ["https://evil.example"]},
            )
            assert r.status_code == 200
        events = await watcher.snapshot("acct-s")
        assert await watcher.snapshot("acct-s") == []  # kept: nothing new the next time
    assert changes(events) == [
        ("links", [], ["https://evil.example"]),
        ("email", None, "attacker@example.net"),
        ("app_password", None, "backup"),
        ("app_password", None, "sentinel-app_password-2"),
    ]
    assert [e.get("client") for e in events] == [None, None, None, "Sentinel"]
    assert sink.events == events
    assert len({e["id"] for e in events}) == 4


async def test_schedule_snapshots_each_account_and_survives_platform_errors(
    sandbox: SandboxServer, store: Store
) -> None:
    creds = new_account(sandbox)
    broken = {**creds, "password": "wrong-" + secrets.token_hex(4)}
    sink = Sink()
    watcher = AccountStateWatcher(store, sink, interval=0.05, jitter=0.5)
    async with (
        create_adapter("sandbox", "good", creds) as good,
        create_adapter("sandbox", "bad", broken) as bad,
        create_adapter("tiktok", "tt", {"access_token": "t-1"}) as tiktok,
    ):
        watcher.add("good", good)
        watcher.add("bad", bad)
        assert not watcher.add("tt", tiktok)  # TikTok's API shows no account state
        await watcher.run()
        await wait_for(lambda: watcher.status()["good"]["snapshots"] >= 1)
        await good.create_app_password("late")
        await wait_for(lambda: [e["new"] for e in sink.events] == ["late"])
        await wait_for(lambda: watcher.status()["bad"]["errors"] >= 2)
        # a sink that fails: the snapshot is not kept, so the change comes again next round
        failing = [True]

        async def flaky(event: dict[str, Any]) -> None:
            if failing[0]:
                failing[0] = False
                raise RuntimeError("the engine hiccupped")
            await sink(event)

        watcher.sink = flaky
        await good.create_app_password("later")
        await wait_for(lambda: [e["new"] for e in sink.events] == ["late", "later"])
        assert (
            "RuntimeError" in watcher.status()["good"]["last_error"]
            or watcher.status()["good"]["errors"] == 0
        )
        await watcher.stop()
    assert watcher.status()["bad"]["snapshots"] == 0
    assert broken["password"] not in watcher.status()["bad"]["last_error"]


@pytest.mark.pds
async def test_bluesky_hijack_on_a_real_pds_is_seen_field_by_field(pds: Pds, store: Store) -> None:
    user = pds.create_account()
    creds = {**user, "plc": pds.plc_url}
    sink = Sink()
    watcher = AccountStateWatcher(store, sink)
    owner = create_adapter("bluesky", "acct-b", creds, base_url=pds.url)
    assert isinstance(owner, BlueskyAdapter)
    async with owner:
        watcher.add("acct-b", owner)
        assert await watcher.snapshot("acct-b") == []
        # the attacker's own session: an app password to keep access, then a new handle
        async with httpx.AsyncClient(base_url=f"{pds.url}/xrpc/") as c:
            auth = pds.auth_headers(user)
            created = await c.post(
                "com.atproto.server.createAppPassword", headers=auth, json={"name": "keep"}
            )
            assert created.status_code == 200
            renamed = "x" + user["handle"]
            r = await c.post("com.atproto.identity.updateHandle", headers=auth, json={"handle": renamed})
            assert r.status_code == 200
        events = await watcher.snapshot("acct-b")
    assert changes(events) == [("handle", user["handle"], renamed), ("app_password", None, "keep")]
    assert all("client" not in e for e in events)


async def test_known_good_snapshot_waits_a_day_without_foreign_changes(
    sandbox: SandboxServer, store: Store
) -> None:
    creds = new_account(sandbox)
    now = [1_000_000.0]
    watcher = AccountStateWatcher(store, Sink(), clock=lambda: now[0])
    async with create_adapter("sandbox", "acct-g", creds) as adapter:
        watcher.add("acct-g", adapter)
        await watcher.snapshot("acct-g")
        assert appeared_since_good(store, "acct-g") == ({}, "1970-01-12T13:46:40Z")
        await adapter.create_app_password("intruder")
        now[0] += 300
        await watcher.snapshot("acct-g")
        watcher.own.note("acct-g", "app_password", "sentinel-app_password-2")
        await adapter.create_app_password("sentinel-app_password-2")
        now[0] += 3600  # an hour later, only Sentinel's own change: not settled yet
        await watcher.snapshot("acct-g")
        appeared, since = appeared_since_good(store, "acct-g")
        assert appeared == {"app_password": ["intruder", "sentinel-app_password-2"]}
        assert since == "1970-01-12T13:46:40Z"
        now[0] += 86400  # a day with nothing foreign: the current state is the known-good one
        await watcher.snapshot("acct-g")
    assert appeared_since_good(store, "acct-g")[0] == {}
    assert appeared_since_good(store, "never-seen") == ({}, "")


async def test_pokes_coalesce_into_one_running_and_one_pending_snapshot(
    sandbox: SandboxServer, store: Store
) -> None:
    creds = new_account(sandbox)
    sink = Sink()
    watcher = AccountStateWatcher(store, sink, interval=3600.0, jitter=0)
    async with create_adapter("sandbox", "acct-p", creds) as adapter:
        watcher.add("acct-p", adapter)
        assert not watcher.poke("acct-p")  # not running yet
        await watcher.snapshot("acct-p")  # the baseline
        await watcher.run()
        await adapter.create_app_password("first")
        async with watcher.state["acct-p"].lock:  # a snapshot is running: pokes wait for it
            assert all(watcher.poke("acct-p") for _ in range(5))
            assert watcher.busy("acct-p") and len(watcher._poked) == 1
        await wait_for(lambda: not watcher.busy("acct-p"))
        assert not watcher.poke("nobody")
        await watcher.stop()
    assert [(e["field"], e["new"]) for e in sink.events] == [("app_password", "first")]
    st = watcher.status()["acct-p"]
    assert (st["events"], st["pokes"], st["errors"]) == (1, 5, 0)


async def test_an_account_failing_round_after_round_is_logged_when_it_starts_and_ends(
    sandbox: SandboxServer, store: Store
) -> None:
    creds = new_account(sandbox)
    watcher = AccountStateWatcher(store, Sink())
    async with create_adapter("sandbox", "acct-f", creds) as adapter:
        watcher.add("acct-f", adapter)
        await watcher.snapshot("acct-f")  # the baseline
        httpx.post(
            f"{sandbox.url}/api/_faults", json={"handle": creds["identifier"], "status": 400, "count": 5}
        ).raise_for_status()
        with structlog.testing.capture_logs() as logs:
            for _ in range(6):
                await watcher.snapshot("acct-f")
    lines = [(e["event"], e.get("failures")) for e in logs if e["event"].startswith("account_state.snapshot")]
    assert lines == [("account_state.snapshot_failed", None), ("account_state.snapshot_recovered", 5)]
    assert watcher.status()["acct-f"]["errors"] == 0
