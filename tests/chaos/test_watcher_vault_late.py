"""Vault down when the daemon starts: the watcher adds its accounts as soon as Vault is back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.vault.devproxy import TcpProxy
from tests.chaos.conftest import ChaosDaemon, sandbox_world
from tests.waiting import wait_until


def test_accounts_skipped_while_vault_was_down_are_watched_when_it_returns(
    daemon_factory: Callable[..., ChaosDaemon], sandbox: SandboxServer, proxy: TcpProxy
) -> None:
    inventory, prepare = sandbox_world(sandbox, {})
    proxy.down()  # the daemon starts without Vault
    d = daemon_factory(
        inventory=inventory,
        addr=proxy.addr,
        prepare=prepare,
        watcher=True,
        extra="intervals = { sandbox = 1 }\n",
    )

    def watcher() -> dict[str, Any]:
        return dict(d.status().get("services", {}).get("watcher", {}))

    wait_until("the outage in the status", lambda: d.vault_state() == "unreachable")
    assert '"watcher.no_vault"' in d.output()
    assert watcher().get("accounts") == 0

    proxy.up()
    wait_until("the accounts watched", lambda: watcher().get("accounts") == 3)
    wait_until("every account polled", lambda: watcher().get("failing") == [] and d.vault_state() == "ok")
    assert d.stop() == 0
    assert '"watcher.started"' in d.output()
