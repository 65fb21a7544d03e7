"""Rule statistics and acknowledgements through the API, against real OpenBao: the counts the
daemon keeps, acknowledgements created, listed by who may see them, revoked and audited."""

from __future__ import annotations

import time
from typing import Any

from sentinel.engine.events import Decision, Finding
from sentinel.rulestats import COMPONENT, MIGRATIONS, RuleStats
from tests.api.conftest import Harness

UNTIL = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
ACK = {
    "rule": "test.hold-marker",
    "account": "acct-a",
    "key": "Fest.Example",
    "days": 30,
    "reason": "the fest microsite, ticket FEST-12",
}


def audited(harness: Harness) -> list[tuple[str, str, str, dict[str, Any]]]:
    seen: list[tuple[str, str, str, dict[str, Any]]] = []
    harness.deps.audit = lambda actor, action, target, details: seen.append(
        (actor, action, target, dict(details))
    )
    return seen


async def test_rule_stats_show_enforced_and_observed_counts(harness: Harness) -> None:
    stats = RuleStats()
    hold = Finding("test.hold-marker", "medium", "matched", 5.0)
    trial = Finding("test.observe-marker", "high", "matched", 9.0)
    now = time.time()
    stats.note(Decision("e1", "acct-a", "gate", "hold", 5.0, "medium", (hold,)), now)
    stats.note(
        Decision("e2", "acct-b", "gate", "allow", 0.0, "info", (), observed=(trial,), would="block"), now
    )
    stats.note(Decision("e3", "acct-a", "gate", "hold", 5.0, "medium", (hold,)), now - 30 * 86400)
    harness.store.migrate(COMPONENT, MIGRATIONS)  # as the guard does on start
    stats.flush(harness.store)
    got = await harness.client.get("/v1/rules/stats?days=7", headers=harness.auth("op-tuner"))
    assert got.status_code == 200
    assert got.json() == {  # tune on acct-a only: acct-a's counts only
        "days": 7,
        "scope": "accounts",
        "accounts": ["acct-a"],
        "rules": [{"rule": "test.hold-marker", "mode": "enforce", "verdict": "hold", "count": 1}],
    }
    week = await harness.client.get("/v1/rules/stats?days=7", headers=harness.auth("op-lock"))
    assert week.json() == {
        "days": 7,
        "scope": "organisation",
        "rules": [
            {"rule": "test.hold-marker", "mode": "enforce", "verdict": "hold", "count": 1},
            {"rule": "test.observe-marker", "mode": "observe", "verdict": "block", "count": 1},
        ],
    }
    month = await harness.client.get("/v1/rules/stats?days=60", headers=harness.auth("op-lock"))
    assert month.json()["rules"][0]["count"] == 2
    bad = await harness.client.get("/v1/rules/stats?days=0", headers=harness.auth("op-tuner"))
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "days"


async def test_an_ack_is_created_listed_by_who_may_see_it_and_revoked(harness: Harness) -> None:
    c = harness.client
    seen = audited(harness)
    made = await c.post("/v1/rules/acks", json=ACK, headers=harness.auth("op-tuner"))
    assert made.status_code == 201, made.text
    ack = made.json()
    assert ack["by"] == "op-tuner" and ack["key"] == "fest.example" and ack["until"].startswith(UNTIL)
    assert [(a, act, t) for a, act, t, _ in seen] == [("op-tuner", "rule.ack", "acct-a")]
    assert seen[0][3]["reason"] == ACK["reason"]

    async def listed(person: str, query: str = "") -> list[int]:
        resp = await c.get("/v1/rules/acks" + query, headers=harness.auth(person))
        assert resp.status_code == 200, resp.text
        return [a["id"] for a in resp.json()["acks"]]

    # analytics or tune on the account shows it; lockdown shows every one; others see none
    for person in ("op-tuner", "op-mod", "op-lock"):
        assert await listed(person) == [ack["id"]], person
    assert await listed("op-pub") == await listed("op-nobody") == []
    gone = await c.delete(f"/v1/rules/acks/{ack['id']}", headers=harness.auth("op-all"))
    assert gone.status_code == 200 and gone.json()["revoked_by"] == "op-all" and gone.json()["revoked"]
    assert seen[-1][:3] == ("op-all", "rule.unack", "acct-a")
    assert await listed("op-tuner") == [] and await listed("op-tuner", "?all=true") == [ack["id"]]
    again = await c.delete(f"/v1/rules/acks/{ack['id']}", headers=harness.auth("op-all"))
    assert again.status_code == 404
