"""Vault paused (SIGSTOP), its KV mount lost, Sentinel's token revoked: each detected and named."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

from sentinel.daemon import VAULT_ALERT_KEY
from sentinel.vault.devserver import DevVault
from tests.chaos.conftest import ChaosDaemon
from tests.waiting import wait_until


def test_paused_vault_never_holds_the_loop_and_recovery_resolves_the_alert(
    chaos_vault: DevVault, daemon_factory: Callable[..., ChaosDaemon]
) -> None:
    d = daemon_factory()
    wait_until("ready", lambda: (d.ready() or {}).get("ready"))
    assert chaos_vault.process is not None
    pgid = chaos_vault.process.pid
    os.killpg(pgid, signal.SIGSTOP)
    try:
        wait_until("the stall in the status", lambda: d.vault_state() == "timeout")
        assert "did not answer within 2s" in d.status()["vault"]["error"]
        assert (d.ready() or {}).get("ready") is False
        assert d.metric("sentinel_vault_up") == 0.0
        # the loop keeps answering while Vault is stalled
        healthz = d.get("/healthz")
        assert healthz is not None and healthz.status_code == 200
    finally:
        os.killpg(pgid, signal.SIGCONT)
    wait_until("recovery", lambda: d.vault_state() == "ok")
    wait_until("ready again", lambda: (d.ready() or {}).get("ready"))
    assert d.metric("sentinel_vault_up") == 1.0
    alerts = d.alerts(VAULT_ALERT_KEY)
    assert [(a["status"], a["resolved"]) for a in alerts] == [("firing", True), ("resolved", False)]
    assert alerts[1]["summary"] == "Vault usable again (was: timeout)"
    # Nothing on the loop waited for the paused Vault longer than the probe's timeout.
    assert d.status()["loop_lag_max"] < 2.0
    lag = d.metric("sentinel_loop_lag_seconds")
    assert lag is not None and lag < 2.0

    # Sentinel's KV mount disappears (an administrator's mistake): named as such.
    d.admin.request("DELETE", f"sys/mounts/{d.settings.kv_mount}")
    wait_until("the lost mount", lambda: d.vault_state() == "mount_missing")
    assert f"KV mount '{d.settings.kv_mount}/' is missing" in d.status()["vault"]["error"]
    d.admin.enable_kv2(d.settings.kv_mount)
    wait_until("the mount back", lambda: d.vault_state() == "ok")

    # Sentinel's own token revoked: named as such, not as an outage.
    d.admin.revoke_accessor(d.accessor)
    wait_until("the revoked token", lambda: d.vault_state() == "token_revoked")
    assert "no longer accepts Sentinel's token" in d.status()["vault"]["error"]
    assert (d.ready() or {}).get("ready") is False
    firing = [a for a in d.alerts(VAULT_ALERT_KEY) if a["status"] == "firing" and not a["resolved"]]
    assert len(firing) == 1 and "token_revoked" in firing[0]["summary"]
    assert d.stop() == 0
    assert d.token not in d.output()
