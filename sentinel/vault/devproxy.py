"""A small TCP proxy in front of a dev server that can cut or slow the link (chaos tests, the soak).

``down()`` closes every open connection and refuses new ones at once (the other side sees
a reset, as when a network path or a Vault node goes away) while the server behind keeps
its state, so ``up()`` brings exactly the same Vault back. ``slow(seconds)`` holds every
chunk of the server's answers that long before passing it on (a Vault overloaded or far
away); ``slow(0)`` ends it. For demos and tests only.
"""

from __future__ import annotations

import socket
import threading
import time

from sentinel.net import free_port


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target``; ``down()`` cuts open connections and refuses new ones."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._up = True
        self._latency = 0.0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        self.down()

    def down(self) -> None:
        with self._lock:
            self._up = False
            for s in self._open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self._open.clear()

    def up(self) -> None:
        with self._lock:
            self._up = True

    def slow(self, seconds: float) -> None:
        """Hold each chunk the server sends ``seconds`` before forwarding it (0: no delay)."""
        self._latency = seconds

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                up = self._up
            if not up:
                client.close()
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open.update((client, server))
            for a, b, answers in ((client, server, False), (server, client, True)):
                threading.Thread(target=self._pump, args=(a, b, answers), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, answers: bool) -> None:
        try:
            while data := src.recv(65536):
                if answers and self._latency:
                    time.sleep(self._latency)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            with self._lock:
                self._open.discard(src)
            src.close()  # the other pump closes dst
