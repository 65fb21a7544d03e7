"""The guard in the daemon: engine + responder, real OpenBao and the sandbox platform."""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentinel.api.protocols import GuardGate
from sentinel.config import load_config
from sentinel.daemon import App
from sentinel.engine.events import Decision, parse_event, parse_ts
from sentinel.engine.loader import load_rules
from sentinel.errors import SentinelError
from sentinel.platforms import create_adapter
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.platforms.timefmt import utc_z
from sentinel.post_guard import Guard
from sentinel.response.service import ResponseService
from sentinel.response.store import ResponseStore
from sentinel.rulestats import read as read_stats
from sentinel.vault.client import VaultClient
from sentinel.watcher.service import WatcherService
from tests.conftest import Deployment, running_app, sandbox_inventory, seed_sandbox
from tests.waiting import wait_for

SCAM = "Send 1 BTC to bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh and get 2 back! https://claim-example.com"


def setup(deployment: Deployment, sandbox: SandboxServer) -> tuple[App, dict[str, str]]:
    tag = secrets.token_hex(3)
    handles = {"acme-x": f"acme-{tag}", "acme-bsky": f"acmeb-{tag}"}
    inv = sandbox_inventory({aid: {"handle": h, "domains": ["example.com"]} for aid, h in handles.items()})
    (deployment.dir / "inventory.toml").write_text(inv)
    config = load_config(deployment.config, env={})
    vault = VaultClient.from_settings(config.vault, env={})
    seed_sandbox(sandbox.url, vault, handles)
    return running_app(config, vault), handles


async def quiet_guard(deployment: Deployment, sandbox: SandboxServer) -> tuple[App, Guard]:
    """A started guard on a fresh deployment whose alerts go nowhere."""
    app, _ = setup(deployment, sandbox)
    app.alert = lambda **kw: None
    guard = Guard()
    await guard.start(app)
    return app, guard


async def test_out_of_band_scam_freezes_and_survives_restart(
    deployment: Deployment, sandbox: SandboxServer
) -> None:
    app, handles = setup(deployment, sandbox)
    alerts: list[tuple[str, str]] = []
    tags: list[str] = []
    app.alert = lambda **kw: (alerts.append((kw["kind"], kw["summary"])), tags.extend(kw.get("tags", ())))
    guard, responder = Guard(), ResponseService()
    await guard.start(app)
    await responder.start(app)

    ok = guard.check(
        {
            "id": "g1",
            "ts": "2026-11-28T10:00:00Z",
            "account": "acme-bsky",
            "via": "gate",
            "text": "Our spring collection is here https://example.com/spring",
            "client": "Buffer",
            "post_id": "p0",
            "author": "op-ann",
        }
    )
    assert ok.verdict == "allow"
    d = guard.check(
        {
            "id": "o1",
            "ts": "2026-11-28T10:05:00Z",
            "account": "acme-x",
            "via": "observed",
            "text": SCAM,
            "client": "Web",
            "post_id": "p1",
        }
    )
    assert d.freeze is not None
    # The gate is blocked before check() returned; the responder finishes in the background.
    blocked = guard.check(
        {
            "id": "g2",
            "ts": "2026-11-28T10:05:01Z",
            "account": "acme-x",
            "via": "gate",
            "text": "hello",
            "client": "Buffer",
            "post_id": "p2",
            "author": "op-ann",
        }
    )
    assert blocked.verdict == "block"
    await asyncio.gather(*list(guard._tasks))
    rec = ResponseStore(app.store).get("acme-x")
    assert rec is not None and rec.frozen and rec.automatic
    steps = {s.step: s.status for s in rec.steps}
    assert steps["vault"] == "done" and steps["sessions"] == "done" and steps["lock"] == "done"
    assert steps["evidence"] == "skipped"  # stored as evidence, deletion is off by default
    incident = ResponseStore(app.store).incident(rec.incident or 0)
    assert incident and any(e["kind"] == "post" and e["data"]["text"] == SCAM for e in incident["events"])
    # MITRE ATT&CK: the out-of-band rule's techniques are on its finding and on the freeze alert
    oob = [e["data"] for e in incident["events"] if e["data"].get("rule") == "provenance.out-of-band"]
    assert oob and oob[0]["attack"] == ["T1078", "T1539"] and {"T1078", "T1539"} <= set(tags)
    assert ("freeze", f"acme-x frozen: {rec.reason}") in alerts
    status = httpx.post(
        f"{sandbox.url}/api/sessions", json={"handle": handles["acme-x"], "password": "x" * 10}
    )
    assert status.status_code == 401
    await responder.stop()
    await guard.stop()

    # A restart: the freeze and the learned baselines come back from the store.
    guard2 = Guard()
    await guard2.start(app)
    again = guard2.check(
        {
            "id": "g3",
            "ts": "2026-11-28T11:00:00Z",
            "account": "acme-x",
            "via": "gate",
            "text": "hello",
            "client": "Buffer",
            "post_id": "p3",
            "author": "op-ann",
        }
    )
    assert again.verdict == "block"
    assert guard2.engine is not None and guard2.engine.state("acme-bsky").to_state() != {}
    await guard2.stop()
    actions = [e.action for e in app.audit.entries()]
    assert "freeze" in actions and "freeze.steps" in actions
    app.store.close()


