"""Incidents and account states are shown only as far as the caller may see (issue #12,
finding 5): a person with ``analytics`` on one account must not read another account's events
through an incident that spans both, nor learn through the account list that another account
is frozen, why, or by whom."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sentinel.alerts.bridge import alert_from_kwargs
from sentinel.api.app import create_app
from sentinel.engine.events import Decision, Finding
from sentinel.response.store import ResponseStore
from sentinel.rulestats import COMPONENT, MIGRATIONS, RuleStats
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


ALERTS = [
    {
        "id": "both",
        "kind": "freeze",
        "status": "firing",
        "severity": "critical",
        "summary": "acct-a and acct-c frozen: worm sent from op-raj's laptop through acct-c",
        "accounts": ["acct-a", "acct-c"],
        "rule": "worm",
    },
    {
        "id": "only-c",
        "kind": "freeze",
        "status": "firing",
        "severity": "critical",
        "summary": "acct-c frozen: secret-ish",
        "accounts": ["acct-c"],
        "rule": "",
    },
    {
        "id": "org",
        "kind": "vault_unreachable",
        "status": "firing",
        "severity": "critical",
        "summary": "Vault unreachable",
        "accounts": [],
        "rule": "",
    },
]


async def test_alert_summaries_name_only_the_accounts_the_caller_sees(world: World, tmp_path: Path) -> None:
    """A person with ``analytics`` on acct-a lists alerts: one about acct-a and acct-c is shown
    about acct-a alone, and its summary (free text naming acct-c) is not shown; a person with
    ``analytics`` on every account, or ``lockdown``, sees the organisation's alerts as raised."""
    store = Store(tmp_path / "state.sqlite3")
    deps, *_ = build_deps(world, store, alerts=lambda limit: [dict(a) for a in ALERTS][:limit])
    transport = httpx.ASGITransport(app=create_app(deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
        mod = (await c.get("/v1/alerts", headers=world.auth("op-mod"))).json()["alerts"]
        everything = [
            (await c.get("/v1/alerts", headers=world.auth(p))).json()["alerts"]
            for p in ("op-analyst", "op-lock")
        ]
    store.close()
    assert [(a["id"], a["accounts"], a["rule"]) for a in mod] == [("both", ["acct-a"], "worm")]
    assert "acct-c" not in str(mod) and "op-raj" not in str(mod) and "secret-ish" not in str(mod)
    assert mod[0]["summary"] == "Account frozen on acct-a"
    assert everything == [ALERTS, ALERTS]


async def test_rule_stats_count_only_the_accounts_the_caller_may_tune(world: World, tmp_path: Path) -> None:
    """A tuner of acct-a must not learn what fired on other accounts (how often a rule on
    trial would have blocked acct-c's posts); ``lockdown`` keeps the organisation's counts."""
    store = Store(tmp_path / "state.sqlite3")
    stats = RuleStats()
    hit = Finding("test.marker", "medium", "matched", 5.0)
    now = time.time()
    stats.note(Decision("e1", "acct-a", "gate", "hold", 5.0, "medium", (hit,)), now)
    for n in range(3):
        stats.note(Decision(f"c{n}", "acct-c", "gate", "hold", 5.0, "medium", (hit,)), now)
    store.migrate(COMPONENT, MIGRATIONS)
    stats.flush(store)
    deps, *_ = build_deps(world, store)
    transport = httpx.ASGITransport(app=create_app(deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
        tuner = (await c.get("/v1/rules/stats", headers=world.auth("op-tuner"))).json()
        lock = (await c.get("/v1/rules/stats", headers=world.auth("op-lock"))).json()
        nobody = await c.get("/v1/rules/stats", headers=world.auth("op-analyst"))
    store.close()
    assert (tuner["scope"], tuner["accounts"], [r["count"] for r in tuner["rules"]]) == (
        "accounts",
        ["acct-a"],
        [1],
    )
    assert (lock["scope"], [r["count"] for r in lock["rules"]]) == ("organisation", [4])
    assert nobody.status_code == 403


def _raised(**kw: object) -> dict[str, object]:
    """An alert row as the outbox lists it, raised with these keywords."""
    alert, _ = alert_from_kwargs(**kw)
    return alert.to_dict()


async def test_an_alert_spanning_a_hidden_account_shows_none_of_its_words_about_it(
    world: World, tmp_path: Path
) -> None:
    """Besides its summary, an alert carries free text that can name every account it is
    about: the commands to run next (``sentinel unfreeze acct-c``), its dedup key, details
    (a blast radius's lockdown command, the operator), findings, step details, the offending
    post and its address. A person with ``analytics`` on acct-a reading an alert about acct-a
    and acct-c must learn nothing of acct-c from any of them."""
    rows = [
        _raised(
            kind="lockdown",
            severity="critical",
            summary="acct-a, acct-c frozen: worm",
            accounts=["acct-a", "acct-c"],
            rule="worm",
            details={"command": "sentinel lockdown --operator op-raj --reason 'worm via acct-c'"},
            todo=["revoke op-raj's sessions on acct-c by hand"],
            steps={"lock": "acct-c locked at the platform"},
            failed=["rotate: acct-c's app password could not be rotated"],
            findings=["worm: the post on acct-c links a wallet"],
            post_excerpt="secret-ish scam text posted on acct-c",
            post_url="https://bsky.app/profile/acct-c.example/post/3kxyz",
            tags=["T1586"],
        )
    ]
    store = Store(tmp_path / "state.sqlite3")
    deps, *_ = build_deps(world, store, alerts=lambda limit: [dict(r) for r in rows][:limit])
    transport = httpx.ASGITransport(app=create_app(deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
        mod = await c.get("/v1/alerts", headers=world.auth("op-mod"))  # analytics on acct-a only
        lock = await c.get("/v1/alerts", headers=world.auth("op-lock"))
    store.close()
    assert mod.status_code == 200, mod.text
    [shown] = mod.json()["alerts"]
    assert "acct-c" not in mod.text and "op-raj" not in mod.text and "secret-ish" not in mod.text
    assert (shown["kind"], shown["accounts"], shown["rule"], shown["tags"]) == (
        "lockdown",
        ["acct-a"],
        "worm",
        ["T1586"],
    )
    assert shown["next_steps"] == ['sentinel unfreeze acct-a --reason "..."']  # for what they see
    assert lock.json()["alerts"] == rows  # a responder with lockdown reads it whole
