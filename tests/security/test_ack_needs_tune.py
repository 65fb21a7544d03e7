"""Silencing a rule is a privileged act: ``sentinel rules ack`` and ``POST /v1/rules/acks`` act
as the caller (their Vault token), need the 'tune' capability on the account, are audited under
their name, and the running daemon applies it within a second. Attacks: an operator without
'tune' tries to silence the rule that would catch their own scam link, from the CLI and the
API; a tuner of one account tries to silence another; malformed and oversized requests try to
slip a half-checked acknowledgement in."""

from __future__ import annotations

import json
import time

import pytest

from sentinel.acks import AckStore, engine_acks
from sentinel.audit import AuditTrail
from sentinel.audit_keys import audit_keystore
from sentinel.cli import main
from sentinel.config import load_config
from sentinel.post_guard import Guard
from sentinel.store import Store
from sentinel.vault.client import VaultClient
from tests.api.conftest import Harness
from tests.conftest import Deployment, running_app
from tests.security.logins import login, userpass_mount

POST = {
    "id": "o1",
    "ts": "2026-11-28T10:00:00Z",
    "account": "example-brand-x",
    "via": "observed",
    "text": "Tickets for our fest: https://nw-fest.xyz/tickets",
    "client": "Buffer",
    "post_id": "p1",
}


def tokens(deployment: Deployment) -> dict[str, str]:
    """Vault logins of two people (entities): one whose entity holds 'tune' on the account, one
    holding everything else a colleague might (approve, publish, analytics) but not 'tune'."""
    p = deployment.settings.policy_prefix
    admin = deployment.admin
    account = f"sentinel/accounts/{POST['account']}"
    admin.policy_write(f"{p}-role-tuner", f'path "{account}/tune" {{ capabilities = ["update"] }}')
    admin.policy_write(
        f"{p}-role-editor",
        f'path "sentinel/global/approve" {{ capabilities = ["update"] }}\n'
        f'path "{account}/publish" {{ capabilities = ["update"] }}\n'
        f'path "{account}/analytics" {{ capabilities = ["update"] }}\n',
    )
    mount = userpass_mount(admin)
    return {
        "op-ana": login(admin, mount, f"op-ana-{p}", [f"{p}-role-tuner"]),
        "op-mallory": login(admin, mount, f"op-mallory-{p}", [f"{p}-role-editor"]),
    }


async def test_ack_needs_tune_on_the_account_is_audited_and_the_daemon_applies_it(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    people = tokens(deployment)
    until = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86400))
    ack = ["rules", "ack", "links.suspicious-tld", "example-brand-x", "nw-fest.xyz", "--until", until]
    monkeypatch.setenv("VAULT_TOKEN", people["op-mallory"])
    assert main(deployment.cli(*ack, "--reason", "our own fest")) == 6
    assert "missing capability 'tune' on example-brand-x" in capsys.readouterr().err
    db = deployment.dir / "state" / "sentinel.sqlite3"
    with Store(db) as store:
        assert AckStore(store).list(active_only=False) == []

    config = load_config(deployment.config, env={})
    app = running_app(config, VaultClient.from_settings(config.vault, env={}))
    app.alert = lambda **kw: None
    guard = Guard()
    await guard.start(app)
    before = guard.check(POST)
    assert "links.suspicious-tld" in {f.rule for f in before.findings}

    monkeypatch.setenv("VAULT_TOKEN", people["op-ana"])
    elsewhere = [
        "rules",
        "ack",
        "links.suspicious-tld",
        "example-brand-bluesky",
        "nw-fest.xyz",
        "--until",
        until,
    ]
    assert main(deployment.cli(*elsewhere, "--reason", "not my account")) == 6  # outside ana's reach
    assert main(deployment.cli(*ack, "--until", "2020-01-01", "--reason", "x")) == 2  # in the past
    ana = f"op-ana-{deployment.settings.policy_prefix}"
    # her own posts exempted from the rule that watches authors: refused, whatever the spelling
    mine = ["rules", "ack", "source.new-ip", "example-brand-x", ana.upper(), "--until", until]
    assert main(deployment.cli(*mine, "--reason", "I travel a lot")) == 6
    assert "cannot acknowledge findings about themselves" in capsys.readouterr().err
    assert main(deployment.cli(*ack, "--reason", "the fest microsite, ticket FEST-12")) == 0
    capsys.readouterr()
    assert main(deployment.cli("--json", "rules", "acks")) == 0
    [listed] = json.loads(capsys.readouterr().out)["acks"]
    with Store(db) as store:  # the security team is told, once, by the daemon's alert outbox
        told = [json.loads(r["body"]) for r in store.query("SELECT body FROM alerts")]
    assert [(a["kind"], a["accounts"]) for a in told] == [("ack_added", ["example-brand-x"])]
    assert f"sentinel rules unack {listed['id']}" in told[0]["next_steps"]
    assert listed["by"] == ana and listed["key"] == "nw-fest.xyz" and listed["until"].startswith(until)
    assert guard.sync_acks() == 1  # what the daemon's loop does every half second
    after = guard.check({**POST, "id": "o2", "post_id": "p2"})
    assert "links.suspicious-tld" not in {f.rule for f in after.findings}
    assert any("acknowledged for nw-fest.xyz" in n for n in after.notes)

    monkeypatch.setenv("VAULT_TOKEN", people["op-mallory"])
    assert main(deployment.cli("rules", "unack", str(listed["id"]))) == 6  # revoking needs it too
    monkeypatch.setenv("VAULT_TOKEN", people["op-ana"])
    assert main(deployment.cli("rules", "unack", str(listed["id"]))) == 0
    assert guard.sync_acks() == 0
    again = guard.check({**POST, "id": "o3", "post_id": "p3"})
    assert "links.suspicious-tld" in {f.rule for f in again.findings}
    await guard.stop()
    trail = AuditTrail(app.store, audit_keystore(config, app.vault))
    done = [(e.actor, e.action) for e in trail.entries() if e.action.startswith("rule.")]
    assert done == [(ana, "rule.ack"), (ana, "rule.unack")]
    app.store.close()