async def test_broken_rule_file_keeps_rules_and_alerts(
    deployment: Deployment, sandbox: SandboxServer
) -> None:
    rules = deployment.dir / "rules.d"
    rules.mkdir()
    cfg = deployment.config.read_text().replace(
        'log_format = "json"\n', f'log_format = "json"\nrules_dirs = ["{rules}"]\n'
    )
    deployment.config.write_text(cfg)
    app, _ = setup(deployment, sandbox)
    alerts: list[str] = []
    app.alert = lambda **kw: alerts.append(kw["kind"])
    guard = Guard()
    await guard.start(app)
    before = len(guard.engine.rules) if guard.engine else 0
    (rules / "broken.yaml").write_text("rules:\n  - id: x\n    detector: [nope\n")
    await wait_for(lambda: alerts, what="the rule file's alert")
    assert alerts == ["rule_file_error"]
    assert guard.engine is not None and len(guard.engine.rules) == before
    await guard.stop()
    app.store.close()


async def test_blast_radius_contains_everything_one_operator_reaches(
    deployment: Deployment, sandbox: SandboxServer
) -> None:
    tag = secrets.token_hex(3)
    owners = {"acme-a": "op-mal", "acme-b": "op-mal", "acme-c": "op-mal", "acme-d": "op-ann"}
    handles = {a: f"{a}-{tag}" for a in owners}
    inv = sandbox_inventory(
        {a: {"handle": handles[a], "owners": [o], "domains": ["example.com"]} for a, o in owners.items()}
    )
    (deployment.dir / "inventory.toml").write_text(inv)
    config = load_config(deployment.config, env={})
    vault = VaultClient.from_settings(config.vault, env={})
    seed_sandbox(sandbox.url, vault, handles, identifier=True)
    entity = deployment.admin.request("POST", "identity/entity", json={"name": f"op-mal-{tag}"})["data"]["id"]
    inv = (deployment.dir / "inventory.toml").read_text().replace('"op-mal"', f'"op-mal-{tag}"')
    (deployment.dir / "inventory.toml").write_text(inv)
    app = running_app(config, vault)
    store = app.store
    app.alert = lambda **kw: None
    guard, responder = Guard(), ResponseService()
    await guard.start(app)
    await responder.start(app)
    for i, account in enumerate(("acme-a", "acme-b")):
        d = guard.check(
            {
                "id": f"g{i}",
                "ts": f"2026-11-28T10:0{i}:00Z",
                "account": account,
                "via": "gate",
                "text": SCAM,
                "client": "SocialSuite",
                "author": f"op-mal-{tag}",
                "caller": f"op-mal-{tag}",  # the API sets it from the Vault token
                "ip": "203.0.113.9",
            }
        )
        assert d.verdict == "block" and d.freeze is not None
    while guard._tasks:
        await asyncio.gather(*list(guard._tasks))
    rs = ResponseStore(app.store)
    assert rs.frozen() == ["acme-a", "acme-b", "acme-c"]  # op-mal reaches acme-c too; acme-d is op-ann's
    rec_c = rs.get("acme-c")
    assert rec_c is not None and rec_c.operator == f"op-mal-{tag}"
    assert "disabled in Vault" in next(s.detail for s in rec_c.steps if s.step == "vault")
    assert deployment.admin.entity_read(entity)["disabled"] is True
    await responder.stop()
    await guard.stop()
    store.close()


