from __future__ import annotations

import gc
import random

import pytest

from sentinel.retry import RetryPolicy, TryAgain, backoff_delay, retry_after_seconds, retrying, with_retries


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    for attempt, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (10, 60.0), (50, 60.0)]:
        delays = [backoff_delay(attempt, 2.0, 60.0, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len({round(d, 6) for d in delays}) > 150  # jittered, not constant


def test_what_the_other_side_asked_for_wins_over_the_backoff() -> None:
    policy = RetryPolicy(attempts=4, initial=0.5, maximum=8.0)
    assert policy.delay(3, asked=42.0) == 42.0
    assert 1.0 <= policy.delay(3) <= 2.0
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470.0) == 10.0


async def test_the_loop_retries_only_what_asks_for_it_and_ends_with_its_error() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    tries = 0
    with pytest.raises(ValueError, match="still down"):
        try:
            async for attempt in retrying(RetryPolicy(attempts=3), sleep):
                with attempt:
                    tries += 1
                    raise TryAgain(ValueError("still down"), asked=5.0)
        except TryAgain as e:
            raise e.error from None
    assert tries == 3 and slept == [5.0, 5.0]

    tries = 0
    with pytest.raises(KeyError):
        async for attempt in retrying(RetryPolicy(attempts=3), sleep):
            with attempt:
                tries += 1
                raise KeyError("not retried")
    assert tries == 1


async def test_with_retries_returns_the_first_success_and_ends_with_the_last_try_again() -> None:
    slept: list[float] = []
    tries: list[int] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def flaky() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise TryAgain(ValueError("busy"), asked=2.0)
        return "done"

    retried: list[int] = []
    assert (
        await with_retries(RetryPolicy(attempts=4), sleep, flaky, lambda n, d, e: retried.append(n)) == "done"
    )
    assert len(tries) == 3 and slept == [2.0, 2.0] and retried == [1, 2]

    async def down() -> str:
        raise TryAgain(ValueError("still down"))

    with pytest.raises(TryAgain) as last:
        await with_retries(RetryPolicy(attempts=2, initial=0.0), sleep, down)
    assert str(last.value.error) == "still down"


async def test_with_retries_leaves_no_reference_cycle_for_the_collector() -> None:
    """The daemon freezes what survives young collections: a call must leave nothing that
    only the garbage collector could free (tenacity's retrying object holds its own bound
    methods once a call ends)."""

    async def sleep(seconds: float) -> None:
        return None

    async def answer() -> dict[str, int]:
        return {"ok": 1}

    gc.collect()
    gc.disable()
    try:
        for _ in range(50):
            assert await with_retries(RetryPolicy(attempts=3), sleep, answer) == {"ok": 1}
        assert gc.collect() == 0
    finally:
        gc.enable()
