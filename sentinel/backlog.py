"""Writes the state store cannot take now (a full disk, another process holding its write
lock), kept in memory in order and written before the next one.

The daemon keeps deciding while its store is unwritable; what it records meanwhile (alerts,
audit entries) reaches the store late instead of never. The backlog is bounded and lives in
memory: a restart before the store recovers loses what is held, which the log has named one
by one.

Past ``limit`` one item is dropped: the least severe, oldest first (``describe`` says how
severe an item is; without it every item weighs the same and the oldest goes), so a freeze
or containment alert is never dropped while a milder one is kept. Each drop is logged with
its kind and severity and counted in ``sentinel_backlog_dropped_total{what,severity}``; a
critical one dropped (the backlog holds nothing else) is logged as an error and kept in
``lost`` for the owner to say once the store takes writes again.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sentinel import metrics
from sentinel.errors import StoreError
from sentinel.logs import get_logger

log = get_logger("sentinel.backlog")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Weight:
    """How much a held item matters: ``rank`` 0 is critical, larger is milder."""

    kind: str
    severity: str
    rank: int

    @property
    def critical(self) -> bool:
        return self.rank == 0


UNWEIGHED = Weight("", "none", 1)
"""The weight of every item when the backlog is given no ``describe``."""


class Backlog(Generic[T]):
    def __init__(
        self,
        write: Callable[[T, bool], None],
        what: str,
        limit: int = 1000,
        describe: Callable[[T], Weight] | None = None,
    ) -> None:
        """``write(item, late)`` commits one item (raising ``StoreError`` when the store cannot
        take it; ``late``: the item waited in the backlog); ``what`` names the items in the log
        (``<what>.held``, ``<what>.held_dropped``, ``<what>.critical_dropped``) and the metric;
        ``describe(item)`` weighs an item for choosing which to drop when full."""
        self._write = write
        self.what = what
        self.limit = limit
        self._describe = describe
        self._held: deque[tuple[T, bool]] = deque()
        self._lock = threading.Lock()
        self.lost: list[Weight] = []
        """Critical items dropped since ``take_lost`` was last called."""

    def __len__(self) -> int:
        return len(self._held)

    @property
    def full(self) -> bool:
        """The next item held would push one out: whoever can wait should."""
        return len(self._held) >= self.limit

    def weight(self, item: T) -> Weight:
        return self._describe(item) if self._describe is not None else UNWEIGHED

    def submit(self, item: T) -> bool:
        """Write ``item`` after what is held; False when it is held too (the store refused)."""
        with self._lock:
            self._held.append((item, False))  # late once a write of it or before it failed
            if self._drain():
                return True
            if len(self._held) > self.limit:  # the store refused: only now is one dropped
                self._drop_one()
            return False

    def take_lost(self) -> list[Weight]:
        """The critical items dropped since the last call (to be said once the store is back)."""
        with self._lock:
            lost, self.lost = self.lost, []
            return lost

    def flush(self) -> bool:
        """Write what is held; True when nothing is left."""
        with self._lock:
            return self._drain()

    def _drop_one(self) -> None:
        """Drop the least severe item, the oldest of those (the one just added included)."""
        weights = [self.weight(item) for item, _ in self._held]
        index = max(range(len(weights)), key=lambda i: (weights[i].rank, -i))
        dropped = weights[index]
        del self._held[index]
        metrics.BACKLOG_DROPS.labels(what=self.what, severity=dropped.severity).inc()
        fields = {
            "kind": dropped.kind,
            "severity": dropped.severity,
            "held": len(self._held),
            "limit": self.limit,
        }
        if dropped.critical:
            self.lost.append(dropped)
            log.error(f"{self.what}.critical_dropped", **fields)
        else:
            log.warning(f"{self.what}.held_dropped", **fields)

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