async def test_approved_post_seen_on_the_platform_is_reconciled_even_after_a_restart(
    deployment: Deployment, sandbox: SandboxServer
) -> None:
    app, guard = await quiet_guard(deployment, sandbox)
    text = "Spring is here: our new collection https://example.com/spring"
    ok = guard.check(
        {
            "id": "g1",
            "ts": "2026-11-28T10:00:00Z",
            "account": "acme-x",
            "via": "gate",
            "text": text,
            "client": "Buffer",
            "author": "op-ann",
        }
    )
    assert ok.verdict == "allow"
    await guard.stop()  # the approval is saved with the baselines
    guard2 = Guard()
    await guard2.start(app)
    # The platform shows it under its own id, the link written its own way (the adapter
    # expands the platform's wrapped links; scheme, www, a trailing slash, tracking aside).
    await guard2.observe(
        {
            "id": "o1",
            "ts": "2026-11-28T10:00:40Z",
            "account": "acme-x",
            "via": "observed",
            "text": "Spring is here: our new collection http://www.example.com/spring/?utm_source=x",
            "client": "Buffer",
            "post_id": "sandbox:77",
            "reconciled": None,
        }
    )
    assert ResponseStore(app.store).frozen() == []
    assert guard2.checked.get("ok") == 1 and not guard2.checked.get("flagged")
    # The same text again is no longer covered: the approval was used once.
    await guard2.observe(
        {
            "id": "o2",
            "ts": "2026-11-28T10:01:00Z",
            "account": "acme-x",
            "via": "observed",
            "text": text,
            "client": "Web",
            "post_id": "sandbox:78",
            "reconciled": None,
        }
    )
    assert guard2.checked.get("flagged") == 1 or ResponseStore(app.store).frozen() == ["acme-x"]
    await guard2.stop()
    app.store.close()