ACK = {
    "rule": "test.hold-marker",
    "account": "acct-a",
    "key": "fest.example",
    "days": 30,
    "reason": "fest",
}


async def test_the_api_refuses_acks_without_tune_on_the_account_and_changes_nothing(harness: Harness) -> None:
    c = harness.client
    seen: list[str] = []
    harness.deps.audit = lambda actor, action, target, details: seen.append(action)
    # publish, moderate, analytics, approve and lockdown are not tune
    for person in ("op-pub", "op-mod", "op-editor", "op-approver", "op-lock", "op-nobody"):
        refused = await c.post("/v1/rules/acks", json=ACK, headers=harness.auth(person))
        assert refused.status_code == 403, person
        assert refused.json()["error"]["capability"] == "tune"
    # tune on acct-a does not reach acct-b
    other = await c.post(
        "/v1/rules/acks", json={**ACK, "account": "acct-b"}, headers=harness.auth("op-tuner")
    )
    assert other.status_code == 403 and other.json()["error"]["account"] == "acct-b"
    assert harness.deps.tuning is not None and harness.deps.tuning.list(active_only=False) == []
    assert seen == []
    # nor can it revoke an acknowledgement on an account it does not tune
    theirs = await c.post("/v1/rules/acks", json={**ACK, "account": "acct-b"}, headers=harness.auth("op-all"))
    assert theirs.status_code == 201
    revoke = await c.delete(f"/v1/rules/acks/{theirs.json()['id']}", headers=harness.auth("op-tuner"))
    assert revoke.status_code == 403 and revoke.json()["error"]["capability"] == "tune"
    assert [a.id for a in harness.deps.tuning.list()] == [theirs.json()["id"]]
    # a statistic of every account's detection is not for someone without tune or lockdown
    stats = await c.get("/v1/rules/stats", headers=harness.auth("op-analyst"))
    assert stats.status_code == 403 and stats.json()["error"]["capability"] == "tune"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"account": ["acct-a"]}, "account"),
        ({"rule": 7}, "rule"),
        ({"key": "   "}, "key"),
        ({"key": "x" * 513}, "key"),
        ({"key": "evil\u0000.example"}, "key"),
        ({"days": 0}, "days"),
        ({"days": 367}, "days"),
        ({"days": "30"}, "days"),
        ({"days": True}, "days"),
        ({"days": 1.5}, "days"),
        ({"reason": ""}, "reason"),
        ({"reason": "r" * 1001}, "reason"),
        ({"reason": None}, "reason"),
    ],
)
async def test_malformed_and_oversized_acks_are_refused_naming_the_field(
    harness: Harness, change: dict[str, object], field: str
) -> None:
    resp = await harness.client.post("/v1/rules/acks", json={**ACK, **change}, headers=harness.auth("op-all"))
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["field"] == field and resp.json()["error"]["code"] == "invalid_request"
    assert harness.deps.tuning is not None and harness.deps.tuning.list(active_only=False) == []


