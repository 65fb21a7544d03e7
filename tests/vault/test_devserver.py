"""The dev server never outlives what started it (a test run or demo killed hard)."""

from __future__ import annotations

import subprocess
import sys

import httpx

from tests.waiting import wait_until


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

    def gone() -> bool:
        try:
            httpx.get(f"{addr}/v1/sys/health", timeout=0.5)
        except httpx.TransportError:
            return True
        return False

    wait_until("the dev server to die with its parent", gone, timeout=10, every=0.1)