async def test_held_post_approved_and_published_is_reconciled_not_frozen(
    deployment: Deployment, sandbox: SandboxServer
) -> None:
    app, guard = await quiet_guard(deployment, sandbox)
    gate = GuardGate(guard)
    text = "Reminder: verify your account settings before Monday https://example.com/help"

    def gate_check(n: int, minute: int) -> Decision:
        return gate.evaluate(
            parse_event(
                {
                    "id": f"evt_{n}",
                    "ts": f"2026-11-28T10:{minute:02d}:00Z",
                    "account": "acme-x",
                    "via": "gate",
                    "text": text,
                    "client": "sentinel-broker",
                    "post_id": f"api:{n}",
                    "author": "op-ann",
                }
            )
        )

    def seen(n: int, minute: int) -> dict[str, Any]:
        return {
            "id": f"obs:{n}",
            "ts": f"2026-11-28T10:{minute:02d}:02Z",
            "account": "acme-x",
            "via": "observed",
            "text": text.replace("https://example.com/help", "https://example.com/help/"),
            "client": "sentinel-broker",
            "post_id": f"sandbox:{n}",
            "reconciled": None,
        }

    # The broker held the post; a person approved it and the broker published it (POST
    # /v1/held/{id}/approve); the watcher sees it on the platform about 1.5 s later.
    assert gate_check(1, 0).verdict == "hold"
    gate.approve("acme-x", "evt_1", parse_ts("2026-11-28T10:01:00Z"), text, parse_ts("2026-11-28T10:00:00Z"))
    gate.published("acme-x", "evt_1", "sandbox:1", text)
    await guard.observe(seen(1, 1))
    assert ResponseStore(app.store).frozen() == [] and guard.engine is not None
    assert guard.engine.frozen("acme-x") is None
    assert guard.checked.get("ok") == 1 and not guard.checked.get("flagged")
    # A gate-kind hold: the tool publishes the approved post itself, found by its text.
    assert gate_check(2, 5).verdict == "hold"
    gate.approve("acme-x", "evt_2", parse_ts("2026-11-28T10:06:00Z"), text, parse_ts("2026-11-28T10:05:00Z"))
    await guard.observe(seen(2, 6))
    assert guard.engine.frozen("acme-x") is None and guard.checked.get("ok") == 2
    # A held post nobody approved that shows up anyway is still published outside the gate.
    assert gate_check(3, 10).verdict == "hold"
    await guard.observe(seen(3, 11))
    assert guard.engine.frozen("acme-x") is not None
    await guard.stop()
    app.store.close()


def gate_event(event_id: str, ts: str, text: str, client: str = "Buffer") -> dict[str, Any]:
    """A gate check of ``acme-x`` by its usual operator."""
    return {
        "id": event_id,
        "ts": ts,
        "account": "acme-x",
        "via": "gate",
        "text": text,
        "client": client,
        "author": "op-ann",
    }


async def test_approved_copy_with_a_swapped_link_is_out_of_band_and_freezes(
    deployment: Deployment, sandbox: SandboxServer
) -> None:
    """The attack: words cleared at the gate (or a held post a person approved) posted out of
    band with another link. The approval covers the words and the links, so the copy is
    judged as published outside the gate; the approved post itself is still reconciled."""
    app, guard = await quiet_guard(deployment, sandbox)
    text = "Our spring collection is here https://example.com/spring"
    swapped = "Our spring collection is here https://example-spring-sale.com/spring"

    def gate_check(n: int, minute: int) -> Decision:
        return guard.check(gate_event(f"g{n}", f"2026-11-28T10:{minute:02d}:00Z", text))

    def seen(n: int, minute: int, body: str) -> dict[str, Any]:
        return {
            "id": f"o{n}",
            "ts": f"2026-11-28T10:{minute:02d}:20Z",
            "account": "acme-x",
            "via": "observed",
            "text": body,
            "client": "Web",
            "post_id": f"sandbox:{n}",
        }

    # Cleared at the gate, then the same words with the approved link: reconciled.
    assert gate_check(1, 0).verdict == "allow"
    await guard.observe(seen(1, 0, text))
    assert guard.checked.get("ok") == 1 and not guard.checked.get("flagged")
    assert guard.engine is not None and guard.engine.frozen("acme-x") is None
    # Cleared again, but what shows up is the same words with another link: published
    # outside the gate (flagged), and the approval stays unused.
    assert gate_check(2, 5).verdict == "allow"
    await guard.observe(seen(2, 5, swapped))
    assert guard.checked.get("flagged") == 1 and guard.checked.get("ok") == 1
    assert "gate:g2" in guard.engine.state("acme-x").approved
    # A held post a person approved, posted out of band behind a shortened link: out-of-band
    # with a score past the policy's freeze_score, so the account is frozen.
    GuardGate(guard).approve(
        "acme-bsky", "evt_9", parse_ts("2026-11-28T10:20:00Z"), text, parse_ts("2026-11-28T10:19:00Z")
    )
    short = text.replace("https://example.com/spring", "https://bit.ly/spring-sale")
    await guard.observe({**seen(9, 20, short), "account": "acme-bsky"})
    frozen = guard.engine.frozen("acme-bsky")
    assert frozen is not None and "provenance.out-of-band" in frozen.reason
    assert guard.engine.frozen("acme-x") is None
    await guard.stop()  # the counts are written with the baselines
    counts = {(c.rule, c.verdict): c.count for c in read_stats(app.store, parse_ts("2026-11-27T00:00:00Z"))}
    assert counts[("provenance.out-of-band", "flagged")] == 1
    assert counts[("provenance.out-of-band", "freeze")] == 1
    app.store.close()


