"""The dev server never outlives what started it (a test run or demo killed hard)."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx


def test_dev_server_dies_with_a_parent_killed_hard() -> None:
    code = (
        "from sentinel.vault.devserver import DevVault; import time; "
        "d = DevVault().start(); print(d.addr, flush=True); time.sleep(60)"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    addr = parent.stdout.readline().strip()
    assert httpx.get(f"{addr}/v1/sys/health").status_code == 200
    parent.kill()
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{addr}/v1/sys/health", timeout=0.5)
        except httpx.TransportError:
            return
        time.sleep(0.1)
    raise AssertionError("the dev server outlived its parent")
