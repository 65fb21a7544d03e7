"""Benchmark a flood of junk tokens: what reaches Vault, and what a person waits meanwhile.

A real OpenBao dev server; the API app in this process (the real ``Authorizer``, called
through ASGI with the client address each request comes from). An attacker sends
``--requests`` requests with random tokens, ``--concurrency`` at a time, from
``--addresses`` client addresses; meanwhile a probe thread, with a Vault client of its own,
looks up a valid token every ``--every`` seconds, as the daemon's health probe and every
person's first request need Vault to answer. Printed per configuration: the attacker's
token lookups that reached Vault, its answers by status, the flood's duration, and Vault's
lookup latency during the flood (p50/p99/max).

Configurations: ``off`` (no negative cache, no throttle: Sentinel before this change) and
``on`` (``[api]`` defaults: ``invalid_token_cache`` 60 s, ``failed_auth_burst`` 20,
``failed_auth_rate`` 2/s).

    python bench/token_flood.py [--requests 3000] [--concurrency 32] [--addresses 1]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentinel.api.app import create_app  # noqa: E402
from sentinel.api.auth_throttle import AuthThrottle  # noqa: E402
from sentinel.api.caller_access import Authorizer  # noqa: E402
from sentinel.api.deps import Deps  # noqa: E402
from sentinel.api.held import HeldStore  # noqa: E402
from sentinel.config import ApiSettings  # noqa: E402
from sentinel.inventory import Inventory  # noqa: E402
from sentinel.store import Store  # noqa: E402
from sentinel.vault.client import VaultClient  # noqa: E402
from sentinel.vault.devserver import DevVault  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(bao: DevVault, admin: VaultClient, state: Path, on: bool, args: argparse.Namespace) -> None:
    defaults = ApiSettings()
    sentinel = VaultClient(bao.addr, bao.root_token)
    authz = Authorizer(
        lambda: sentinel,
        "bench",
        5.0,
        invalid_seconds=float(defaults.invalid_token_cache) if on else 0.0,
        throttle=AuthThrottle(defaults.failed_auth_burst if on else 0, defaults.failed_auth_rate),
    )
    store = Store(state / f"{on}.sqlite3")
    app = create_app(Deps(inventory=lambda: Inventory(()), authorizer=authz, held=HeldStore(store)))
    person, _ = admin.create_token(["default"], ttl="1h")

    def client(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")

    async def whoami(c: httpx.AsyncClient, token: str) -> int:
        resp = await c.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        return resp.status_code

    statuses: Counter[int] = Counter()
    done = threading.Event()
    attackers = [client(f"203.0.113.{i % 250 + 1}") for i in range(args.addresses)]
    queue = list(range(args.requests))

    async def attack() -> None:
        while queue:
            i = queue.pop()
            statuses[await whoami(attackers[i % len(attackers)], "s." + secrets.token_urlsafe(18))] += 1
            await asyncio.sleep(0)  # independent clients: a refusal that never waits still yields

    latencies: list[float] = []

    def probe() -> None:
        vault = VaultClient(bao.addr, bao.root_token)
        while not done.is_set():
            t0 = time.perf_counter()
            vault.lookup_token(person)
            latencies.append(time.perf_counter() - t0)
            done.wait(args.every)
        vault.close()

    calls0 = authz.vault_calls
    prober = threading.Thread(target=probe)
    t0 = time.perf_counter()
    prober.start()
    await asyncio.gather(*(attack() for _ in range(args.concurrency)))
    flood_seconds = time.perf_counter() - t0
    done.set()
    prober.join()
    for c in attackers:
        await c.aclose()
    ms = [x * 1000 for x in latencies]
    print(
        f"{'on' if on else 'off':>4} | {args.requests} junk from {args.addresses} address(es) | "
        f"{authz.vault_calls - calls0} reached Vault | {dict(sorted(statuses.items()))} | "
        f"{flood_seconds:.2f} s | Vault lookup p50 {statistics.median(ms):.1f} ms, "
        f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms ({len(ms)} probes)"
    )
    await app.state.console.aclose()
    sentinel.close()
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--addresses", type=int, default=1)
    parser.add_argument("--every", type=float, default=0.02, help="seconds between two probes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DevVault(log_path=Path(tmp) / "bao.log").start() as bao:
        admin = VaultClient(bao.addr, bao.root_token)
        for on in (False, True):
            asyncio.run(run(bao, admin, Path(tmp), on, args))
        admin.close()


if __name__ == "__main__":
    main()
