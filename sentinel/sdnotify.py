"""The systemd notify protocol, written directly on the ``$NOTIFY_SOCKET`` datagram socket.

``READY=1`` once serving, ``STATUS=...`` as a one-line summary, ``WATCHDOG=1`` every half
of ``$WATCHDOG_USEC`` from the event loop (so a wedged loop gets the service restarted),
``RELOADING=1`` + ``MONOTONIC_USEC`` around a reload, ``STOPPING=1`` on shutdown. Without
``$NOTIFY_SOCKET`` (not under systemd) every call is a no-op.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        addr = env.get("NOTIFY_SOCKET", "")
        self._addr: str | None = None
        if addr:
            # A leading '@' names a socket in the abstract namespace.
            self._addr = "\0" + addr[1:] if addr.startswith("@") else addr
        self._sock: socket.socket | None = None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        self.watchdog_interval: float | None = None
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog_interval = int(usec) / 1_000_000 / 2

    @property
    def enabled(self) -> bool:
        return self._addr is not None

    def send(self, *fields: str) -> bool:
        """Send ``KEY=VALUE`` lines in one datagram; return False when not under systemd."""
        if self._addr is None:
            return False
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        msg = "\n".join(f.replace("\n", " ") for f in fields).encode()
        try:
            self._sock.sendto(msg, self._addr)
        except OSError:
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, status: str) -> bool:
        return self.send(f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def reloading(self) -> bool:
        usec = int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1_000_000)
        return self.send("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
