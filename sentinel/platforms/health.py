"""How each platform's API is doing, as Sentinel's own calls see it.

Every request through ``sentinel.platforms.http.HttpClient`` reports here: a success, a
failure it gave up on, or a rate limit the platform asked it to wait out. Per platform this
keeps the time of the last success, the consecutive failures since, the last error, and
until when the platform asked Sentinel to wait. ``sentinel status`` shows it (from the
daemon's heartbeat) and ``/metrics`` exports it (``publish``):

- ``sentinel_platform_last_success_timestamp_seconds{platform}``
- ``sentinel_platform_consecutive_errors{platform}``
- ``sentinel_platform_rate_limit_wait_seconds{platform}`` (0 when not limited)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sentinel.metrics import PLATFORM_ERRORS, PLATFORM_LAST_SUCCESS, PLATFORM_RATE_LIMIT_WAIT, Metrics


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None


@dataclass
class PlatformState:
    last_ok: float | None = None
    errors: int = 0
    last_error: str = ""
    limited_until: float = 0.0
    calls: int = 0


class PlatformHealth:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._state: dict[str, PlatformState] = {}
        # (platform, account) -> until when the platform asked that account's calls to wait
        self._accounts_limited: dict[tuple[str, str], float] = {}

    def _get(self, platform: str) -> PlatformState:
        st = self._state.get(platform)
        if st is None:
            st = self._state[platform] = PlatformState()
        return st

    def ok(self, platform: str, account: str | None = None) -> None:
        with self._lock:
            if account is not None:  # the platform answers this account again
                self._accounts_limited.pop((platform, account), None)
            st = self._get(platform)
            st.last_ok, st.errors, st.last_error, st.calls = self.clock(), 0, "", st.calls + 1

    def failed(self, platform: str, error: str) -> None:
        with self._lock:
            st = self._get(platform)
            st.errors, st.last_error, st.calls = st.errors + 1, error[:300], st.calls + 1

    def rate_limited(self, platform: str, wait: float, account: str | None = None) -> None:
        with self._lock:
            st = self._get(platform)
            until = self.clock() + wait
            st.limited_until = max(st.limited_until, until)
            if account is not None:
                key = (platform, account)
                self._accounts_limited[key] = max(self._accounts_limited.get(key, 0.0), until)

    def account_wait(self, platform: str, account: str) -> float:
        """Seconds the platform still asks ``account``'s calls to wait (0: none).

        A rate limit is the account's (its token's), so every caller — the poll, an
        account-state snapshot, a stream's wake-up, a freeze step — honours the same wait.
        """
        key = (platform, account)
        with self._lock:
            until = self._accounts_limited.get(key)
            if until is None:
                return 0.0
            left = until - self.clock()
            if left <= 0:
                del self._accounts_limited[key]
                return 0.0
            return left

    def reset(self) -> None:
        """Forget every platform's record and every account's wait (a fresh process's view)."""
        with self._lock:
            self._state.clear()
            self._accounts_limited.clear()

    def snapshot(self) -> dict[str, dict[str, Any]]:
        now = self.clock()
        with self._lock:
            return {
                p: {
                    "last_success": _iso(st.last_ok),
                    "consecutive_errors": st.errors,
                    "last_error": st.last_error,
                    "rate_limit_wait": round(max(0.0, st.limited_until - now), 1),
                }
                for p, st in sorted(self._state.items())
            }

    def gauge(self, field: str) -> dict[str, float]:
        """One number per platform (``last_ok``, ``errors`` or ``wait``) for the metrics."""
        return {p: float(v[field] or 0.0) for p, v in self._numbers().items()}

    def _numbers(self) -> dict[str, dict[str, float | None]]:
        now = self.clock()
        with self._lock:
            return {
                p: {
                    "last_ok": st.last_ok,
                    "errors": float(st.errors),
                    "wait": max(0.0, st.limited_until - now),
                }
                for p, st in self._state.items()
            }


HEALTH = PlatformHealth()
"""The process's one record (every adapter's HTTP client reports to it)."""


def publish(metrics: Metrics, health: PlatformHealth = HEALTH) -> None:
    """Export ``health`` through the daemon's ``metrics``, read at each scrape."""
    metrics.read(PLATFORM_LAST_SUCCESS, lambda: health.gauge("last_ok"))
    metrics.read(PLATFORM_ERRORS, lambda: health.gauge("errors"))
    metrics.read(PLATFORM_RATE_LIMIT_WAIT, lambda: health.gauge("wait"))
