"""The sandbox platform answering 429 with Retry-After and 500, through the running daemon.

The watcher polls every second. One account is rate-limited for two minutes: it is not
polled again meanwhile, and status and /metrics show the wait. Another answers 500: it is
backed off, its error logged once however often it recurs, and its recovery logged with
the count. The sandbox's fault switch counts the requests each account made.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx

from sentinel.platforms.sandbox_server import SandboxServer
from tests.chaos.conftest import ChaosDaemon, sandbox_world
from tests.waiting import wait_until

FAULTS = 1000


def test_retry_after_is_honoured_and_a_repeated_error_logged_once(
    daemon_factory: Callable[..., ChaosDaemon], sandbox: SandboxServer
) -> None:
    tag = secrets.token_hex(3)
    inventory, prepare = sandbox_world(sandbox, {}, tag=tag)
    d = daemon_factory(
        inventory=inventory,
        prepare=prepare,
        watcher=True,
        extra="intervals = { sandbox = 1 }\nstreams = false  # polled: the poll path is under test\n",
    )

    def watcher() -> dict[str, Any]:
        return dict(d.status().get("services", {}).get("watcher", {}))

    def requests(account: str) -> int:
        """How many requests of ``account`` met its fault so far."""
        return FAULTS - sandbox.state.faults[f"{account}-{tag}"].count

    def fault(account: str, status: int, count: int, retry_after: float | None = None) -> None:
        body = {"handle": f"{account}-{tag}", "status": status, "count": count, "retry_after": retry_after}
        httpx.post(sandbox.url + "/api/_faults", json=body).raise_for_status()

    wait_until("the accounts watched", lambda: watcher().get("accounts") == 3 and watcher()["failing"] == [])
    fault("shop-x", 429, FAULTS, retry_after=120)
    fault("help-x", 500, FAULTS)

    def sandbox_health() -> dict[str, Any]:
        return dict(d.status().get("platforms", {}).get("sandbox", {}))

    wait_until("the rate limit in the status", lambda: sandbox_health().get("rate_limit_wait", 0) > 60)
    wait_until(
        "the rate limit in /metrics",
        lambda: (d.metric("sentinel_platform_rate_limit_wait_seconds") or 0) > 60,
    )
    # help-x fails poll after poll (each poll: the HTTP client's attempts), shop-x waits as asked
    # (the watcher's first poll met the 429; the account-state snapshot at start may be another).
    limited = requests("shop-x")
    assert 1 <= limited <= 2
    wait_until("help-x failing three times", lambda: requests("help-x") >= 9)
    assert requests("shop-x") == limited
    assert sorted(watcher()["failing"]) == ["help-x", "shop-x"]

    fault("help-x", 500, 0)  # the platform recovers for help-x
    wait_until("help-x recovered", lambda: watcher()["failing"] == ["shop-x"])
    assert requests("shop-x") == limited
    assert d.stop() == 0
    lines = [json.loads(line) for line in d.output().splitlines() if line.startswith("{")]
    failed = [e for e in lines if e["event"] == "watcher.poll_failed" and e["account"] == "help-x"]
    assert len(failed) == 1 and "500" in failed[0]["error"]
    recovered = [e for e in lines if e["event"] == "watcher.poll_recovered" and e["account"] == "help-x"]
    assert len(recovered) == 1 and recovered[0]["failures"] >= 2