async def test_the_watcher_finds_approved_words_posted_on_the_platform_with_another_link(
    deployment: Deployment, sandbox: SandboxServer
) -> None:
    """End to end: a copy of a gate-cleared text with a swapped link, published with the
    account's credentials before the tool publishes, does not use up the approval: it is
    out-of-band and freezes the account, and the approved post is still reconciled."""
    handle = f"acme-{secrets.token_hex(3)}"
    inv = sandbox_inventory({"acme-x": {"handle": handle, "domains": ["example.com"]}})
    (deployment.dir / "inventory.toml").write_text(inv)
    config = load_config(deployment.config, env={})
    vault = VaultClient.from_settings(config.vault, env={})
    password = seed_sandbox(sandbox.url, vault, {"acme-x": handle})["acme-x"]
    app = running_app(config, vault)
    app.alert = lambda **kw: None
    guard, watcher = Guard(), WatcherService()
    await guard.start(app)
    await watcher.start(app)
    creds = {"identifier": handle, "password": password, "service": sandbox.url}
    thief = create_adapter("sandbox", "acme-x", creds)
    text = "Our spring collection is here https://example.com/spring"
    try:
        assert guard.check(gate_event("g1", utc_z(time.time()), text)).verdict == "allow"
        # the attacker's copy goes out first, then the tool publishes what was approved
        swapped = await thief.publish(
            text.replace("https://example.com/spring", "https://bit.ly/spring-sale")
        )
        await thief.publish(text, client="Buffer")
        assert watcher.watcher is not None
        watcher.watcher.wake("acme-x")
        await wait_for(lambda: guard.checked.get("ok", 0) + guard.checked.get("flagged", 0) == 2)
        assert guard.checked.get("ok") == 1  # the approved post, reconciled
        frozen = guard.engine.frozen("acme-x") if guard.engine else None
        assert frozen is not None and frozen.event == f"obs:acme-x:{swapped.post_id}"
        assert "provenance.out-of-band" in frozen.reason
    finally:
        await thief.aclose()
        await watcher.stop()
        await guard.stop()
        app.store.close()


async def test_broker_post_edited_to_another_link_is_a_gate_mismatch(
    deployment: Deployment, sandbox: SandboxServer
) -> None:
    app, guard = await quiet_guard(deployment, sandbox)
    text = "Our spring collection is here https://example.com/spring"
    assert guard.check(gate_event("g1", "2026-11-28T10:00:00Z", text, "sentinel-broker")).verdict == "allow"
    guard.published("acme-x", "gate:g1", "sandbox:5", text)
    seen = {"id": "o5", "ts": "2026-11-28T10:00:05Z", "account": "acme-x", "via": "observed", "client": "Web"}
    await guard.observe({**seen, "text": text.replace("example.com", "examp1e.com"), "post_id": "sandbox:5"})
    await guard.stop()  # the counts are written with the baselines
    counts = {c.rule for c in read_stats(app.store, parse_ts("2026-11-27T00:00:00Z"))}
    assert counts == {"provenance.gate-mismatch"}
    app.store.close()


