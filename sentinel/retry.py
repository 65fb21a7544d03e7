"""Sentinel's one retry policy: how long to wait before trying again, and when to stop.

One formula everywhere (platform calls, alert deliveries, rotations, freeze steps):
exponential backoff with "equal jitter" — the ceiling doubles each attempt up to a maximum
and the wait is drawn from its upper half, so many retrying clients spread out yet none
comes back sooner than half the ceiling — unless the other side said how long to wait
(``Retry-After``, or a rate-limit reset header), which always wins.

Loops retry through tenacity (``with_retries``): the attempt raises ``TryAgain`` carrying
the error it would end with and the wait the other side asked for; ``policy.attempts``
bounds the tries and the last ``TryAgain``'s error is what the caller sees. Durable
schedules (the alert outbox keeps when to try next) use ``backoff_delay`` directly.

Retries are not stacked: a layer that retries (the HTTP client) ends in an error that says
so, and the layer above it (a freeze step) does not retry that error again.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base

T = TypeVar("T")

_RESET_HEADERS = ("retry-after", "ratelimit-reset", "x-ratelimit-reset", "x-rate-limit-reset")


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 = the first failure)."""
    r = rng or random
    ceiling = min(maximum, initial * 2 ** max(attempt - 1, 0))
    return float(ceiling / 2 + r.uniform(0, ceiling / 2))


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait according to the response headers, or ``None`` when they do not say.

    ``Retry-After`` as seconds or an HTTP date; ``RateLimit-Reset`` / ``X-RateLimit-Reset`` /
    ``X-Rate-Limit-Reset`` as seconds, epoch seconds or an ISO timestamp.
    """
    now = time.time() if now is None else now
    for name in _RESET_HEADERS:
        raw = headers.get(name)
        if not raw:
            continue
        raw = raw.strip()
        try:
            value = float(raw)
        except ValueError:
            pass
        else:
            # Large numbers are epoch timestamps (Bluesky, X); small ones are deltas.
            return max(0.0, value - now) if value > 1e9 else max(0.0, value)
        try:
            parsed = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            parsed = None
        if parsed is None:
            try:
                parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                continue
        if parsed.tzinfo is None:
            continue
        return max(0.0, parsed.timestamp() - now)
    return None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    initial: float = 0.5
    maximum: float = 8.0

    def delay(self, attempt: int, asked: float | None = None, rng: random.Random | None = None) -> float:
        """The wait after failed attempt ``attempt``: what was asked, else the backoff."""
        return asked if asked is not None else backoff_delay(attempt, self.initial, self.maximum, rng)


class TryAgain(Exception):
    """Raised inside an attempt: retry (after ``asked`` seconds when given), or end with ``error``."""

    def __init__(self, error: Exception, asked: float | None = None, reason: str = "") -> None:
        super().__init__(str(error))
        self.error = error
        self.asked = asked
        self.reason = reason


_RETRY_ON_TRY_AGAIN = retry_if_exception_type(TryAgain)
"""One for every call: it holds a bound method of its own, a cycle a new one per call would add."""


class _PolicyWait(wait_base):
    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        asked = exc.asked if isinstance(exc, TryAgain) else None
        return self.policy.delay(retry_state.attempt_number, asked)


async def with_retries(
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]],
    attempt: Callable[[], Awaitable[T]],
    on_retry: Callable[[int, float, TryAgain], None] | None = None,
) -> T:
    """``await attempt()`` until it returns, raises anything but ``TryAgain``, or the policy's
    attempts are spent (then the last ``TryAgain`` is raised).

    Tenacity's retrying object ends holding bound methods of its own (the actions of its
    last step): a reference cycle that only the garbage collector frees, and the daemon's
    heap policy lets such garbage wait minutes. Clearing them when the call ends lets
    reference counting free it, and what the call returned or raised, at once."""

    async def once() -> T:  # a coroutine function, which tenacity awaits (a lambda it would not)
        return await attempt()

    retry = retrying(policy, sleep, on_retry)
    try:
        return await retry(once)
    finally:
        retry.iter_state.reset()


def retrying(
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]],
    on_retry: Callable[[int, float, TryAgain], None] | None = None,
) -> AsyncRetrying:
    """Tenacity's ``AsyncRetrying`` for ``policy``: retries on ``TryAgain`` only."""

    def before_sleep(state: RetryCallState) -> None:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        if on_retry is not None and isinstance(exc, TryAgain) and state.next_action is not None:
            on_retry(state.attempt_number, float(state.next_action.sleep), exc)

    return AsyncRetrying(
        stop=stop_after_attempt(max(1, policy.attempts)),
        wait=_PolicyWait(policy),
        retry=_RETRY_ON_TRY_AGAIN,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
