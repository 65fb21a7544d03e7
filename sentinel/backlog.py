"""Writes the state store cannot take now (a full disk, another process holding its write
lock), kept in memory in order and written before the next one.

The daemon keeps deciding while its store is unwritable; what it records meanwhile (alerts,
audit entries) reaches the store late instead of never. The backlog is bounded (the oldest
are dropped past ``limit``, each logged) and lives in memory: a restart before the store
recovers loses what is held, which the log has named one by one.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from sentinel.errors import StoreError
from sentinel.logs import get_logger

log = get_logger("sentinel.backlog")

T = TypeVar("T")


class Backlog(Generic[T]):
    def __init__(self, write: Callable[[T, bool], None], what: str, limit: int = 1000) -> None:
        """``write(item, late)`` commits one item (raising ``StoreError`` when the store cannot
        take it; ``late``: the item waited in the backlog); ``what`` names the items in the log
        (``<what>.held``, ``<what>.held_dropped``)."""
        self._write = write
        self.what = what
        self.limit = limit
        self._held: deque[tuple[T, bool]] = deque()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._held)

    @property
    def full(self) -> bool:
        """The next item held would push the oldest out: whoever can wait should."""
        return len(self._held) >= self.limit

    def submit(self, item: T) -> bool:
        """Write ``item`` after what is held; False when it is held too (the store refused)."""
        with self._lock:
            if len(self._held) >= self.limit:
                self._held.popleft()
                log.error(f"{self.what}.held_dropped", held=len(self._held), limit=self.limit)
            self._held.append((item, False))  # late once a write of it or before it failed
            return self._drain()

    def flush(self) -> bool:
        """Write what is held; True when nothing is left."""
        with self._lock:
            return self._drain()

    def _drain(self) -> bool:
        while self._held:
            try:
                self._write(*self._held[0])
            except StoreError as e:
                self._held = deque((item, True) for item, _ in self._held)
                log.error(f"{self.what}.held", held=len(self._held), error=e.message)
                return False
            except Exception:  # one bad item never blocks the rest
                log.exception(f"{self.what}.write_failed")
            self._held.popleft()
        return True
