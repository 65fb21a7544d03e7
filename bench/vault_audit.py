"""Benchmark credential-access detection: Vault audit-log lines per second through parsing and rules.

Generates an audit log as OpenBao's file audit device writes it (a request and a response
entry per request, compact JSON, HMAC'd tokens, shaped by the takeover tests'
``tests/engine/takeover_sim.py``): operators reading their accounts'
credentials in office hours after a CLI mount lookup, now and then a refusal, and
Sentinel's nightly rotation. Every line goes through ``json.loads`` and ``Intake.feed`` with
the shipped rules, on one core. Prints lines per CPU second (goal: 20,000; the wall-clock
rate too, lower on a shared machine) and the per-line time from
the line read to its decision (p50/p99), the engine's share of the delay from a line
written to its decision (the file tailer adds its own polling).

    python bench/vault_audit.py [--operators 200] [--accounts 1000] [--days 30] [--per-day 6]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sentinel.engine.engine import Engine
from sentinel.engine.intake import Intake
from sentinel.engine.loader import load_rules
from sentinel.engine.settings import EngineSettings
from sentinel.inventory import Account, Inventory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.engine.takeover_sim import SELF, SELF_ENTITY, audit  # noqa: E402
from tests.engine.takeover_sim import read as read_entries  # noqa: E402


def _lines(entries: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(e, separators=(",", ":")) for e in entries]


def log_lines(operators: int, accounts: int, days: int, per_day: int, seed: int = 1) -> list[str]:
    """The audit log's lines in time order (entries shaped by ``tests/engine/takeover_sim.py``)."""
    rnd = random.Random(seed)
    start = 1767225600.0  # 2026-01-01
    out: list[tuple[float, list[str]]] = []
    for day in range(days):
        base = start + day * 86400
        for o in range(operators):
            own = [f"acct-{(o * 5 + k) % accounts}" for k in range(5)]
            home = f"198.51.{o % 200}.{o % 250}"
            policies = ("default", f"sentinel-role-{o % 20}")
            for _ in range(per_day):
                ts = base + rnd.uniform(13, 22) * 3600
                acc = rnd.choice(own)
                key = rnd.choice(("password", "totp_seed", "oauth_token"))
                lookup = f"sys/internal/ui/mounts/sentinel/accounts/{acc}/{key}"
                out.append((ts, _lines(audit(_utc(ts), f"op-{o}", lookup, "read", home, policies))))
                denied = rnd.random() < 0.01
                read = read_entries(
                    _utc(ts + 0.01), f"op-{o}", acc, key, ip=home, policies=policies, denied=denied
                )
                out.append((ts + 0.01, _lines(read)))
        if day % 30 == 0:
            for a in range(accounts):
                ts = base + 7 * 3600 + a * 0.5
                path = f"sentinel/data/accounts/acct-{a}/password"
                rotate = audit(
                    _utc(ts), SELF, path, "update", "198.51.100.250", ("sentinel",), entity_id=SELF_ENTITY
                )
                out.append((ts, _lines(rotate)))
    out.sort(key=lambda x: x[0])
    return [line for _, pair in out for line in pair]


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--operators", type=int, default=200)
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--per-day", type=int, default=6)
    args = ap.parse_args()
    inventory = Inventory(
        accounts=tuple(
            Account(id=f"acct-{i}", platform="x", handle=f"@a{i}", timezone="UTC", publishing="gated")
            for i in range(args.accounts)
        )
    )
    settings = EngineSettings()
    settings = dataclasses.replace(settings, takeover=dataclasses.replace(settings.takeover, self=(SELF,)))
    intake = Intake(Engine(inventory, load_rules([ROOT / "rules"]), settings))
    lines = log_lines(args.operators, args.accounts, args.days, args.per_day)
    took: list[float] = []
    decisions = flagged = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for line in lines:
        s = time.perf_counter()
        out = intake.feed(json.loads(line))
        took.append(time.perf_counter() - s)
        decisions += len(out)
        flagged += sum(1 for o in out if o.verdict == "flagged")
    decisions += len(intake.flush())
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    took.sort()
    print(f"audit lines: {len(lines):,} ({decisions:,} requests decided, {flagged} flagged)")
    print(
        f"throughput: {len(lines) / cpu:,.0f} lines per CPU second on one core (goal 20,000); "
        f"{len(lines) / elapsed:,.0f} lines/s by the wall clock"
    )
    print(
        f"per line, read to decision: p50 {statistics.median(took) * 1e6:.1f} us, "
        f"p99 {took[int(len(took) * 0.99)] * 1e6:.1f} us"
    )


if __name__ == "__main__":
    main()
