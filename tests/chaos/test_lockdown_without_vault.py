"""A lockdown while Vault is unreachable: break-glass blocks at the gate, the daemon finishes it.

Vault sits behind the test's own TCP proxy, which drops every connection while "down", so
Vault keeps its state and the daemon can finish the lockdown when the proxy is up again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sentinel.cli import main
from sentinel.daemon import VAULT_ALERT_KEY
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.response.breakglass import WAITING
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from sentinel.vault.devproxy import TcpProxy
from tests.chaos.conftest import ChaosDaemon, sandbox_world
from tests.waiting import wait_until


def freeze_of(d: ChaosDaemon, account: str) -> dict[str, str] | None:
    with Store(d.dir / "state" / "sentinel.sqlite3") as store:
        rec = ResponseStore(store).get(account)
    return None if rec is None or not rec.frozen else {s.step: s.status for s in rec.steps}


def test_break_glass_lockdown_blocks_now_and_is_finished_when_vault_returns(
    daemon_factory: Callable[..., ChaosDaemon],
    sandbox: SandboxServer,
    proxy: TcpProxy,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    people: dict[str, str] = {}
    inventory, prepare = sandbox_world(sandbox, people)
    d = daemon_factory(inventory=inventory, addr=proxy.addr, prepare=prepare)
    wait_until("ready", lambda: (d.ready() or {}).get("ready"))

    def check(person: str, account: str = "shop-x") -> httpx.Response:
        return httpx.post(
            f"{d.api}/v1/check",
            json={"account": account, "text": "New arrivals this week"},
            headers={"Authorization": f"Bearer {people[person]}"},
            timeout=10,
        )

    before = check("op-pub")
    assert before.status_code == 200 and "authz" not in before.json()
    proxy.down()
    wait_until("the outage", lambda: d.vault_state() == "unreachable")

    # Without --break-glass the lockdown says why it cannot run, and what would.
    monkeypatch.setenv("VAULT_TOKEN", d.token)
    assert main(d.cli("lockdown", "--tag", "shop", "--reason", "worm", "--yes")) == 3
    assert "--break-glass" in capsys.readouterr().err
    assert freeze_of(d, "shop-x") is None

    # Break-glass needs no Vault login (none is possible now).
    monkeypatch.delenv("VAULT_TOKEN")
    monkeypatch.setenv("HOME", str(d.dir))  # no ~/.vault-token either

    assert (
        main(["--json", *d.cli("lockdown", "--tag", "shop", "--reason", "worm", "--yes", "--break-glass")])
        == 0
    )
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert report["blocked"] == ["shop-x", "shop-y"] and report["break_glass"] is True
    assert report["actor"].startswith("break-glass:") and "not verified by Vault" in report["actor"]
    assert report["waiting_for_vault"] == ["vault", "sessions", "rotate", "evidence", "lock", "record"]
    steps = freeze_of(d, "shop-x")
    assert steps is not None and steps["gate"] == "done" and steps["vault"] == "pending"

    # The running daemon blocks them at its gate; the lockdown is in the audit trail at once
    # (chained; the daemon seals it when Vault is back).
    wait_until(
        "the daemon's gate",
        lambda: (
            set(d.status().get("services", {}).get("guard", {}).get("frozen", [])) >= {"shop-x", "shop-y"}
        ),
    )
    with Store(d.dir / "state" / "sentinel.sqlite3") as store:
        lockdown_alerts = [
            json.loads(r["body"]) for r in store.query("SELECT body FROM alerts WHERE kind = 'lockdown'")
        ]
    assert len(lockdown_alerts) == 1 and "Break-glass lockdown of 2" in lockdown_alerts[0]["summary"]

    def audited() -> list[dict[str, str]]:
        with Store(d.dir / "state" / "sentinel.sqlite3") as store:
            return [dict(r) for r in store.query("SELECT actor, action, target, details FROM audit")]

    entry = wait_until(
        "the audit entry", lambda: next((e for e in audited() if e["action"] == "lockdown"), None)
    )
    assert entry["actor"] == report["actor"] and entry["target"] == "shop-x,shop-y"
    assert json.loads(entry["details"])["break_glass"] is True

    # The gate keeps deciding for a token Vault answered for before (marked as such), blocks
    # the locked-down account, and admits no token Vault never answered for.
    during = check("op-pub")
    assert during.status_code == 200, during.text
    assert during.json()["verdict"] == "block" and during.json()["authz"]["grace"] is True
    open_account = check("op-pub", "help-x")
    assert open_account.status_code == 503 and open_account.json()["error"]["code"] == "vault_unavailable"
    late = check("op-late")
    assert late.status_code == 503 and late.json()["error"]["code"] == "vault_unavailable"
    graced = next(e for e in audited() if e["action"] == "gate.check_in_grace")
    assert graced["actor"] == f"token:{people['op-pub:accessor']}" and graced["target"] == "shop-x"
    # The token that was admitted from memory is revoked while Sentinel cannot ask (a leak found).
    d.admin.revoke_accessor(people["op-pub:accessor"])

    # Unfreezing never works without Vault, break-glass or not.
    monkeypatch.setenv("VAULT_TOKEN", d.token)
    assert main(d.cli("unfreeze", "shop-x", "--reason", "undo", "--code", "123456")) == 3
    assert freeze_of(d, "shop-x") is not None

    # Vault back: the daemon's responder finishes every step that waited for it.
    proxy.up()
    wait_until("recovery", lambda: d.vault_state() == "ok")
    for account in ("shop-x", "shop-y"):
        done = wait_until(
            f"{account}'s steps",
            lambda a=account: (
                (s := freeze_of(d, a)) and all(v not in ("pending", "failed") for v in s.values()) and s
            ),
            timeout=60,
        )
        assert done["vault"] == done["sessions"] == done["lock"] == "done", done
    assert freeze_of(d, "help-x") is None
    with Store(d.dir / "state" / "sentinel.sqlite3") as store:
        details = [r["detail"] for r in store.query("SELECT detail FROM freeze_steps")]
    assert WAITING not in details
    assert [a["status"] for a in d.alerts(VAULT_ALERT_KEY)] == ["firing", "resolved"]

    # ...and the token Vault revoked during the outage is named, with what it did in grace.
    def revoked_alerts() -> list[dict[str, Any]]:
        with Store(d.dir / "state" / "sentinel.sqlite3") as store:
            rows = store.query("SELECT body FROM alerts WHERE kind = 'authz_grace_revoked'")
        return [json.loads(r["body"]) for r in rows]

    revoked = wait_until("the revoked token named", revoked_alerts)
    assert len(revoked) == 1 and revoked[0]["details"]["accessor"] == people["op-pub:accessor"], revoked
    assert revoked[0]["severity"] == "critical" and revoked[0]["details"]["allowed"] == "1"
    assert d.stop() == 0
    assert d.token not in d.output()
