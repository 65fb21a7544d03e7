"""Kill the daemon (SIGKILL) in the middle of a lockdown: after a restart it finishes every step."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentinel.net import free_port
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.conftest import Deployment, sandbox_inventory, seed_sandbox
from tests.waiting import wait_until

ACCOUNTS = [f"shop-{i}" for i in range(6)]


def start_daemon(deployment: Deployment, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTINEL_", "VAULT_", "NOTIFY_"))}
    out = log.open("ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "sentinel", *deployment.cli("run")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        out.close()


def wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    def healthy() -> bool:
        assert proc.poll() is None, "the daemon exited"
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_until("the daemon's API", healthy)


def records(db: Path) -> list[Any]:
    """Each account's freeze record in the daemon's state store (None where there is none)."""
    if not db.exists():
        return [None] * len(ACCOUNTS)
    with Store(db) as store:
        rs = ResponseStore(store)
        return [rs.get(a) for a in ACCOUNTS]


@pytest.mark.slow
def test_lockdown_interrupted_by_sigkill_resumes_after_restart(
    deployment: Deployment, sandbox: SandboxServer, tmp_path: Path
) -> None:
    tag = secrets.token_hex(3)
    handles = {a: f"{a}-{tag}" for a in ACCOUNTS}
    (deployment.dir / "inventory.toml").write_text(
        sandbox_inventory({a: {"handle": h} for a, h in handles.items()})
    )
    seed_sandbox(sandbox.url, deployment.admin.with_token(deployment.token), handles)
    port = free_port()
    cfg = deployment.config.read_text().replace("[api]\nenabled = false\n", f"[api]\nport = {port}\n")
    deployment.config.write_text(cfg + "[watcher]\nenabled = false\n")
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "daemon.log"

    first = start_daemon(deployment, log)
    try:
        wait_healthy(url, first)
        # The platform is slow to answer (503 with Retry-After), so the steps take a while.
        for a in ACCOUNTS:
            httpx.post(
                f"{sandbox.url}/api/_faults",
                json={"handle": f"{a}-{tag}", "status": 503, "count": 3, "retry_after": 1},
            )

        def lockdown() -> None:
            try:
                httpx.post(
                    f"{url}/v1/lockdown",
                    json={"all": True, "reason": "worm"},
                    headers={"X-Vault-Token": deployment.vault.root_token},
                    timeout=30,
                )
            except httpx.TransportError:
                pass  # the daemon is killed under it

        threading.Thread(target=lockdown, daemon=True).start()
        db = deployment.dir / "state" / "sentinel.sqlite3"

        def contained() -> bool:  # Vault's side done everywhere; the slow platform's still going
            return all(
                r is not None and any(s.step == "vault" and s.status == "done" for s in r.steps)
                for r in records(db)
            )

        wait_until("Vault's containment of every account", contained)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    with Store(db) as store:
        rs = ResponseStore(store)
        assert rs.frozen() == sorted(ACCOUNTS)  # the gate step was recorded before anything slow
        unfinished = rs.unfinished()
    assert unfinished, "the kill came too late to interrupt anything"

    second = start_daemon(deployment, log)
    try:
        wait_healthy(url, second)

        def finished() -> bool:
            with Store(db) as store:
                return not ResponseStore(store).unfinished()

        wait_until("the interrupted lockdown to finish", finished, timeout=90)
        for rec in records(db):
            assert rec is not None and rec.settled, rec
            steps = {s.step: s.status for s in rec.steps}
            assert steps["vault"] == steps["sessions"] == steps["lock"] == steps["record"] == "done", steps
        assert all(sandbox.state.accounts[f"{a}-{tag}"].locked for a in ACCOUNTS)
        # Blocked at the gate by the restarted daemon too.
        r = httpx.post(
            f"{url}/v1/check",
            json={"account": ACCOUNTS[0], "text": "hello", "client": "Buffer"},
            headers={"X-Vault-Token": deployment.vault.root_token},
            timeout=10,
        )
        assert r.status_code == 200 and r.json()["verdict"] == "block", r.text
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=20)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait()
