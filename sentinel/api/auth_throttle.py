"""Failed authentications per client address: a token bucket each, checked before Vault.

Every request whose token Sentinel does not already know to be valid costs a Vault lookup.
``AuthThrottle`` bounds how many of those one client address can make fail: an address
holds ``burst`` tries (``[api] failed_auth_burst``, default 20) and regains ``rate`` per
second (``[api] failed_auth_rate``, default 2). A try is taken before Vault is asked and
given back when Vault accepts the token, so only failures count (a refused token, one Vault
could not be asked about, one cached as invalid); with none left the request is answered
429 ``too_many_auth_failures`` with ``Retry-After``, and Vault is not asked. A caller whose
token is already known valid never takes a try (``Authorizer.authenticate``), so people
keep working from an address a flood comes from.

The address is the one the API sees (``X-Forwarded-For`` only from ``[api]
trusted_proxies``); IPv6 addresses count per /64, the block one host is usually given, so
a host cannot start afresh by changing the low bits. Memory is bounded: the least recently
seen addresses are forgotten past ``max_clients`` (a forgotten address starts with a full
burst again). The log has one ``authz.failed_auth_throttled`` warning per address per
``LOG_EVERY`` seconds with the requests refused since the last line, never one per request.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import LRUCache

from sentinel import metrics
from sentinel.logs import get_logger
from sentinel.net import client_key

log = get_logger("sentinel.api.auth_throttle")

LOG_EVERY = 60.0
"""Seconds between two ``authz.failed_auth_throttled`` lines for one address."""
MAX_CLIENTS = 10_000


@dataclass
class _Bucket:
    tries: float
    at: float
    refused: int = 0
    """Requests refused since the address's last log line."""
    logged: float = -math.inf


class AuthThrottle:
    def __init__(
        self,
        burst: int,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.burst = burst
        self.rate = rate
        self.clock = clock
        self._buckets: LRUCache[str, _Bucket] = LRUCache(maxsize=max_clients)

    @property
    def enabled(self) -> bool:
        return self.burst > 0

    def _bucket(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        else:
            bucket.tries = min(float(self.burst), bucket.tries + (now - bucket.at) * self.rate)
            bucket.at = now
        return bucket

    def take(self, address: str) -> int | None:
        """Take one try for ``address`` before its token goes to Vault: None when it has one,
        else the whole seconds until it has (the answer's ``Retry-After``)."""
        if not self.enabled:
            return None
        key = client_key(address)
        now = self.clock()
        bucket = self._bucket(key, now)
        if bucket.tries >= 1:
            bucket.tries -= 1
            return None
        metrics.TOKEN_REFUSALS.labels(reason="throttled").inc()
        bucket.refused += 1
        if now - bucket.logged >= LOG_EVERY:
            log.warning(
                "authz.failed_auth_throttled",
                client=key,
                refused=bucket.refused,
                burst=self.burst,
                rate=self.rate,
            )
            bucket.logged, bucket.refused = now, 0
        return max(1, math.ceil((1 - bucket.tries) / self.rate))

    def give_back(self, address: str) -> None:
        """Vault accepted the token the try was taken for: it was no failure."""
        if not self.enabled:
            return
        key = client_key(address)
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tries = min(float(self.burst), bucket.tries + 1)
