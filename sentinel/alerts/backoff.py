"""Exponential backoff with jitter for delivery retries (pure; the random source is injectable)."""

from __future__ import annotations

import random


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 = the first failure).

    The ceiling doubles each attempt up to ``maximum``; the delay is drawn uniformly from
    the upper half of it ("equal jitter"), so retries from many senders spread out but
    never come back sooner than half the ceiling.
    """
    r = rng or random
    ceiling = min(maximum, initial * 2 ** max(attempt - 1, 0))
    return float(ceiling / 2 + r.uniform(0, ceiling / 2))