async def test_rule_in_observe_mode_never_freezes_and_its_counts_are_stored(
    deployment: Deployment, sandbox: SandboxServer, tmp_path: Path
) -> None:
    app, guard = await quiet_guard(deployment, sandbox)
    (tmp_path / "trial.yaml").write_text(
        "mode: observe\nrules:\n"
        "  - {id: trial.script, description: d, detector: html_injection, severity: critical, score: 9}\n"
    )
    assert guard.engine is not None
    guard.engine.set_rules(load_rules([tmp_path]))
    d = guard.check(
        {
            "id": "g1",
            "ts": "2026-11-28T10:00:00Z",
            "account": "acme-x",
            "via": "gate",
            "text": "<script>alert(1)</script>",
            "client": "Buffer",
            "author": "op-ann",
        }
    )
    assert d.verdict == "allow" and d.would == "freeze" and guard.engine.frozen("acme-x") is None
    await guard.stop()  # the counts are written with the baselines
    assert ResponseStore(app.store).frozen() == []
    counts = read_stats(app.store, parse_ts("2026-11-27T00:00:00Z"))
    assert [c.to_dict() for c in counts] == [
        {"rule": "trial.script", "mode": "observe", "verdict": "freeze", "count": 1}
    ]


async def test_takeover_sources_freeze_before_any_post_and_contain_the_identity(
    deployment: Deployment, sandbox: SandboxServer
) -> None:
    from tests.engine import takeover_sim as sim

    app, _ = setup(deployment, sandbox)
    alerts: list[tuple[str, str]] = []
    app.alert = lambda **kw: alerts.append((kw["kind"], kw["summary"]))
    guard, responder = Guard(), ResponseService()
    await guard.start(app)
    await responder.start(app)
    doc = {"id": "did:plc:abc", "pds": "https://pds.example.com", "rotation_keys": ["did:key:one"]}
    moved = {
        "kind": "account",
        "id": "a1",
        "ts": "2026-11-28T03:00:00Z",
        "account": "acme-bsky",
        "field": "did",
    }
    [j] = guard.takeover({**moved, "old": doc, "new": {**doc, "pds": "https://evil.example.net"}})
    assert j.verdict == "flagged" and [f.account for f in j.freezes] == ["acme-bsky"]
    gate = {"id": "g1", "ts": "2026-11-28T03:05:00Z", "account": "acme-bsky", "via": "gate", "text": "Hello"}
    assert guard.check({**gate, "client": "Buffer", "author": "op-ann"}).verdict == "block"

    tag = secrets.token_hex(3)
    entity = deployment.admin.request("POST", "identity/entity", json={"name": f"op-mal-{tag}"})["data"]["id"]
    mount = app.config.vault.kv_mount
    when = sim.at(0, 3)
    read = sim.audit(when, "op-mal", f"{mount}/data/accounts/acme-x/password", entity_id=entity)
    tamper = sim.audit(when, "op-mal", "sys/policies/acl/sentinel-role-team", "update", entity_id=entity)
    out = [j for raw in [*read, *tamper] for j in guard.takeover(raw)]
    [contain] = [j.contain for j in out if j.contain is not None]
    assert contain.identity == entity and contain.accounts == ("acme-x",)
    while guard._tasks:
        await asyncio.gather(*list(guard._tasks))
    assert deployment.admin.entity_read(entity)["disabled"] is True
    assert sorted(ResponseStore(app.store).frozen()) == ["acme-bsky", "acme-x"]
    assert any(kind == "contain" and "op-mal" in summary for kind, summary in alerts)
    with pytest.raises(SentinelError, match="posts go through check"):
        guard.takeover(gate)
    unanswered = sim.read(when, "op-ann", "acme-x")[0]
    assert guard.takeover(unanswered) == []
    [late] = guard.expire_pending(when.timestamp() + 120)  # no response came: decided on its own
    assert late.event == unanswered["request"]["id"]
    await responder.stop()
    await guard.stop()

    again = Guard()  # what the intake learned survives a restart
    await again.start(app)
    assert again.intake is not None and again.intake.identities[entity].contained is not None
    assert again.intake.settings.self == ("token-sentinel-daemon",)  # its own token, looked up
    await again.stop()
    app.store.close()
