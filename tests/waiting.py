"""Waiting on a condition (never sleeping for synchronisation): poll until it holds, fail the
test naming what was awaited once a generous ceiling has passed (the machine is shared)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
POLL = 0.05
"""Seconds between two looks at the condition."""


async def wait_for(
    predicate: Callable[[], T], timeout: float = 10.0, what: str = "condition", every: float = POLL
) -> T:
    """Once ``predicate()`` is truthy, return it; fail the test after ``timeout`` seconds
    (looking every ``every`` seconds: more where a look is costly)."""
    deadline = time.monotonic() + timeout
    while not (last := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
        await asyncio.sleep(every)
    return last


def wait_until(what: str, predicate: Callable[[], T], timeout: float = 30.0, every: float = POLL) -> T:
    """``wait_for`` for synchronous tests: once ``predicate()`` is truthy, return it; fail
    naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (last := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
        time.sleep(every)
    return last
