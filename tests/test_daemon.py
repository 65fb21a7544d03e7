"""The daemon as systemd runs it: a real process, real signals, a bound notify socket."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sentinel.errors import VaultNotFound
from sentinel.net import free_port
from sentinel.store import Store
from tests import waiting
from tests.conftest import Deployment
from tests.waiting import wait_until


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(20)
    yield s, path
    s.close()


def wait_for(sock: socket.socket, prefix: str, seen: list[str]) -> str:
    while True:
        msg = sock.recv(4096).decode()
        seen.append(msg)
        if msg.startswith(prefix):
            return msg


def checkpoint(deployment: Deployment, seq: int) -> dict[str, Any]:
    """The audit checkpoint of head ``seq`` in Vault, once the daemon has written it."""

    def written() -> dict[str, Any] | None:
        try:
            return dict(deployment.admin.kv_read(f"audit/checkpoints/{seq:020d}").data)
        except VaultNotFound:
            return None

    return wait_until(f"audit checkpoint {seq}", written, timeout=20)


def start(deployment: Deployment, notify_path: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTINEL_", "VAULT_"))}
    env.update({"NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": "1000000"})
    return subprocess.Popen(
        [sys.executable, "-m", "sentinel", *deployment.cli("run")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_lifecycle_ready_watchdog_reload_and_stop(
    deployment: Deployment, notify: tuple[socket.socket, str]
) -> None:
    sock, path = notify
    deployment.write_config(extra='[audit]\ncheckpoint_interval = "0.2s"\n')
    proc = start(deployment, path)
    seen: list[str] = []
    try:
        ready = wait_for(sock, "READY=1", seen)
        assert "12 accounts" in ready and "Vault ok" in ready
        wait_for(sock, "WATCHDOG=1", seen)  # pinged from the event loop at half of WATCHDOG_USEC
        # The daemon seals its entries on a timer, not only on stop: daemon.start is signed
        # and checkpointed in Vault while it runs.
        assert checkpoint(deployment, 1)["seq"] == 1

        # A bad config on reload: the daemon keeps the old one and keeps running.
        deployment.write_config(extra="[vault]\n")  # duplicate table: invalid TOML
        proc.send_signal(signal.SIGHUP)
        wait_for(sock, "RELOADING=1", seen)
        wait_for(sock, "READY=1", seen)
        assert proc.poll() is None

        # A good change is picked up.
        inv = (deployment.dir / "inventory.toml").read_text().split("[[accounts]]")
        (deployment.dir / "inventory.toml").write_text("[[accounts]]".join(inv[:-1]))
        deployment.write_config()
        proc.send_signal(signal.SIGHUP)
        wait_for(sock, "RELOADING=1", seen)
        assert "11 accounts" in wait_for(sock, "READY=1", seen)

        proc.send_signal(signal.SIGTERM)
        wait_for(sock, "STOPPING=1", seen)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    events = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    assert (
        "sentinel.reload_failed" in names and "sentinel.reloaded" in names and names[-1] == "sentinel.stopped"
    )
    failed = next(e for e in events if e["event"] == "sentinel.reload_failed")
    assert "not valid TOML" in failed["error"]
    assert deployment.token not in out.decode()
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        status = json.loads(store.get("daemon.status") or "{}")
        actions = [r["action"] for r in store.query("SELECT action FROM audit ORDER BY id")]
        signatures = store.query("SELECT seq FROM audit_signature")
    assert status["state"] == "stopped" and status["failed_reloads"] == 1 and status["reloads"] == 1
    assert actions == ["daemon.start", "daemon.stop"]
    # on stop, the last entry is signed and checkpointed too
    assert len(signatures) == 2
    assert checkpoint(deployment, 2)["hashes"].keys() == {"2"}


def test_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "sentinel.toml").write_text('[vault]\naddr = "vault.example:8200"\n')
    r = subprocess.run(
        [sys.executable, "-m", "sentinel", "--config", str(tmp_path / "sentinel.toml"), "run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "config key 'vault.addr'" in r.stderr


def test_vault_down_at_start_keeps_running_and_reconnects(
    deployment: Deployment, notify: tuple[socket.socket, str], tmp_path: Path
) -> None:
    sock, path = notify
    deployment.write_config(addr=f"http://127.0.0.1:{free_port()}")
    proc = start(deployment, path)
    seen: list[str] = []
    try:
        assert "Vault UNAVAILABLE" in wait_for(sock, "READY=1", seen)
        wait_for(sock, "WATCHDOG=1", seen)  # its event loop still runs, Vault still away
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert b"vault.unavailable" in out
    # Vault away: the audit entries are chained all the same, to be sealed when it returns.
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        actions = [r["action"] for r in store.query("SELECT action FROM audit ORDER BY seq")]
        assert store.query("SELECT seq FROM audit_signature") == []
    assert actions == ["daemon.start", "daemon.stop"]


async def test_heap_policy_freezes_survivors_and_settles_now_and_then() -> None:
    import asyncio
    import gc

    from sentinel.daemon import HeapPolicy

    policy = HeapPolicy(freeze_every=0.01, settle_every=0.2)
    before = gc.get_threshold()
    try:
        policy.start()
        assert gc.get_freeze_count() > 0 and policy.settles == 1
        assert gc.get_threshold() == (before[0], before[1], 1000)
        task = asyncio.get_running_loop().create_task(policy.run())
        kept = [[i] for i in range(1000)]  # survivors made after the start
        ids = {id(k) for k in kept}
        assert any(id(o) in ids for o in gc.get_objects())  # the collector would walk them...
        await waiting.wait_for(lambda: policy.freezes >= 1, what="a freeze")
        assert not any(id(o) in ids for o in gc.get_objects())  # ...until the next freeze
        await waiting.wait_for(lambda: policy.settles >= 2, what="a second settle")
        task.cancel()
        await asyncio.wait({task})
    finally:
        policy.stop()
        gc.unfreeze()
    assert gc.get_threshold() == before


def test_heap_policy_frees_the_garbage_made_since_the_last_freeze_instead_of_freezing_it() -> None:
    """A request's reference cycles that outlived a young collection (the request was in
    flight) and ended before the freeze are freed, not frozen until the next settle."""
    import gc

    from sentinel.daemon import HeapPolicy

    def request_cycle() -> list[object]:
        state: list[object] = []
        state.append(state)  # as an httpx response and its stream refer to each other
        return state

    policy = HeapPolicy()
    try:
        policy.start()
        in_flight = [request_cycle() for _ in range(5000)]
        gc.collect(0)  # a young collection while the requests run: their cycles survive it
        frozen = gc.get_freeze_count()
        del in_flight  # the requests end: their cycles are garbage
        policy.freeze()
        assert policy.freezes == 1
        assert gc.get_freeze_count() - frozen < 500  # not the 5000 cycles
    finally:
        policy.stop()
        gc.unfreeze()
