"""The product tour: `make run`, then `sentinel demo attack worm` — detected, frozen, one incident."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sentinel.cli import main
from sentinel.demo.attack import SCENARIOS
from tests.waiting import wait_until


def run_cli(*args: str) -> tuple[int, str]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(list(args))
    return code, buf.getvalue()


def demo_up(workdir: Path) -> subprocess.Popen[str]:
    """``sentinel demo up`` in the background, once its daemon says it is ready."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTINEL_", "VAULT_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentinel", "demo", "up", "--dir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line or "sentinel.ready" in line:
            break
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.mark.slow
def test_worm_is_frozen_everywhere_in_one_incident(tmp_path: Path) -> None:
    workdir = tmp_path / "run"
    proc = demo_up(workdir)
    try:
        cfg = str(workdir / "sentinel.toml")
        code, out = run_cli("demo", "attack", "worm", "--dir", str(workdir))
        assert code == 0 and out.count("posted out of band") == len(SCENARIOS["worm"].accounts)
        wanted = set(SCENARIOS["worm"].accounts)

        def all_frozen() -> dict[str, dict[str, str]] | None:
            _, out = run_cli("--json", "--config", cfg, "status")
            frozen: dict[str, dict[str, str]] = json.loads(out)["frozen"]["accounts"]
            done = set(frozen) == wanted and all(
                f["steps"] != "in progress or failed" for f in frozen.values()
            )
            return frozen if done else None

        frozen = wait_until("the worm's accounts frozen", all_frozen, timeout=90, every=1)
        assert set(frozen) == wanted
        assert all(f["steps"] != "in progress or failed" for f in frozen.values()), frozen
        _, out = run_cli("--json", "--config", cfg, "incidents", "list")
        incidents = json.loads(out)
        assert len(incidents) == 1 and set(incidents[0]["accounts"]) == wanted
        # The attacker's stolen passwords are useless now: every account is locked at the platform.
        code, out = run_cli("demo", "attack", "worm", "--dir", str(workdir))
        assert out.count("posted out of band") == 0
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
        # The alert reached the demo's chat stand-in, signed, as one grouped message.
        assert "ALERT (critical, firing): Account frozen" in rest, rest[-4000:]
        assert "hxxps://example-support-help[.]com" in rest
    finally:
        stop(proc)
    assert proc.returncode == 0


@pytest.mark.slow
def test_insider_reads_reach_the_daemon_through_openbaos_audit_log(tmp_path: Path) -> None:
    workdir = tmp_path / "run"
    proc = demo_up(workdir)
    try:
        cfg = str(workdir / "sentinel.toml")
        code, out = run_cli("demo", "attack", "insider", "--dir", str(workdir))
        assert code == 0 and "refused" not in out
        read = int(out.split(" read ", 1)[1].split()[0])
        assert read >= 12

        def all_seen() -> dict[str, Any] | None:
            _, out = run_cli("--json", "--config", cfg, "status")
            services: dict[str, Any] = json.loads(out)["daemon"].get("services") or {}
            seen = services.get("guard", {}).get("takeover_events", {}).get("vault", 0) >= 2 * read
            return services if seen else None

        services = wait_until("the guard to see every read", all_seen, timeout=60, every=1)
        # every read is a request and a response entry, handed to the guard
        assert services["guard"]["takeover_events"]["vault"] >= 2 * read, services
        assert services["takeover_sources"]["audit_log"]["malformed"] == 0
        audit = [json.loads(line) for line in (workdir / "openbao-audit.log").read_text().splitlines()]
        mine = [e for e in audit if (e.get("auth") or {}).get("display_name") == "userpass-op-mallory"]
        assert sum(e["type"] == "response" and e["request"]["operation"] == "read" for e in mine) >= read
    finally:
        stop(proc)
