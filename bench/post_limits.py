"""Measure the detection engine's worst case on long hostile posts, at each platform's limit.

A platform refuses a post longer than its documented maximum (``PlatformInfo.text_limit``),
and so does Sentinel's gate; observed posts are never refused, so the engine must stay
bounded on whatever a timeline holds. For each limit this builds crafted texts of that
length (many links, many hashtags, long words, repeated shingles, defanged links, mixed)
and times one engine evaluation of each, as a gate check and as an observed post, on an
account with a learned baseline (so novelty rules run too). Prints the median and worst
milliseconds per text kind and limit, of wall time and of the thread's CPU time (which a
busy machine disturbs less), the worst CPU time per limit, and the slowest functions on the
largest texts (``--profile``).

    python bench/post_limits.py [--repeat 5] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sentinel.engine.engine import Engine
from sentinel.engine.events import Event
from sentinel.engine.loader import load_rules
from sentinel.inventory import Account, Inventory
from sentinel.platforms.registry import capabilities_for, platforms

ROOT = Path(__file__).resolve().parents[1]
START = 1767225600.0  # 2026-01-01


def _fill(unit: Callable[[int], str], length: int) -> str:
    parts: list[str] = []
    size = n = 0
    while size < length:
        piece = unit(n)
        parts.append(piece)
        size += len(piece)
        n += 1
    return "".join(parts)[:length]


HOSTILE: dict[str, Callable[[int], str]] = {
    "links": lambda n: f"https://d{n}.example{n % 7}.com/p/{n}?utm_source=x{n} ",
    "hashtags": lambda n: f"#tag{n} ",
    "long_words": lambda n: "a" * 997 + f"{n:03d} ",
    "shingles": lambda n: "free crypto giveaway claim your prize now ",
    "defanged": lambda n: f"hxxps://d{n}[.]exa{n % 5}mple[.]com/x hxxp[:]//1[.]2[.]3[.]{n % 250} ",
    "mixed": lambda n: (
        f"@user{n} #g{n} https://xn--exmple-cua{n}.com/{n} send 0.1 BTC to "
        f"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh {n} "
    ),
}


def inventory() -> Inventory:
    return Inventory(
        accounts=tuple(
            Account(
                id=f"acct-{p}",
                platform=p,
                handle=f"@{p}",
                timezone="UTC",
                publishing="gated",
                owners=("op-a",),
                domains=("example.com",),
            )
            for p in platforms()
        )
    )


def warm(engine: Engine, accounts: list[str]) -> None:
    """Three weeks of ordinary posts per account, so the baselines are mature."""
    ts = START
    for day in range(21):
        for hour in (9, 13, 17):
            for a in accounts:
                ts = START + day * 86400 + hour * 3600
                text = f"our update number {day}-{hour} https://example.com/news/{day}"
                engine.evaluate(
                    Event(
                        f"w{a}{day}{hour}",
                        ts,
                        a,
                        "gate",
                        text,
                        "Tool",
                        f"p{a}{day}{hour}",
                        "op-a",
                        "198.51.100.7",
                    )
                )
                engine.evaluate(
                    Event(f"o{a}{day}{hour}", ts + 5, a, "observed", text, "Tool", f"p{a}{day}{hour}")
                )


def cases() -> Iterator[tuple[str, int, str]]:
    limits = sorted({capabilities_for(p).text_limit.maximum for p in platforms()})
    for limit in limits:
        for kind, unit in HOSTILE.items():
            yield kind, limit, _fill(unit, limit)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5, help="evaluations of each text (default 5)")
    ap.add_argument(
        "--profile", action="store_true", help="profile the largest texts, print the top functions"
    )
    args = ap.parse_args()
    inv = inventory()
    engine = Engine(inv, load_rules([ROOT / "rules"]))
    ids = [a.id for a in inv.accounts]
    warm(engine, ids)
    limits = {p: capabilities_for(p).text_limit for p in platforms()}
    for p, lim in limits.items():
        print(f"{p:10} {lim.maximum:7} {lim.unit}")
    print(
        f"{'text':10} {'length':>7} {'via':8} {'median ms':>10} {'worst ms':>9} {'CPU median':>11} {'CPU worst':>10}"
    )
    ts = START + 22 * 86400 + 10 * 3600
    n = 0
    worst_all = worst_cpu = 0.0
    per_limit: dict[int, float] = {}
    for kind, length, text in cases():
        for via in ("gate", "observed"):
            lat, cpu = [], []
            for _ in range(args.repeat):
                n += 1
                ts += 1
                ev = Event(
                    f"b{n}",
                    ts,
                    "acct-facebook",
                    via,
                    text,
                    "Tool",
                    f"q{n}",
                    "op-a" if via == "gate" else "",
                    "198.51.100.7" if via == "gate" else "",
                )
                gc.collect()  # a collection due anyway is not this text's cost
                t, c = time.perf_counter(), time.thread_time()
                engine.evaluate(ev)
                lat.append(time.perf_counter() - t)
                cpu.append(time.thread_time() - c)
            worst_all, worst_cpu = max(worst_all, *lat), max(worst_cpu, *cpu)
            per_limit[length] = max(per_limit.get(length, 0.0), *cpu)
            print(
                f"{kind:10} {length:7} {via:8} {statistics.median(lat) * 1e3:10.2f} {max(lat) * 1e3:9.2f} "
                f"{statistics.median(cpu) * 1e3:11.2f} {max(cpu) * 1e3:10.2f}",
                flush=True,
            )
    print("worst CPU ms per limit: " + ", ".join(f"{k}: {v * 1e3:.1f}" for k, v in sorted(per_limit.items())))
    print(f"worst CPU of all: {worst_cpu * 1e3:.2f} ms")
    print(f"worst of all: {worst_all * 1e3:.2f} ms")
    if args.profile:
        largest = max(lim.maximum for lim in limits.values())
        prof = cProfile.Profile()
        for unit in HOSTILE.values():
            text = _fill(unit, largest)
            n += 1
            prof.runcall(
                engine.evaluate, Event(f"b{n}", ts, "acct-facebook", "observed", text, "Tool", f"q{n}")
            )
        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
