"""Benchmark: the watcher over 1,000 sandbox accounts polled every 30 s, or following the
sandbox's event stream (``--stream``: a post wakes its account's reconcile; polls every
``--stream-poll-interval`` seconds stay the floor).

Starts the sandbox platform in its own process, creates the accounts, runs the watcher in
this process, publishes posts on random accounts at random moments, and prints:

- the watcher process's CPU share of one core over the measured window (goal < 10 %);
- the detection delay, post published -> observed event handed to the engine callback
  (goal: under the interval + 2 s), as p50 / p95 / max.

With ``--pds N`` (needs the test network's PDS, tests/pds) N more accounts live on a real
Bluesky PDS, followed through its repository event stream; one post in ``--pds-share`` goes
there and its delays are printed apart.

Usage: python bench/watcher.py [--accounts 1000] [--interval 30] [--measure 90] [--posts 150]
       python bench/watcher.py --stream [--stream-poll-interval 300] [--pds 20] ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from sentinel.logs import configure
from sentinel.platforms import create_adapter
from sentinel.platforms.sandbox import SandboxAdapter
from sentinel.platforms.sandbox_server import SandboxProcess
from sentinel.store import Store
from sentinel.watcher import WatchedAccount, Watcher
from sentinel.watcher.push import PushSources


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pct(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[int(q * (len(ordered) - 1))], 2) if ordered else None


async def main(args: argparse.Namespace) -> dict[str, Any]:
    server = SandboxProcess().start()
    url = server.url
    pds = None
    if args.pds:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.pds_fixture import start as start_pds

        pds = start_pds()
    try:
        accounts = [
            {"handle": f"bench{i:04d}", "password": secrets.token_urlsafe(12)} for i in range(args.accounts)
        ]
        httpx.post(f"{url}/api/accounts", json={"accounts": accounts}, timeout=60).raise_for_status()
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        with tempfile.TemporaryDirectory() as tmp:
            async with httpx.AsyncClient(timeout=10, limits=limits) as shared:
                adapters = [
                    SandboxAdapter(
                        a["handle"],
                        {"identifier": a["handle"], "password": a["password"]},
                        base_url=url,
                        client=shared,
                    )
                    for a in accounts
                ]
                bsky_users = [pds.create_account() for _ in range(args.pds)] if pds is not None else []
                bsky = [
                    create_adapter("bluesky", f"bsky{i:03d}", u, base_url=pds.url)
                    for i, u in enumerate(bsky_users)
                    if pds is not None
                ]
                posters = [
                    create_adapter("bluesky", f"poster{i:03d}", u, base_url=pds.url)
                    for i, u in enumerate(bsky_users)
                    if pds is not None
                ]
                published: dict[str, float] = {}
                delays: list[float] = []
                pds_delays: list[float] = []

                def on_post(event: dict[str, Any]) -> None:
                    sent = published.get(event["text"])
                    if sent is not None:
                        (pds_delays if event["account"].startswith("bsky") else delays).append(
                            time.time() - sent
                        )

                store = Store(Path(tmp) / "bench.sqlite3")
                watcher = Watcher(
                    store,
                    [
                        WatchedAccount(a.account, a, gated=True, interval=args.interval)
                        for a in [*adapters, *bsky]
                    ],
                    on_post,
                    concurrency=args.concurrency,
                )
                push = PushSources(watcher, floor=args.stream_poll_interval) if args.stream else None
                if push is not None:
                    for a in [*adapters, *bsky]:
                        await push.add(a.account, a)
                runner = asyncio.create_task(watcher.run())
                # First interval: every account takes its baseline.
                await asyncio.sleep(args.interval + 1)
                baselined = sum(1 for s in watcher.state.values() if s.polls >= 1)
                wall0, cpu0 = time.monotonic(), cpu_seconds()
                polls0 = sum(s.polls for s in watcher.state.values())
                async with httpx.AsyncClient(base_url=url, timeout=10) as poster:
                    tokens: dict[str, str] = {}
                    start = time.monotonic()
                    schedule = sorted(
                        random.uniform(0, args.measure - args.interval - 3) for _ in range(args.posts)
                    )
                    for n, at in enumerate(schedule):
                        await asyncio.sleep(max(0.0, start + at - time.monotonic()))
                        if posters and n % args.pds_share == 0:
                            text = f"bench bsky post {n} {secrets.token_hex(4)}"
                            published[text] = time.time()
                            await random.choice(posters).publish(text)
                            continue
                        acct = random.choice(accounts)
                        token = tokens.get(acct["handle"])
                        if token is None:
                            r = await poster.post(
                                "/api/sessions", json={"handle": acct["handle"], "password": acct["password"]}
                            )
                            token = tokens[acct["handle"]] = r.json()["token"]
                        text = f"bench post {n} {secrets.token_hex(4)}"
                        published[text] = time.time()
                        (
                            await poster.post(
                                "/api/posts",
                                json={"text": text},
                                headers={"authorization": f"Bearer {token}"},
                            )
                        ).raise_for_status()
                    await asyncio.sleep(max(0.0, start + args.measure - time.monotonic()))
                wall, cpu = time.monotonic() - wall0, cpu_seconds() - cpu0
                polls = sum(s.polls for s in watcher.state.values()) - polls0
                errors = sum(1 for s in watcher.state.values() if s.errors)
                if push is not None:
                    await push.stop()
                watcher.stop()
                await runner
                store.close()
                for a in [*bsky, *posters]:
                    await a.aclose()
    finally:
        server.stop()
        if pds is not None:
            pds.stop()
    delays.sort()
    return {
        "accounts": args.accounts,
        "mode": "stream" if args.stream else "poll",
        "interval_s": args.stream_poll_interval if args.stream else args.interval,
        "baselined_in_first_interval": baselined,
        "measured_s": round(wall, 1),
        "polls": polls,
        "polls_per_s": round(polls / wall, 1),
        "accounts_in_error": errors,
        "cpu_share_of_one_core": f"{100 * cpu / wall:.1f}%",
        "posts_published": len(published),
        "posts_detected": len(delays),
        "delay_p50_s": round(statistics.median(delays), 2) if delays else None,
        "delay_p95_s": round(delays[int(0.95 * (len(delays) - 1))], 2) if delays else None,
        "delay_max_s": round(delays[-1], 2) if delays else None,
        "goal_delay_s": 5.0 if args.stream else args.interval + 2,
        **(
            {
                "pds_accounts": args.pds,
                "pds_posts_detected": len(pds_delays),
                "pds_delay_p50_s": pct(pds_delays, 0.5),
                "pds_delay_p95_s": pct(pds_delays, 0.95),
                "pds_delay_max_s": pct(pds_delays, 1.0),
            }
            if args.pds
            else {}
        ),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument(
        "--measure", type=float, default=90.0, help="seconds measured after the baseline interval"
    )
    parser.add_argument("--posts", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--stream", action="store_true", help="follow the sandbox's event stream")
    parser.add_argument("--stream-poll-interval", type=float, default=300.0)
    parser.add_argument("--pds", type=int, default=0, help="accounts on a real Bluesky PDS besides")
    parser.add_argument("--pds-share", type=int, default=5, help="every Nth post goes to the PDS")
    configure(level="warning", fmt="json", stream=open(os.devnull, "w"))  # noqa: SIM115
    result = asyncio.run(main(parser.parse_args()))
    print(json.dumps(result, indent=2))
