"""The token bucket of failed authentications per client address (a clock the test moves)."""

from __future__ import annotations

import structlog

from sentinel.api.auth_throttle import LOG_EVERY, AuthThrottle, client_key


def throttle(burst: int = 3, rate: float = 0.5, max_clients: int = 100) -> tuple[AuthThrottle, list[float]]:
    now = [0.0]
    return AuthThrottle(burst, rate, clock=lambda: now[0], max_clients=max_clients), now


def tries(t: AuthThrottle, address: str) -> int:
    """Tries the address has left (taking them all)."""
    n = 0
    while t.take(address) is None:
        n += 1
    return n


def test_an_address_has_a_burst_then_waits_for_the_rate() -> None:
    t, now = throttle(burst=3, rate=0.5)
    assert [t.take("192.0.2.1") for _ in range(3)] == [None, None, None]
    assert t.take("192.0.2.1") == 2  # one more try in 1/rate seconds
    now[0] += 1.0
    assert t.take("192.0.2.1") == 1
    now[0] += 1.0
    assert t.take("192.0.2.1") is None
    assert t.take("192.0.2.2") is None  # another address has its own bucket


def test_tries_come_back_no_further_than_the_burst() -> None:
    t, now = throttle(burst=3, rate=0.5)
    assert tries(t, "192.0.2.1") == 3
    now[0] += 3600
    assert tries(t, "192.0.2.1") == 3


def test_a_try_given_back_was_no_failure() -> None:
    t, _ = throttle(burst=2)
    for _ in range(10):  # people whose tokens Vault accepts never run out
        assert t.take("192.0.2.1") is None
        t.give_back("192.0.2.1")
    assert tries(t, "192.0.2.1") == 2
    t.give_back("192.0.2.9")  # an address never seen: nothing to give back to
    assert tries(t, "192.0.2.9") == 2


def test_an_ipv6_host_counts_per_64_and_a_mapped_ipv4_as_itself() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_key("testclient") == "testclient"
    t, _ = throttle(burst=2)
    assert tries(t, "2001:db8:1:2::1") == 2
    assert t.take("2001:db8:1:2:dead:beef:0:1") is not None


def test_memory_is_bounded_by_forgetting_the_least_recently_seen() -> None:
    t, _ = throttle(burst=1, max_clients=2)
    assert tries(t, "192.0.2.1") == 1
    assert tries(t, "192.0.2.2") == 1
    assert t.take("192.0.2.1") is not None  # seen last: kept
    assert t.take("192.0.2.3") is None  # a third: the least recently seen (.2) is forgotten
    assert t.take("192.0.2.1") is not None
    assert t.take("192.0.2.2") is None  # forgotten, so it starts again with a full burst


def test_a_burst_of_0_is_off() -> None:
    t, _ = throttle(burst=0)
    assert all(t.take("192.0.2.1") is None for _ in range(1000))


def test_refusals_are_logged_once_per_address_per_window() -> None:
    t, now = throttle(burst=1, rate=0.001)
    with structlog.testing.capture_logs() as logs:
        t.take("192.0.2.1")
        for _ in range(50):
            t.take("192.0.2.1")
        t.take("192.0.2.2")
        t.take("192.0.2.2")
        now[0] += LOG_EVERY
        t.take("192.0.2.1")
    lines = [(e["client"], e["refused"]) for e in logs if e["event"] == "authz.failed_auth_throttled"]
    assert lines == [("192.0.2.1", 1), ("192.0.2.2", 1), ("192.0.2.1", 50)]
