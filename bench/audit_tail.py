"""Vault audit-log tailing: lines per second into the sink, and the delay from a line written
to the sink holding it.

Throughput: ``--lines`` entries shaped like OpenBao 2.7's file audit device writes them
(~1.5 KB, HMAC'd) are in the file before the tailer starts; the time to hand all of them
(parsed) to a sink that does nothing, offsets kept in a SQLite state store as the daemon
does. Delay: the tailer runs as in the daemon (watchdog wakes it, a 1 s poll as the
fallback) while ``--live`` entries are appended one every ``--gap`` seconds; each entry's
delay is from just before its write to the sink's call.

    python bench/audit_tail.py [--lines 100000] [--live 200] [--gap 0.01]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sentinel import logs
from sentinel.store import Store
from sentinel.vault.audit_log import AuditLogTailer

HMAC = "hmac-sha256:" + "5be2c564b877996aec05997cc3eed868767b0dc0bbd32736d7af8da06c49ab6f"


def entry(i: int, written: float = 0.0) -> bytes:
    """One response entry as the file audit device writes it (compact JSON, one line)."""
    return (
        json.dumps(
            {
                "time": "2026-03-02T20:57:22.831312555Z",
                "type": "response",
                "auth": {
                    "client_token": HMAC,
                    "accessor": HMAC,
                    "display_name": "userpass-op-pia",
                    "policies": ["default", "sentinel-role-news"],
                    "token_policies": ["default", "sentinel-role-news"],
                    "policy_results": {
                        "allowed": True,
                        "granting_policies": [{"name": "sentinel-role-news"}],
                    },
                    "metadata": {"username": "op-pia"},
                    "entity_id": "247bbf0d-8642-2495-acb3-70be344febc2",
                    "token_type": "service",
                    "token_ttl": 2764800,
                    "token_issue_time": "2026-03-02T20:46:48Z",
                },
                "request": {
                    "id": str(uuid.UUID(int=i)),
                    "operation": "read",
                    "mount_point": "sentinel/",
                    "mount_type": "kv",
                    "client_token": HMAC,
                    "client_token_accessor": HMAC,
                    "namespace": {"id": "root"},
                    "path": f"sentinel/data/accounts/northwind-{i % 40}/password",
                    "remote_address": "203.0.113.20",
                    "remote_port": 52425,
                    "written": written,
                },
                "response": {
                    "mount_point": "sentinel/",
                    "mount_type": "kv",
                    "data": {"data": {"value": HMAC}, "metadata": {"version": 4, "destroyed": False}},
                },
            },
            separators=(",", ":"),
        ).encode()
        + b"\n"
    )


async def throughput(where: Path, lines: int) -> None:
    log = where / "audit.log"
    log.write_bytes(b"")
    count = 0

    async def sink(_: dict[str, Any]) -> None:
        nonlocal count
        count += 1

    store = Store(where / "state.db")
    tailer = AuditLogTailer(log, store, sink)
    await tailer.read_available()  # first start: at the end of the (empty) file
    with log.open("ab") as f:
        for i in range(lines):
            f.write(entry(i))
    size = log.stat().st_size
    began = time.perf_counter()
    await tailer.read_available()
    took = time.perf_counter() - began
    tailer.close()
    store.close()
    assert count == lines, (count, lines)
    print(
        f"throughput: {lines:,} entries ({size / lines:,.0f} bytes each) in {took:.2f} s: "
        f"{lines / took:,.0f} entries/s on one core"
    )


async def delay(where: Path, live: int, gap: float) -> None:
    log = where / "live.log"
    log.write_bytes(b"")
    delays: list[float] = []

    async def sink(e: dict[str, Any]) -> None:
        delays.append(time.perf_counter() - float(e["request"]["written"]))

    store = Store(where / "state-live.db")
    tailer = AuditLogTailer(log, store, sink, poll=1.0)
    task = asyncio.create_task(tailer.run())
    while tailer.status()["offset"] is None:
        await asyncio.sleep(0.01)
    with log.open("ab", buffering=0) as f:
        for i in range(live):
            f.write(entry(i, time.perf_counter()))
            await asyncio.sleep(gap)
    deadline = time.monotonic() + 10
    while len(delays) < live and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    tailer.stop()
    await task
    store.close()
    ms = sorted(d * 1000 for d in delays)
    print(
        f"delay, line written -> sink: {len(ms)}/{live} entries, p50 {statistics.median(ms):.1f} ms, "
        f"p99 {ms[int(len(ms) * 0.99) - 1]:.1f} ms, max {ms[-1]:.1f} ms (watchdog; 1 s poll fallback)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--live", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.01)
    args = parser.parse_args()
    logs.configure(level="warning", fmt="console")
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(throughput(Path(tmp), args.lines))
        asyncio.run(delay(Path(tmp), args.live, args.gap))


if __name__ == "__main__":
    main()
