"""Process-wide counters for the alert pipeline, for the daemon's status and metrics endpoint."""

from __future__ import annotations

import threading
from collections import Counter


class AlertMetrics:
    """Monotonic counters keyed by ``(name, receiver)``; ``receiver`` is ``""`` when not per receiver."""

    NAMES = (
        "alerts_raised",
        "alerts_resolved",
        "alerts_silenced",
        "notifications_created",
        "deliveries_succeeded",
        "delivery_attempts_failed",
        "deliveries_dead_lettered",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def inc(self, name: str, receiver: str = "", by: int = 1) -> None:
        with self._lock:
            self._counts[(name, receiver)] += by

    def value(self, name: str, receiver: str | None = None) -> int:
        with self._lock:
            if receiver is not None:
                return self._counts[(name, receiver)]
            return sum(v for (n, _), v in self._counts.items() if n == name)

    def snapshot(self) -> dict[str, dict[str, int]]:
        """``{name: {receiver: count}}`` for every counter touched so far."""
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for (name, receiver), v in sorted(self._counts.items()):
                out.setdefault(name, {})[receiver] = v
            return out


METRICS = AlertMetrics()
"""The counters of this process (``sentinel_alert_*`` when exported)."""
