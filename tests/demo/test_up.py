"""`make run`'s path: `sentinel demo up` starts everything, Ctrl-C stops everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sentinel.cli import main
from sentinel.demo.up import responder_code
from tests.security.test_file_modes import loose_modes


def bao_processes(addr: str) -> list[str]:
    listen = addr.removeprefix("http://")
    out = subprocess.run(["ps", "-eww", "-o", "pid,args"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if f"-dev-listen-address={listen}" in line]


def test_demo_up_runs_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    workdir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTINEL_", "VAULT_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentinel", "demo", "up", "--dir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
        umask=0,  # the loosest: everything Sentinel creates must still be its own alone
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "sentinel.ready" in line:
                break
        banner = "".join(lines)
        assert "Sentinel demo" in banner and "lockdown example-news-x" in banner, banner
        assert "unfreeze example-news-x" in banner and "/console/" in banner, banner
        cfg = str(workdir / "sentinel.toml")
        addr = next(x.split()[1] for x in lines if x.strip().startswith("Vault "))
        assert httpx.get(f"{addr}/v1/sys/health").status_code == 200
        assert len(bao_processes(addr)) == 1

        # The status command sees the running daemon; the audit trail holds its start.
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(["--json", "--config", cfg, "status"]) == 0
        status = json.loads(buf.getvalue())
        assert status["daemon"]["state"] == "running" and status["accounts"]["total"] == 12
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(["--config", cfg, "audit", "verify"]) == 0
        assert "intact" in buf.getvalue()
        token = (workdir / "vault-token").read_text().strip()
        assert oct((workdir / "vault-token").stat().st_mode & 0o777) == "0o600"
        assert loose_modes(workdir) == []

        # The banner's walk-through: op-ana locks an account down, op-ben unfreezes it with a TOTP code.
        with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(io.StringIO()):
            mp.setenv("VAULT_TOKEN", (workdir / "op-ana.token").read_text().strip())
            assert (
                main(["--config", cfg, "lockdown", "example-news-x", "--reason", "trying it", "--yes"]) == 0
            )
            assert (
                main(["--config", cfg, "unfreeze", "example-news-x", "--reason", "x", "--code", "000000"])
                != 0
            )
            mp.setenv("VAULT_TOKEN", (workdir / "op-ben.token").read_text().strip())
            code = responder_code(workdir, "op-ben")
            assert (
                main(
                    ["--config", cfg, "unfreeze", "example-news-x", "--reason", "cleaned up", "--code", code]
                )
                == 0
            )
        assert oct((workdir / "op-ben.totp").stat().st_mode & 0o777) == "0o600"

        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == 0, rest
    assert "sentinel.stopped" in rest
    assert token not in banner + rest
    assert bao_processes(addr) == []
    try:
        httpx.get(f"{addr}/v1/sys/health", timeout=1)
        raise AssertionError("the dev server still answers after Ctrl-C")
    except httpx.TransportError:
        pass
