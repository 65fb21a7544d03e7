"""Kill the daemon (SIGKILL) in the middle of a lockdown: after a restart it finishes every step."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sentinel.net import free_port
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.conftest import Deployment

ACCOUNTS = [f"shop-{i}" for i in range(6)]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as s:
        yield s


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
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the daemon exited"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the daemon did not come up")


@pytest.mark.slow
def test_lockdown_interrupted_by_sigkill_resumes_after_restart(
    deployment: Deployment, sandbox: SandboxServer, tmp_path: Path
) -> None:
    tag = secrets.token_hex(3)
    inv = "\n".join(
        f'[[accounts]]\nid = "{a}"\nplatform = "sandbox"\nhandle = "{a}-{tag}"\ntimezone = "UTC"\n'
        f'publishing = "gated"\nowners = ["op-ann"]\n'
        for a in ACCOUNTS
    )
    (deployment.dir / "inventory.toml").write_text(inv)
    daemon_vault = deployment.admin.with_token(deployment.token)
    for a in ACCOUNTS:
        pw = "pw-" + secrets.token_hex(8)
        httpx.post(f"{sandbox.url}/api/accounts", json={"handle": f"{a}-{tag}", "password": pw})
        daemon_vault.kv_write(f"accounts/{a}/password", {"value": pw, "service": sandbox.url}, cas=0)
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
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if db.exists():
                with Store(db) as store:
                    if len(ResponseStore(store).frozen()) == len(ACCOUNTS):
                        break
        time.sleep(0.5)
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
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            time.sleep(0.5)
            with Store(db) as store:
                if not ResponseStore(store).unfinished():
                    break
        with Store(db) as store:
            rs = ResponseStore(store)
            records = [rs.get(a) for a in ACCOUNTS]
        for rec in records:
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
