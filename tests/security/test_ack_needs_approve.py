"""Silencing a rule is a privileged act: ``sentinel rules ack`` acts as the person at the
keyboard (their Vault token), needs the 'approve' capability, is audited under their name, and
the running daemon applies it within seconds. Attack: an operator without 'approve' tries to
silence the rule that would catch their own scam link."""

from __future__ import annotations

import json
import time

import pytest

from sentinel.acks import AckStore
from sentinel.audit import AuditTrail
from sentinel.audit_keys import audit_keystore
from sentinel.cli import main
from sentinel.config import load_config
from sentinel.post_guard import Guard
from sentinel.store import Store
from sentinel.vault.client import VaultClient
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
    """Vault logins of two people (entities): one whose entity holds 'approve', one without."""
    p = deployment.settings.policy_prefix
    admin = deployment.admin
    admin.policy_write(f"{p}-role-approver", f'path "{p}/global/approve" {{ capabilities = ["update"] }}')
    mount = userpass_mount(admin)
    return {
        "op-ana": login(admin, mount, f"op-ana-{p}", [f"{p}-role-approver"]),
        "op-mallory": login(admin, mount, f"op-mallory-{p}"),
    }


async def test_ack_needs_approve_is_audited_and_the_daemon_applies_it(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    people = tokens(deployment)
    until = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86400))
    ack = ["rules", "ack", "links.suspicious-tld", "example-brand-x", "nw-fest.xyz", "--until", until]
    monkeypatch.setenv("VAULT_TOKEN", people["op-mallory"])
    assert main(deployment.cli(*ack, "--reason", "our own fest")) == 6
    assert "missing capability 'approve'" in capsys.readouterr().err
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
    assert main(deployment.cli(*ack, "--until", "2020-01-01", "--reason", "x")) == 2  # in the past
    assert main(deployment.cli(*ack, "--reason", "the fest microsite, ticket FEST-12")) == 0
    capsys.readouterr()
    assert main(deployment.cli("--json", "rules", "acks")) == 0
    [listed] = json.loads(capsys.readouterr().out)["acks"]
    ana = f"op-ana-{deployment.settings.policy_prefix}"
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
