"""Rotate 1,000 credentials against a local OpenBao and the sandbox platform.

Starts an OpenBao dev server and the sandbox platform (its own process), creates the
accounts at the sandbox, stores their passwords in Vault, then times one forced rotation
of every password with the full protocol (create from Vault's password policy, store as
pending with check-and-set, change at the platform, log in with it, finish with one
metadata patch, audit entry) at ``--concurrency`` accounts at once. In the same run it
times bare hvac KV v2 writes, one after the other: as many as the rotations made Vault
round trips, and 1,000 for reference. Prints rotations/s, Vault round trips per rotation
and the ratio of the two times.

    python bench/rotation.py [--accounts 1000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sentinel import logs
from sentinel.audit import AuditTrail, FileKeyStore
from sentinel.config import VaultSettings
from sentinel.creds.rotator import Rotator, default_adapters
from sentinel.creds.settings import RotationSettings
from sentinel.creds.store import CredentialStore
from sentinel.inventory import Account, CredentialSpec, Inventory
from sentinel.platforms.sandbox_server import SandboxProcess
from sentinel.store import Store
from sentinel.vault.bootstrap import bootstrap, issue_daemon_token
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import DevVault


def seed(n: int, url: str, daemon: VaultClient) -> list[Account]:
    passwords = {f"bench{i:04d}": secrets.token_urlsafe(18) for i in range(n)}
    body = {"accounts": [{"handle": h, "password": p} for h, p in passwords.items()]}
    httpx.post(f"{url}/api/accounts", json=body, timeout=60).raise_for_status()
    store, now = CredentialStore(daemon), datetime.now(UTC)
    accounts = []
    for handle, password in passwords.items():
        a = Account(
            f"acct-{handle}", "sandbox", handle, "UTC", "gated", credentials=(CredentialSpec("password"),)
        )
        store.replace(a, "password", "password", {"value": password}, "bench-seed", now)
        accounts.append(a)
    return accounts


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bare_writes(vault: DevVault, mount: str, count: int) -> float:
    """``count`` KV v2 writes with plain hvac, one after the other."""
    import hvac

    client = hvac.Client(url=vault.addr, token=vault.root_token)
    kv = client.secrets.kv.v2
    kv.create_or_update_secret(path="bare/warm", secret={"v": "x"}, mount_point=mount)
    t0 = time.perf_counter()
    for i in range(count):
        kv.create_or_update_secret(path=f"bare/{i % 1000}", secret={"value": f"v{i}"}, mount_point=mount)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    logs.configure(level="error", fmt="json")
    work = Path(tempfile.mkdtemp(prefix="sentinel-bench-rotation-"))
    dev = DevVault(log_path=work / "openbao.log").start()
    sandbox = SandboxProcess().start()
    url = sandbox.url
    try:
        settings = VaultSettings(
            addr=dev.addr, kv_mount="bench", policy_prefix="bench", password_policy="bench"
        )
        admin = VaultClient(dev.addr, dev.root_token, kv_mount="bench")
        bootstrap(admin, settings)
        token, _ = issue_daemon_token(admin, settings, ttl="2h")
        daemon = admin.with_token(token)
        t0 = time.perf_counter()
        accounts = seed(args.accounts, url, daemon)
        print(f"seeded {len(accounts)} accounts in {time.perf_counter() - t0:.1f} s")

        store = Store(work / "state.sqlite3")
        trail = AuditTrail(store, FileKeyStore(work / "audit-key.pem", work / "anchor.json", create=True))
        rotator = Rotator(
            vault=daemon,
            inventory=Inventory(tuple(accounts)),
            settings=RotationSettings(concurrency=args.concurrency, attempts=3, backoff=0.1, backoff_max=1.0),
            password_policy=settings.password_policy,
            adapters=default_adapters({"base_url": url}),
            audit=lambda actor, action, target, details: trail.append(actor, action, target, details),
        )
        targets = [(a, a.credentials[0]) for a in accounts]
        daemon.round_trips = 0
        pids = {"sentinel": os.getpid(), "openbao": dev.process.pid, "sandbox": sandbox.pid}
        cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
        t0 = time.perf_counter()
        results = asyncio.run(rotator.rotate_many(targets, force=True, reason="bench"))
        rotate_s = time.perf_counter() - t0
        cpu = {k: cpu_seconds(p) - cpu0[k] for k, p in pids.items()}
        trips = daemon.round_trips
        ok = sum(r.status == "rotated" for r in results)
        retries = sum(r.attempts - 1 for r in results)

        cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
        bare_same = bare_writes(dev, "bench", trips)
        bare_cpu = {k: cpu_seconds(p) - cpu0[k] for k, p in pids.items()}
        bare_1000 = bare_writes(dev, "bench", 1000)

        n = len(results)
        print(
            f"rotations:                    {ok}/{n} rotated ({retries} retries), concurrency {args.concurrency}"
        )
        print(f"rotation time:                {rotate_s:.2f} s  ({n / rotate_s:.0f} rotations/s)")
        print(f"Vault round trips/rotation:   {trips / n:.2f}  ({trips} in all; goal <= 4)")
        print(
            f"bare hvac KV writes x{trips}: {bare_same:.2f} s  (ratio rotation/bare {rotate_s / bare_same:.2f})"
        )
        print(
            f"bare hvac KV writes x1000:    {bare_1000:.2f} s  (1,000 rotations vs 1,000 bare writes: "
            f"{rotate_s / bare_1000 * 1000 / n:.2f}x)"
        )
        print(
            "CPU seconds while rotating:   "
            + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())
            + "  (bare writes: "
            + ", ".join(f"{k} {v:.2f}" for k, v in bare_cpu.items() if k != "sandbox")
            + ")"
        )
        store.close()
        admin.close()
        daemon.close()
        return 0 if ok == n else 1
    finally:
        sandbox.stop()
        dev.stop()


if __name__ == "__main__":
    raise SystemExit(main())
