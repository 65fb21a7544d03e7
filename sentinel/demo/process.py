"""``sentinel demo up`` as a child process, for end-to-end tests and benchmarks.

Its output goes to ``<workdir>.log`` (a pipe nobody reads would fill and stop the daemon
mid-write); ``start`` returns once the daemon logged ``sentinel.ready`` and the banner named
the API's address.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from sentinel.errors import SentinelError

API = re.compile(r"API\s+(http://127\.0\.0\.1:\d+)")


class DemoProcess:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.log_path = workdir.with_name(workdir.name + ".log")
        self.api = ""
        self.proc: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    @property
    def root_token(self) -> str:
        return (self.workdir / "root-token").read_text().strip()

    @property
    def env(self) -> dict[str, str]:
        """This environment without Sentinel's or Vault's variables (the demo sets its own)."""
        return {k: v for k, v in os.environ.items() if not k.startswith(("SENTINEL_", "VAULT_"))}

    def start(self, timeout: float = 90.0) -> DemoProcess:
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sentinel", "demo", "up", "--dir", str(self.workdir)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.env,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_path.read_text()
            found = API.search(text)
            if found and "sentinel.ready" in text:
                self.api = found.group(1)
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise SentinelError(f"the demo did not become ready; see {self.log_path}")

    def cli(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run ``sentinel ARGS`` against the demo (``demo attack`` takes ``--dir`` itself)."""
        return subprocess.run(
            [sys.executable, "-m", "sentinel", *args],
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
            **kwargs,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> DemoProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
