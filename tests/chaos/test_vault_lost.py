"""Vault killed, then back empty: the daemon says so within seconds, with the right words."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from sentinel.daemon import VAULT_ALERT_KEY
from sentinel.vault.devserver import DevVault
from tests.chaos.conftest import ChaosDaemon
from tests.waiting import wait_until


def test_vault_killed_then_restarted_empty(
    chaos_vault: DevVault, daemon_factory: Callable[..., ChaosDaemon]
) -> None:
    d = daemon_factory()
    wait_until("ready", lambda: (d.ready() or {}).get("ready"))
    assert d.metric("sentinel_vault_up") == 1.0

    assert chaos_vault.process is not None
    os.killpg(chaos_vault.process.pid, signal.SIGKILL)
    chaos_vault.process.wait()
    t0 = time.monotonic()
    wait_until("the outage in the status", lambda: d.vault_state() == "unreachable")
    detected = time.monotonic() - t0
    ready = d.ready()
    assert ready == {"ready": False, "checks": {"vault": False, "rules": True, "store": True}}
    assert d.metric("sentinel_vault_up") == 0.0
    status = d.status()["vault"]
    assert status["ok"] is False and "cannot be reached" in status["error"]
    firing = d.alerts(VAULT_ALERT_KEY)
    assert [(a["kind"], a["status"], a["resolved"]) for a in firing] == [
        ("vault_unreachable", "firing", False)
    ]
    assert "unreachable" in firing[0]["summary"]

    # The same address answers again, but it is a new, empty Vault: not "recovered".
    chaos_vault.start()
    wait_until("the replaced Vault in the status", lambda: d.vault_state() == "replaced")
    assert "restarted empty or replaced" in d.status()["vault"]["error"]
    assert (d.ready() or {}).get("ready") is False
    assert len(d.alerts(VAULT_ALERT_KEY)) == 2
    assert d.stop() == 0
    out = d.output()
    assert d.token not in out and chaos_vault.root_token not in out
    assert out.count('"vault.unusable"') == 2  # once per change, not once per probe
    print(f"outage detected after {detected:.1f} s")
