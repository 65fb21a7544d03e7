"""Vault answering slower than the call timeout (behind the test's proxy): the gate is not held.

Vault itself is healthy; the proxy holds each of its answers longer than ``[vault] timeout``.
Every call the daemon makes gives up at its timeout, the health probe names the state
``timeout``, and the gate decides from what Vault last said (or refuses a token it never
answered for) instead of waiting.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from sentinel.daemon import VAULT_ALERT_KEY
from sentinel.vault.devproxy import TcpProxy
from tests.chaos.conftest import ChaosDaemon, publishers
from tests.waiting import wait_until

TIMEOUT = 1.0
"""``[vault] timeout`` of the daemon; the proxy holds each answer three times as long."""


def in_grace(answer: httpx.Response) -> httpx.Response | None:
    assert answer.status_code == 200, answer.text  # answered at every moment, never held
    return answer if answer.json().get("authz", {}).get("grace") else None


def test_a_vault_slower_than_the_timeout_never_holds_the_gate(
    daemon_factory: Callable[..., ChaosDaemon], proxy: TcpProxy
) -> None:
    tokens: dict[str, str] = {}
    d = daemon_factory(
        addr=proxy.addr,
        prepare=publishers(tokens, "known", "unseen"),
        vault_extra=f'timeout = "{TIMEOUT}s"\nhealth_interval = "1s"\nhealth_timeout = "0.5s"\n',
    )
    wait_until("ready", lambda: (d.ready() or {}).get("ready"))

    def check(token: str) -> httpx.Response:
        # A gate held past Vault's timeout would make this client give up (ReadTimeout).
        return d.check(tokens[token], "example-brand-bluesky", timeout=TIMEOUT + 4)

    first = check("known")
    assert first.status_code == 200 and "grace" not in first.json().get("authz", {}), first.text

    proxy.slow(3 * TIMEOUT)
    unseen = check("unseen")  # Vault never answered for it: refused once its call times out
    assert unseen.status_code == 503 and unseen.json()["error"]["code"] == "vault_unavailable", unseen.text

    wait_until("the slow Vault in the status", lambda: d.vault_state() == "timeout")
    assert "did not answer within" in d.status()["vault"]["error"]
    assert (d.ready() or {}).get("ready") is False
    assert d.metric("sentinel_vault_up") == 0.0
    # Once the capability cache has expired, decided from Vault's last answer and marked so.
    known = wait_until("a decision in grace", lambda: in_grace(check("known")))
    assert known.status_code == 200 and known.json()["verdict"] == "allow", known.text
    assert d.status()["loop_lag_max"] < TIMEOUT  # nothing on the loop waited on the slow Vault

    proxy.slow(0)
    wait_until("recovery", lambda: d.vault_state() == "ok")
    wait_until("ready again", lambda: (d.ready() or {}).get("ready"))
    alerts = d.alerts(VAULT_ALERT_KEY)
    assert [(a["status"], a["resolved"]) for a in alerts] == [("firing", True), ("resolved", False)]
    assert "timeout" in alerts[0]["summary"]
    assert d.stop() == 0
