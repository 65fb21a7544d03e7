"""Benchmark the detection engine: throughput, per-event latency, memory, flatness over history.

Generates a synthetic organisation (default 10,000 accounts, 90 days, ~2 posts per account
per day, a third gated so their posts come as gate check + observed post) and feeds it
through the full engine with the shipped rules. Prints events/s (by the engine's wall time
and by the process's CPU time, which a busy machine disturbs less) and p50/p99 latency per
tenth of the run (cost must stay flat as history grows) and the peak RSS.

    python bench/engine.py [--accounts 10000] [--days 90] [--per-day 2]
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import statistics
import sys
import time
from pathlib import Path

from sentinel.engine.engine import Engine
from sentinel.engine.events import Event
from sentinel.engine.loader import load_rules
from sentinel.inventory import Account, Inventory

ROOT = Path(__file__).resolve().parents[1]
TZS = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo", "Australia/Sydney"]
WORDS = [
    "update",
    "launch",
    "team",
    "news",
    "thanks",
    "customers",
    "product",
    "release",
    "event",
    "webinar",
    "story",
    "blog",
    "support",
    "fix",
    "service",
    "status",
    "join",
    "today",
    "week",
    "new",
    "our",
    "your",
    "read",
    "more",
]
DOMAINS = ["example.com", "news.example.org", "bbc.co.uk", "github.com", "medium.com"]


def build(accounts: int) -> Inventory:
    return Inventory(
        accounts=tuple(
            Account(
                id=f"acct-{i}",
                platform="x",
                handle=f"@a{i}",
                timezone=TZS[i % len(TZS)],
                publishing="gated" if i % 3 == 0 else "open",
                owners=(f"op-{i % 500}",),
                domains=("example.com",),
            )
            for i in range(accounts)
        )
    )


def events(accounts: int, days: int, per_day: float, seed: int = 1):  # type: ignore[no-untyped-def]
    rnd = random.Random(seed)
    start = 1767225600.0  # 2026-01-01
    total = int(accounts * days * per_day)
    step = days * 86400.0 / total
    ts = start
    for n in range(total):
        ts += step
        i = rnd.randrange(accounts)
        text = " ".join(rnd.choices(WORDS, k=rnd.randint(6, 14)))
        if rnd.random() < 0.6:
            text += f" https://{rnd.choice(DOMAINS)}/p/{rnd.randrange(1000)}"
        aid = f"acct-{i}"
        if i % 3 == 0:
            author = f"op-{i % 500}"
            yield Event(
                f"g{n}", ts, aid, "gate", text, "Tool", f"p{n}", author, f"198.51.{i % 200}.{i % 250}"
            )
            yield Event(f"o{n}", ts + 5, aid, "observed", text, "Tool", f"p{n}")
        else:
            yield Event(f"o{n}", ts, aid, "observed", text, "Tool", f"p{n}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=10000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--per-day", type=float, default=2.0)
    args = ap.parse_args()
    engine = Engine(build(args.accounts), load_rules([ROOT / "rules"]))
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    posts = int(args.accounts * args.days * args.per_day)
    print(
        f"{args.accounts} accounts, {args.days} days, {posts} posts, {len(engine.rules)} rules "
        f"(events are generated on the fly, not held in memory)"
    )
    slices = 10
    size = max(1, int(posts * 1.33) // slices)
    all_lat: list[float] = []
    lat: list[float] = []
    clock, cpu_clock = time.perf_counter, time.process_time
    t_start = clock()
    done = 0
    cpu = cpu_total = 0.0
    it = events(args.accounts, args.days, args.per_day)
    evaluate = engine.evaluate
    while True:
        # a thousand events at a time, generated before the clocks start
        chunk = list(itertools.islice(it, 1000))
        if not chunk:
            break
        c = cpu_clock()
        for ev in chunk:
            a = clock()
            evaluate(ev)
            lat.append(clock() - a)
        cpu += cpu_clock() - c
        done += len(chunk)
        if len(lat) >= size:
            lat.sort()
            print(
                f"  {done:9} events (day {int(chunk[-1].ts - 1767225600.0) // 86400:3}): "
                f"{len(lat) / sum(lat):8.0f} events/s  {len(lat) / cpu:8.0f} events/s of CPU  "
                f"p50 {lat[len(lat) // 2] * 1e6:6.1f} us  p99 {lat[int(len(lat) * 0.99)] * 1e6:7.1f} us",
                flush=True,
            )
            all_lat.extend(lat[::10])
            cpu_total += cpu
            lat, cpu = [], 0.0
    total = sum(all_lat) * 10 + sum(lat)
    cpu_total += cpu
    all_lat.extend(lat[::10])
    all_lat.sort()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"overall: {done} events, {done / total:.0f} events/s (engine time only), "
        f"{done / cpu_total:.0f} events/s of CPU time, "
        f"p50 {statistics.median(all_lat) * 1e6:.1f} us, p99 {all_lat[int(len(all_lat) * 0.99)] * 1e6:.1f} us"
    )
    print(
        f"peak RSS: {rss:.0f} MB (process before the run: {base_rss:.0f} MB); wall {clock() - t_start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
