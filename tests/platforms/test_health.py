"""Per-platform health from the HTTP client's own calls: successes, failures, rate limits."""

from __future__ import annotations

import httpx
import pytest

from sentinel.metrics import Metrics
from sentinel.platforms.errors import PlatformRateLimited, PlatformUnavailable
from sentinel.platforms.health import HEALTH, publish
from sentinel.platforms.http import HttpClient


async def _no_sleep(_: float) -> None:
    return None


def client(platform: str, answers: list[httpx.Response]) -> HttpClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    return HttpClient(
        platform,
        "acct",
        "https://api.example",
        transport=httpx.MockTransport(handler),
        max_attempts=2,
        max_wait=30,
        sleep=_no_sleep,
    )


async def test_failures_count_until_a_success_and_rate_limits_show_their_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(HEALTH, "clock", lambda: now[0])
    http = client(
        "hx",
        [
            httpx.Response(500),
            httpx.Response(500),  # second attempt: given up
            httpx.Response(429, headers={"Retry-After": "120"}),  # longer than max_wait: not slept
            httpx.Response(200, json={}),
        ],
    )
    with pytest.raises(PlatformUnavailable):
        await http.request("GET", "/a")
    assert HEALTH.snapshot()["hx"]["consecutive_errors"] == 1
    with pytest.raises(PlatformRateLimited):
        await http.request("GET", "/a")
    health = HEALTH.snapshot()["hx"]
    assert health["consecutive_errors"] == 2 and 100 < health["rate_limit_wait"] <= 120
    assert health["last_success"] is None and "HTTP 429" in health["last_error"]
    exported = Metrics()
    publish(exported)
    text = exported.render().decode()
    assert 'sentinel_platform_consecutive_errors{platform="hx"} 2.0' in text
    assert 'sentinel_platform_last_success_timestamp_seconds{platform="hx"} 0.0' in text
    wait = next(
        line
        for line in text.splitlines()
        if line.startswith('sentinel_platform_rate_limit_wait_seconds{platform="hx"}')
    )
    assert 100 < float(wait.split()[-1]) <= 120

    # while the platform's Retry-After runs, nothing of this account's is sent, whoever asks
    other_caller = client("hx", [])  # another client of the same account: a snapshot, a freeze step
    for caller in (http, other_caller):
        with pytest.raises(PlatformRateLimited) as refused:
            await caller.request("GET", "/b")
        assert refused.value.retry_after == pytest.approx(120)
    assert HEALTH.snapshot()["hx"]["consecutive_errors"] == 2  # no new failure: nothing was sent
    other_account = HttpClient(
        "hx", "another", "https://api.example", transport=httpx.MockTransport(lambda r: httpx.Response(200))
    )
    await other_account.request("GET", "/a")  # another account's calls are not held back
    now[0] += 121
    await http.request("GET", "/a")
    health = HEALTH.snapshot()["hx"]
    assert health["consecutive_errors"] == 0 and health["last_success"] is not None
    await http.aclose()
    await other_caller.aclose()
    await other_account.aclose()


async def test_a_success_ends_the_accounts_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(HEALTH, "clock", lambda: 2_000_000.0)
    http = client("hz", [httpx.Response(429, headers={"Retry-After": "5"}), httpx.Response(200, json={})])
    await http.request("GET", "/a")  # slept 5 s (within max_wait) and answered
    assert HEALTH.account_wait("hz", "acct") == 0
    await http.aclose()


async def test_a_short_wait_left_is_slept_before_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [3_000_000.0]
    monkeypatch.setattr(HEALTH, "clock", lambda: now[0])
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    HEALTH.rate_limited("hw", 20, "acct")  # another caller of the account met a Retry-After: 20
    now[0] += 5
    http = HttpClient(
        "hw",
        "acct",
        "https://api.example",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json={})),
        max_wait=30,
        sleep=sleep,
    )
    await http.request("GET", "/a")
    assert slept == [pytest.approx(15)]
    await http.aclose()


async def test_an_answer_that_is_the_callers_fault_is_not_an_outage() -> None:
    http = client("hy", [httpx.Response(423, json={"error": "locked"})])
    with pytest.raises(Exception, match="HTTP 423"):
        await http.request("GET", "/a")
    assert HEALTH.snapshot()["hy"]["consecutive_errors"] == 0
    await http.aclose()