@pytest.mark.parametrize("field", ["account", "rule"])
async def test_an_ack_for_an_unknown_account_or_rule_is_not_found(harness: Harness, field: str) -> None:
    resp = await harness.client.post(
        "/v1/rules/acks", json={**ACK, field: "no-such-" + field}, headers=harness.auth("op-all")
    )
    assert resp.status_code == 404 and resp.json()["error"]["field"] == field
    assert harness.deps.tuning is not None and harness.deps.tuning.list(active_only=False) == []


@pytest.mark.parametrize("trial", [{"dry_run": True}, {"explain": True}, {"dry_run": True, "explain": True}])
async def test_a_publisher_without_tune_gets_no_scoring_oracle(
    harness: Harness, trial: dict[str, bool]
) -> None:
    """A decision without consequences, or the scores behind one, would let a stolen publishing
    token shape a lure until it passes: both need 'tune' on the account, like an ack."""
    body = {"account": "acct-a", "text": "HOLDME claim your prize", **trial}
    refused = await harness.client.post("/v1/check", json=body, headers=harness.auth("op-pub"))
    assert refused.status_code == 403 and refused.json()["error"]["capability"] == "tune"
    assert harness.deps.held.list(None, "acct-a", 10) == []
    allowed = await harness.client.post("/v1/check", json=body, headers=harness.auth("op-trial"))
    assert allowed.status_code == 200 and allowed.json()["verdict"] == "hold"


async def test_nobody_acknowledges_findings_about_themselves_and_every_ack_is_told(harness: Harness) -> None:
    """Attack: a tuner (or a thief of their token) exempts their own posts from a rule, the key
    being their own identity in any spelling. Refused (403 ``self_acknowledgement``), nothing
    stored, audited or alerted; an acknowledgement about someone else goes through and raises
    an ``ack_added`` alert naming who silenced what."""
    c = harness.client
    seen: list[str] = []
    harness.deps.audit = lambda actor, action, target, details: seen.append(action)
    tuning = harness.deps.tuning
    assert tuning is not None
    told: list[dict[str, object]] = []
    tuning.alert = lambda **kw: told.append(kw)
    for key in ("op-tuner", "OP-Tuner", " op-tuner "):
        r = await c.post("/v1/rules/acks", json={**ACK, "key": key}, headers=harness.auth("op-tuner"))
        assert r.status_code == 403, key
        assert r.json()["error"]["code"] == "self_acknowledgement" and r.json()["error"]["field"] == "key"
    assert tuning.list(active_only=False) == [] and seen == [] and told == []
    ok = await c.post("/v1/rules/acks", json={**ACK, "key": "op-editor"}, headers=harness.auth("op-tuner"))
    assert ok.status_code == 201 and seen == ["rule.ack"]
    [alert] = told
    assert alert["kind"] == "ack_added" and alert["accounts"] == ["acct-a"]
    assert str(alert["summary"]).startswith(
        "op-tuner acknowledged test.hold-marker on acct-a for op-editor until "
    )


async def test_a_tuner_cannot_exempt_their_own_posts_through_a_key_they_choose(harness: Harness) -> None:
    """The key naming the caller is refused, but a post's client is whatever its sender writes
    and its links go wherever the sender wants: a tuner who acknowledges a rule for a client
    name (or a host) of their own choosing and then posts with it would silence the rule on
    their own posts. An acknowledgement silences findings on other people's posts only."""
    c = harness.client
    mine = await c.post("/v1/rules/acks", json={**ACK, "key": "my-own-tool"}, headers=harness.auth("op-all"))
    assert mine.status_code == 201, mine.text
    assert harness.deps.tuning is not None
    harness.engine.set_acks(engine_acks(harness.deps.tuning.acks))  # what the daemon's sync does
    post = {"account": "acct-a", "text": "HOLDME: claim your prize", "client": "my-own-tool"}
    own = await c.post("/v1/check", json=post, headers=harness.auth("op-all"))
    assert own.status_code == 200 and own.json()["verdict"] == "hold", own.text
    colleague = await c.post(
        "/v1/check", json={**post, "text": "HOLDME: the fest opens at 9"}, headers=harness.auth("op-pub")
    )
    assert colleague.status_code == 200 and colleague.json()["verdict"] == "allow", colleague.text
