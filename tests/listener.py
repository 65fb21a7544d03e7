"""A listening socket's accept loop for test servers that record what clients send."""

from __future__ import annotations

import socket
from collections.abc import Callable


def accept_each(sock: socket.socket, handle: Callable[[socket.socket], None]) -> None:
    """Hand each connection accepted on ``sock`` to ``handle`` (then close it), until ``sock``
    is shut down."""
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        with conn:
            handle(conn)
