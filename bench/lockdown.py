"""Lock down 180 accounts on the sandbox platform with a local OpenBao.

Prints the time until every account is blocked at the gate (goal: under 0.1 s) and until
every freeze step has finished for all of them (goal: under 5 s), with per-step counts.

    python bench/lockdown.py [--accounts 180]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from sentinel.config import VaultSettings
from sentinel.creds.rotator import Rotator
from sentinel.creds.settings import RotationSettings
from sentinel.creds.store import CredentialStore
from sentinel.inventory import parse_inventory
from sentinel.platforms.sandbox_server import SandboxProcess
from sentinel.response.containment import VaultContainment
from sentinel.response.responder import Responder, ResponderSettings
from sentinel.response.service import VaultAdapters
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from sentinel.vault.bootstrap import bootstrap, issue_daemon_token
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import DevVault


class Gate:
    def __init__(self) -> None:
        self.blocked: set[str] = set()

    def block(self, account: str, reason: str) -> None:
        self.blocked.add(account)

    def unblock(self, account: str) -> None:
        self.blocked.discard(account)


async def run(n: int, rotate: bool) -> None:
    with DevVault() as bao, SandboxProcess() as sandbox, tempfile.TemporaryDirectory() as tmp:
        settings = VaultSettings(addr=bao.addr)
        admin = VaultClient(bao.addr, bao.root_token)
        bootstrap(admin, settings)
        token, _ = issue_daemon_token(admin, settings)
        vault = admin.with_token(token)
        ids = [f"acct-{i:03d}" for i in range(n)]
        inventory = parse_inventory(
            {
                "accounts": [
                    {
                        "id": a,
                        "platform": "sandbox",
                        "handle": a,
                        "timezone": "UTC",
                        "publishing": "gated",
                        "owners": ["op-1"],
                        "credentials": [{"kind": "password", "rotation": "30d"}],
                    }
                    for a in ids
                ]
            }
        )
        passwords = {a: "pw-" + secrets.token_hex(8) for a in ids}
        httpx.post(
            f"{sandbox.url}/api/accounts",
            json={"accounts": [{"handle": a, "password": p} for a, p in passwords.items()]},
        )
        for a, p in passwords.items():
            vault.kv_write(f"accounts/{a}/password", {"value": p, "service": sandbox.url}, cas=0)

        adapters = VaultAdapters(vault, {"base_url": sandbox.url})

        store = Store(Path(tmp) / "state.sqlite3")
        rstore = ResponseStore(store)
        gate = Gate()
        rotator = None
        if rotate:
            rotator = Rotator(
                vault=vault,
                inventory=inventory,
                settings=RotationSettings(),
                password_policy=settings.password_policy,
            )
        responder = Responder(
            inventory,
            rstore,
            gate,
            VaultContainment(vault, settings, rstore, inventory),
            adapters,
            rotation=rotator,
            settings=ResponderSettings(concurrency=32),
        )
        rounds = vault.round_trips
        report = await responder.lock(ids, "benchmark lockdown", "bench")
        trips_in_lockdown = vault.round_trips - rounds
        statuses = Counter(s.status for r in report.accounts for s in r.steps)
        per_step = Counter((s.step, s.status) for r in report.accounts for s in r.steps)
        locked = 0
        creds = CredentialStore(vault)
        async with httpx.AsyncClient(base_url=sandbox.url) as http:
            for account in inventory:
                _, data = creds.current(account.id, "password")
                login = await http.post(
                    "/api/sessions", json={"handle": account.id, "password": data["value"]}
                )
                token = login.json()["token"]
                who = await http.get("/api/session", headers={"authorization": f"Bearer {token}"})
                locked += bool(who.json()["locked"])
        print(f"accounts locked down:        {n}")
        print(f"time to gate-block all:      {report.gate_seconds * 1000:.2f} ms   (goal < 100 ms)")
        print(f"time to finish every step:   {report.total_seconds:.2f} s    (goal < 5 s)")
        print(f"step results:                {dict(statuses)}")
        print(f"per step:                    {dict(sorted(per_step.items()))}")
        print(f"locked at the platform:      {locked}/{n}")
        trips = trips_in_lockdown
        print(
            f"Vault round trips:           {trips} ({trips / n:.1f} per account; credential reads, policy writes)"
        )
        await responder.aclose()
        store.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=180)
    ap.add_argument("--no-rotate", action="store_true", help="leave the rotation step out")
    args = ap.parse_args()
    t = time.perf_counter()
    asyncio.run(run(args.accounts, not args.no_rotate))
    print(f"(whole run incl. set-up: {time.perf_counter() - t:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
