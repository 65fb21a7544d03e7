"""What metrics cost: one record (counter, histogram) and one scrape of a daemon-sized registry.

Fills the daemon's registry (``sentinel.metrics.Metrics``) the way a busy daemon does:
25 routes x 4 statuses with their latency histograms, 200 accounts' published posts,
8 platforms' health read at scrape, Vault and the outbox. Then prints the nanoseconds per
record as call sites do it (``labels(...).inc()``, ``.observe()``, a child kept) and the milliseconds per
scrape (``Metrics.render()``, what ``GET /metrics`` serves), each the best of ``--repeat``
runs (the machine is shared: the best run is the least disturbed one).

    python bench/metrics.py [--records 200000] [--scrapes 300] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sentinel import metrics

ROUTES = [f"route{i}" for i in range(25)]
ACCOUNTS = [f"acct{i}" for i in range(200)]
PLATFORMS = ["bluesky", "x", "meta", "linkedin", "youtube", "mastodon", "tiktok", "sandbox"]


def populate() -> metrics.Metrics:
    m = metrics.Metrics()
    for route in ROUTES:
        for status in (200, 400, 403, 500):
            metrics.API_REQUESTS.labels(route=route, status=status).inc()
        metrics.API_SECONDS.labels(route=route).observe(0.003)
    for account in ACCOUNTS:
        metrics.POSTS_PUBLISHED.labels(account=account).inc()
    now = time.time()
    m.read(metrics.PLATFORM_LAST_SUCCESS, lambda: dict.fromkeys(PLATFORMS, now))
    m.read(metrics.PLATFORM_ERRORS, lambda: dict.fromkeys(PLATFORMS, 0.0))
    m.read(metrics.PLATFORM_RATE_LIMIT_WAIT, lambda: dict.fromkeys(PLATFORMS, 0.0))
    m.read(metrics.VAULT_UP, lambda: True)
    m.read(metrics.ALERT_OUTBOX, lambda: {"pending": 3, "delivered": 3, "dead": 3, "waiting": 3})
    return m


def best(fn: Callable[[], object], n: int, repeat: int) -> float:
    """Seconds per call of ``fn``, the best of ``repeat`` runs of ``n`` calls."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t0) / n)
    return min(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--scrapes", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    m = populate()
    n, r = args.records, args.repeat

    def two_labels() -> None:
        metrics.API_REQUESTS.labels(route="route3", status=200).inc()

    def observe() -> None:
        metrics.API_SECONDS.labels(route="route3").observe(0.004)

    print(f"counter inc, 2 labels:      {best(two_labels, n, r) * 1e9:8.0f} ns")
    print(f"counter inc, no label:      {best(metrics.VAULT_AUDIT_ENTRIES.inc, n, r) * 1e9:8.0f} ns")
    print(f"histogram observe, 1 label: {best(observe, n, r) * 1e9:8.0f} ns")
    child = metrics.API_SECONDS.labels(route="route3")  # as the API's endpoint() keeps it per route
    print(f"histogram observe, child:   {best(lambda: child.observe(0.004), n, r) * 1e9:8.0f} ns")
    text = m.render()
    sentinel_lines = [line for line in text.decode().splitlines() if line.startswith("sentinel_")]
    print(
        f"scrape: {best(m.render, args.scrapes, r) * 1e3:.3f} ms for {len(text.splitlines())} lines "
        f"({len(sentinel_lines)} sentinel_* samples), {len(text)} bytes"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
