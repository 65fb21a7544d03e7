"""Benchmark the API: ``POST /v1/check`` against a bare endpoint on the same server stack.

A real OpenBao dev server decides authorization (the caller's capabilities are cached for
``--cache`` seconds, as in the daemon); the API runs in its own process (uvicorn, the real
engine with the shipped rules, the demo inventory, the state store on disk). The load
generator, in this process, keeps ``--connections`` keep-alive HTTP/1.1 connections.

Two phases per endpoint, in the same run:

1. fixed rate: ``--rate`` requests/s for ``--duration`` seconds (open loop: latency is
   measured from each request's scheduled time, so a stall is not hidden);
2. saturation: as fast as the connections go for ``--max-seconds`` seconds (throughput).

``/healthz`` is the bare endpoint (routing, the handler wrapper, metrics, JSON response).
The server runs as the daemon does: its garbage-collector policy
(``sentinel.daemon.HeapPolicy``; ``--no-heap-policy`` to compare) and JSON logs at
``--log-level`` (default info: every decision is a log line). It reports each collection's
pause while serving. Two throughput figures: the issue's (the achieved rate of ``/v1/check``
at the fixed rate against the bare endpoint's) and the saturation ratio.

The server registers ``--secrets`` values for redaction first (default 1,000: a daemon
with ~180 accounts reads that many credentials and tokens), since every logged value is
scrubbed against them.

    python bench/api.py [--duration 30] [--rate 500] [--quick] [--log-level warning] [--secrets N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INVENTORY = ROOT / "sentinel" / "demo" / "inventory.toml"
_SYL = ["ka", "lo", "mi", "ren", "to", "sa", "vel", "dor", "pi", "tan", "qu", "es", "ro", "na", "li", "ber"]
WORDS = sorted({"".join(random.Random(i).choices(_SYL, k=3)) for i in range(3000)})
"""A vocabulary of a few thousand words: posts differ the way real ones do (the campaign
detector compares each post with recent ones; identical vocabularies would make every post
look like part of one campaign)."""


# -- the server process ------------------------------------------------------------------------------
def serve(port_file: Path, state: Path) -> None:
    from sentinel.api.app import create_app
    from sentinel.api.caller_access import Authorizer
    from sentinel.api.deps import Deps
    from sentinel.api.held import HeldStore
    from sentinel.api.service import ServerHandle, bind
    from sentinel.config import SHIPPED_RULES
    from sentinel.daemon import HeapPolicy
    from sentinel.engine.engine import Engine
    from sentinel.engine.loader import load_rules
    from sentinel.engine.settings import EngineSettings, PolicySettings
    from sentinel.inventory import load_inventory
    from sentinel.store import Store
    from sentinel.vault.client import VaultClient
    from sentinel.watcher.ledger import PublishedLedger

    env = os.environ
    vault = VaultClient(env["BENCH_VAULT_ADDR"], env["BENCH_DAEMON_TOKEN"])
    # A daemon protecting ~180 accounts has read hundreds of secrets (credentials, session
    # tokens), and every log line is scrubbed against all of them: register as many here.
    from sentinel.redact import register_secret

    for _ in range(int(env["BENCH_SECRETS"])):
        register_secret(secrets.token_urlsafe(24))
    inventory = load_inventory(INVENTORY)
    # No freezes: every check runs the whole rule set (a frozen account short-cuts to block).
    engine = Engine(
        inventory, load_rules([SHIPPED_RULES]), EngineSettings(policy=PolicySettings(freeze_score=1e9))
    )
    store = Store(state / "bench.sqlite3")
    deps = Deps(
        inventory=lambda: inventory,
        authorizer=Authorizer(lambda: vault, env["BENCH_ACL_PREFIX"], float(env["BENCH_CACHE"])),
        held=HeldStore(store),
        gate=lambda: engine,
        ledger=None if env.get("BENCH_NO_LEDGER") else PublishedLedger(store),
        readiness=lambda: {"vault": True, "rules": True},
    )

    # every collection's pause while serving, written out when the benchmark stops the server
    pauses: list[tuple[int, float]] = []
    started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((info["generation"], time.perf_counter() - started[0]))

    def write_pauses() -> None:
        (state / "gc.json").write_text(json.dumps(pauses))
        os._exit(0)

    async def main() -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, write_pauses)
        gc.callbacks.append(on_gc)
        handle = ServerHandle(create_app(deps), bind("127.0.0.1", 0))
        await handle.start()
        if not env.get("BENCH_NO_HEAP_POLICY"):
            # the daemon's garbage-collector policy, as ``sentinel run`` applies it once started
            heap = HeapPolicy()
            heap.start()
            policy = asyncio.get_running_loop().create_task(heap.run())  # noqa: F841
        pauses.clear()  # from here on: collections while serving (the settle at start is not one)
        port_file.write_text(handle.url)
        await asyncio.Event().wait()

    from sentinel import logs

    # As the daemon logs (a JSON line per event, line-buffered like its stderr to journald):
    # at info every gate decision and every authorization decision is a line.
    logs.configure(
        level=env["BENCH_LOG_LEVEL"],
        fmt="json",
        stream=open(state / "server.log", "w", buffering=1),  # noqa: SIM115
    )
    asyncio.run(main())


# -- the load generator ---------------------------------------------------------------------------------
class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def check_request(host: str, token: str, accounts: list[str], rng: random.Random) -> bytes:
    body = json.dumps(
        {
            "account": rng.choice(accounts),
            "text": " ".join(rng.choice(WORDS) for _ in range(12))
            + f" https://example.com/p/{rng.randrange(10**6)}",
            "client": "bench-planner",
            "author": f"op-{rng.randrange(5)}",
        }
    ).encode()
    return (
        f"POST /v1/check HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def bare_request(host: str) -> bytes:
    return f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


async def fixed_rate(
    conns: list[Conn], make: Any, rate: float, duration: float
) -> tuple[list[float], Counter[int], float]:
    """Open loop: request i is due at start + i/rate; latency counts from when it was due."""
    total = int(rate * duration)
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    start = time.perf_counter() + 0.05

    async def producer() -> None:
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((due, make()))
        for _ in conns:
            queue.put_nowait((0.0, b""))

    async def worker(conn: Conn) -> None:
        while True:
            due, raw = await queue.get()
            if not raw:
                return
            status = await conn.request(raw)
            latencies.append(time.perf_counter() - due)
            statuses[status] += 1

    t0 = time.perf_counter()
    await asyncio.gather(producer(), *(worker(c) for c in conns))
    return latencies, statuses, total / (time.perf_counter() - t0)


async def saturate(conns: list[Conn], make: Any, seconds: float) -> tuple[float, Counter[int]]:
    stop = time.perf_counter() + seconds
    done = 0
    statuses: Counter[int] = Counter()

    async def worker(conn: Conn) -> None:
        nonlocal done
        while time.perf_counter() < stop:
            statuses[await conn.request(make())] += 1
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    return done / (time.perf_counter() - t0), statuses


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


async def run_load(url: str, token: str, accounts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    host_port = url.removeprefix("http://")
    host, port = host_port.split(":")
    rng = random.Random(7)
    results: dict[str, Any] = {}
    endpoints = {
        "/v1/check": lambda: check_request(host_port, token, accounts, rng),
        "/healthz (bare)": lambda: bare_request(host_port),
    }
    for name, make in endpoints.items():
        conns = [Conn(host, int(port)) for _ in range(args.connections)]
        await saturate(conns, make, 1.0)  # warm up: connections, caches, JIT-free but page cache
        lat, statuses, achieved = await fixed_rate(conns, make, args.rate, args.duration)
        rps, sat_statuses = await saturate(conns, make, args.max_seconds)
        for c in conns:
            c.close()
        results[name] = {
            "rate_target": args.rate,
            "rate_achieved": achieved,
            "p50_ms": pct(lat, 0.50) * 1000,
            "p99_ms": pct(lat, 0.99) * 1000,
            "max_ms": max(lat) * 1000,
            "mean_ms": statistics.fmean(lat) * 1000,
            "statuses": dict(statuses + sat_statuses),
            "max_rps": rps,
        }
    return results


def setup_vault(tmp: Path) -> tuple[Any, str, str, str]:
    from sentinel.config import VaultSettings
    from sentinel.inventory import load_inventory
    from sentinel.policies import apply, parse_roles, plan, render
    from sentinel.vault.bootstrap import bootstrap, issue_daemon_token
    from sentinel.vault.client import VaultClient
    from sentinel.vault.devserver import DevVault

    bao = DevVault(log_path=tmp / "bao.log").start()
    tag = secrets.token_hex(3)
    settings = VaultSettings(
        addr=bao.addr, kv_mount=f"b-{tag}", policy_prefix=f"b-{tag}", password_policy=f"b-{tag}"
    )
    admin = VaultClient(bao.addr, bao.root_token, kv_mount=settings.kv_mount)
    bootstrap(admin, settings)
    daemon_token, _ = issue_daemon_token(admin, settings, ttl="2h")
    acl = "sentinel"
    roles = parse_roles(
        {
            "roles": {
                "planner": {  # a publishing tool posting for several people: it asserts their names
                    "global": ["assert_author"],
                    "grants": [{"all": True, "capabilities": ["publish", "respond"]}],
                }
            }
        }
    )
    apply(
        admin,
        plan(
            admin,
            render(roles, load_inventory(INVENTORY), acl, settings.policy_prefix),
            settings.policy_prefix,
        ),
    )
    token, _ = admin.create_token(
        [f"{settings.policy_prefix}-role-planner"], ttl="2h", meta={"operator": "bench"}
    )
    return bao, daemon_token, token, acl


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=float, default=30.0, help="seconds at the fixed rate (per endpoint)"
    )
    parser.add_argument(
        "--rate", type=float, default=500.0, help="requests per second in the fixed-rate phase"
    )
    parser.add_argument("--max-seconds", type=float, default=5.0, help="seconds of the saturation phase")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections")
    parser.add_argument("--cache", type=float, default=5.0, help="[api] capability_cache seconds")
    parser.add_argument("--quick", action="store_true", help="5 s at the fixed rate, 2 s saturation")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warning", "error"),
        help="the server's log level (default info, the daemon's default: decisions are logged)",
    )
    parser.add_argument(
        "--secrets",
        type=int,
        default=1000,
        help="secrets the server has registered for redaction, as a daemon with ~180 accounts has (default 1000)",
    )
    parser.add_argument(
        "--no-heap-policy",
        action="store_true",
        help="server without the daemon's garbage-collector policy (sentinel.daemon.HeapPolicy)",
    )
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.state)
        return 0
    if args.quick:
        args.duration, args.max_seconds = 5.0, 2.0
    from sentinel.inventory import load_inventory

    accounts = [a.id for a in load_inventory(INVENTORY).active]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bao, daemon_token, token, acl = setup_vault(tmp)
        port_file = tmp / "url"
        env = {
            **os.environ,
            "BENCH_VAULT_ADDR": bao.addr,
            "BENCH_DAEMON_TOKEN": daemon_token,
            "BENCH_ACL_PREFIX": acl,
            "BENCH_CACHE": str(args.cache),
            "BENCH_LOG_LEVEL": args.log_level,
            "BENCH_SECRETS": str(args.secrets),
            **({"BENCH_NO_HEAP_POLICY": "1"} if args.no_heap_policy else {}),
        }
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port_file), "--state", str(tmp)], env=env
        )
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists() or not port_file.read_text():
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the API server did not start")
                time.sleep(0.05)
            url = port_file.read_text()
            results = asyncio.run(run_load(url, token, accounts, args))
        finally:
            server.terminate()
            server.wait(10)
            bao.stop()
        gc_file = tmp / "gc.json"
        pauses = json.loads(gc_file.read_text()) if gc_file.exists() else []
    print(
        f"API benchmark: {args.rate:.0f} req/s for {args.duration:.0f} s per endpoint, "
        f"{args.connections} connections, then {args.max_seconds:.0f} s saturation; loopback, real OpenBao, "
        f"shipped rules, {len(accounts)} accounts"
        f"{', no heap policy' if args.no_heap_policy else ', the daemon heap policy'}, logs at {args.log_level}"
    )
    print(
        f"{'endpoint':<18} {'achieved/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'max req/s':>10}  statuses"
    )
    for name, r in results.items():
        print(
            f"{name:<18} {r['rate_achieved']:>10.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['max_ms']:>8.2f} "
            f"{r['max_rps']:>10.0f}  {r['statuses']}"
        )
    for gen in range(3):
        ms = sorted(p * 1000 for g, p in pauses if g == gen)
        if ms:
            print(
                f"server gc generation {gen}: {len(ms)} collections, max {ms[-1]:.2f} ms, "
                f"total {sum(ms):.0f} ms"
            )
    check, bare = results["/v1/check"], results["/healthz (bare)"]
    print(
        f"/v1/check at {args.rate:.0f}/s: achieved {check['rate_achieved']:.0f}/s, "
        f"{check['rate_achieved'] / bare['rate_achieved']:.0%} of the bare endpoint's achieved rate; "
        f"p99 {check['p99_ms']:.2f} ms (goal < 5 ms)"
    )
    print(
        f"saturation: /v1/check {check['max_rps']:.0f}/s is {check['max_rps'] / bare['max_rps']:.0%} "
        f"of the bare endpoint's {bare['max_rps']:.0f}/s (goal >= 60%)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
