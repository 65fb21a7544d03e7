"""Soak: the real daemon for a while under load, with a lockdown, rotations and a Vault outage.

Starts a local OpenBao (behind a proxy that can cut it off), the sandbox platform in its
own process with every account on it, and ``sentinel run`` with the API and the watcher.
Then, for ``--minutes``: ``--rate`` gate checks per second from publishing tools, a
rotation every ``--rotate-every`` seconds, a lockdown of a few accounts at 40% of the run,
and Vault cut off for ``--outage`` seconds at 50%. Prints the daemon's RSS and open file
descriptors over time (they should stay flat), the gate's p50/p99 outside and inside the
outage and what it answered, alerts raised (by kind) and delivered (by id, to a local
webhook receiver, once the outbox has settled after the load), log lines per minute and
the daemon's errors and warnings by kind. ``--keep DIR`` keeps the daemon's log and
state database.

    python bench/soak.py                      # 10 minutes, 180 accounts, 20 checks/s, 60 s outage
    python bench/soak.py --minutes 2 --outage 20
    python bench/soak.py --minutes 4 --tracemalloc   # + the daemon's allocation sites that grew

With ``--tracemalloc`` the daemon runs under ``tracemalloc`` and dumps a snapshot every
``--sample`` seconds; the soak then prints the traced total over time and the allocation
sites that grew most between the first snapshot after warm-up (a quarter of the run) and
the last, to tell bounded learning (growth that stops) from a leak (growth that does not).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx

from sentinel.config import VaultSettings
from sentinel.net import free_port
from sentinel.platforms.sandbox_server import SandboxProcess
from sentinel.store import Store
from sentinel.vault.bootstrap import bootstrap, issue_daemon_token
from sentinel.vault.client import VaultClient
from sentinel.vault.devproxy import TcpProxy
from sentinel.vault.devserver import DevVault

TEXTS = ("New arrivals this week", "Our store opens at 9", "Thanks for 10k followers!", "Read the blog")


TRACED_DAEMON = """
import gc, os, runpy, sys, threading, time, tracemalloc
out, every = sys.argv.pop(1), float(sys.argv.pop(1))
def dump():
    i = 0
    while True:
        time.sleep(every)
        gc.collect()  # what is still referenced, not garbage a later collection frees anyway
        tracemalloc.take_snapshot().dump(f"{out}/partial")
        os.replace(f"{out}/partial", f"{out}/snapshot-{i:04d}")  # a stop mid-dump leaves no half file
        i += 1
threading.Thread(target=dump, daemon=True).start()
runpy.run_module("sentinel", run_name="__main__", alter_sys=True)
"""
"""``python -X tracemalloc -c TRACED_DAEMON DIR SECONDS ...``: ``python -m sentinel ...`` dumping snapshots."""


class Hook(BaseHTTPRequestHandler):
    """The webhook receiver: which alerts (by id) its notifications carried."""

    notifications: ClassVar[int] = 0
    alert_ids: ClassVar[set[str]] = set()
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        with Hook.lock:
            Hook.notifications += 1
            Hook.alert_ids.update(body["data"]["alert_ids"])
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@contextmanager
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def proc_numbers(pid: int) -> tuple[float, int]:
    """RSS (MiB) and open file descriptors of ``pid``."""
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def slopes(samples: list[tuple[float, float, int, str]], parts: int = 4) -> list[str]:
    """RSS growth in MiB per minute over each ``parts``-th of the run."""
    out = []
    span = samples[-1][0] - samples[0][0]
    for k in range(parts):
        lo, hi = samples[0][0] + span * k / parts, samples[0][0] + span * (k + 1) / parts
        part = [s for s in samples if lo <= s[0] <= hi]
        if len(part) >= 2 and part[-1][0] > part[0][0]:
            rate = (part[-1][1] - part[0][1]) / (part[-1][0] - part[0][0]) * 60
            out.append(f"{lo / 60:.1f}-{hi / 60:.1f} min {rate:+.2f}")
    return out


def growth(snapshots: list[Path], warmup: float, top: int = 15) -> list[str]:
    """The traced total per snapshot and the sites that grew from ``warmup`` to the end."""
    if len(snapshots) < 2:
        return ["tracemalloc: fewer than two snapshots, nothing to compare"]
    skip = (tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen *>"))
    loaded = [tracemalloc.Snapshot.load(str(p)).filter_traces(skip) for p in snapshots]
    totals = [sum(t.size for t in snap.traces) / 2**20 for snap in loaded]
    start = min(len(loaded) - 2, int(warmup * len(loaded)))
    lines = [
        "tracemalloc: traced MiB per snapshot (should level off):",
        "  " + " ".join(f"{t:.1f}" for t in totals),
        f"allocation sites that grew most from snapshot {start} to {len(loaded) - 1}:",
    ]
    for stat in loaded[-1].compare_to(loaded[start], "lineno")[:top]:
        frame = stat.traceback[0]
        lines.append(
            f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks "
            f"(now {stat.size / 1024:8.1f} KiB)  {frame.filename}:{frame.lineno}"
        )
    return lines


def setup(
    d: Path, bao: DevVault, proxy: TcpProxy, sandbox: SandboxProcess, n: int, hook: str
) -> dict[str, Any]:
    settings = VaultSettings(addr=bao.addr)
    admin = VaultClient(bao.addr, bao.root_token)
    bootstrap(admin, settings)
    token, _ = issue_daemon_token(admin, settings)
    (d / "vault-token").write_text(token)
    daemon = admin.with_token(token)
    ids = [f"soak-{i:03d}" for i in range(n)]
    passwords = {a: "pw-" + secrets.token_hex(8) for a in ids}
    httpx.post(
        f"{sandbox.url}/api/accounts",
        json={"accounts": [{"handle": a, "password": p} for a, p in passwords.items()]},
    ).raise_for_status()
    for a, p in passwords.items():
        daemon.kv_write(f"accounts/{a}/password", {"value": p, "service": sandbox.url}, cas=0)
    (d / "inventory.toml").write_text(
        "\n".join(
            f'[[accounts]]\nid = "{a}"\nplatform = "sandbox"\nhandle = "{a}"\ntimezone = "UTC"\n'
            f'publishing = "gated"\nowners = ["op-soak"]\ntags = ["{"locked" if i < 5 else "soak"}"]\n'
            'credentials = [{ kind = "password", rotation = "30d" }]\n'
            for i, a in enumerate(ids)
        )
    )
    admin.policy_write(
        "soak-tools",
        'path "sentinel/accounts/+/publish" { capabilities = ["update"] }\n'
        'path "sentinel/global/lockdown" { capabilities = ["update"] }\n'
        'path "sentinel/accounts/+/admin" { capabilities = ["update"] }',
    )
    tool, _ = admin.create_token(["soak-tools"], ttl="4h", meta={"operator": "soak-tool"})
    port = free_port()
    (d / "sentinel.toml").write_text(
        '[sentinel]\nstate_dir = "state"\ninventory = "inventory.toml"\nlog_format = "json"\nlog_level = "info"\n'
        f'[vault]\naddr = "{proxy.addr}"\ntoken_file = "vault-token"\n'
        f"[api]\nport = {port}\n"
        # A group's next notification waits group_interval (2 min by default): 30 s, so the
        # soak's end need not wait that long for the last one.
        '[alerts]\ngroup_interval = "30s"\n'
        f'[alerts.receivers.hook]\ntype = "webhook"\nurl = "{hook}"\ntoken = "soak-signing-secret"\n'
        '[[alerts.routes]]\nreceivers = ["hook"]\n'
    )
    daemon.close()
    admin.close()
    return {"ids": ids, "tool": tool, "api": f"http://127.0.0.1:{port}"}


async def load(
    api: str, tool: str, ids: list[str], rate: float, seconds: float, outage: tuple[float, float], t0: float
) -> dict[str, Any]:
    lat: dict[str, list[float]] = {"outside": [], "inside": []}
    answers: dict[str, Counter[str]] = {"outside": Counter(), "inside": Counter()}
    headers = {"Authorization": f"Bearer {tool}"}
    pending: set[asyncio.Task[None]] = set()
    async with httpx.AsyncClient(base_url=api, headers=headers, timeout=10) as http:

        async def one(i: int) -> None:
            phase = "inside" if outage[0] <= time.monotonic() - t0 < outage[1] else "outside"
            start = time.perf_counter()
            try:
                r = await http.post(
                    "/v1/check", json={"account": ids[i % len(ids)], "text": f"{TEXTS[i % len(TEXTS)]} #{i}"}
                )
                body = r.json()
                kind = body.get("verdict") or body.get("error", {}).get("code", str(r.status_code))
                if body.get("authz", {}).get("grace"):
                    kind += " (grace)"
            except httpx.HTTPError as e:
                kind = f"client {e.__class__.__name__}"
            lat[phase].append(time.perf_counter() - start)
            answers[phase][kind] += 1

        i = 0
        while (now := time.monotonic() - t0) < seconds:
            task = asyncio.create_task(one(i))
            pending.add(task)
            task.add_done_callback(pending.discard)
            i += 1
            await asyncio.sleep(max(0.0, i / rate - now))
        if pending:
            await asyncio.wait(pending)
    return {"latency": lat, "answers": answers}


def outbox_settled(db: Path, timeout: float) -> bool:
    """Wait until every alert raised is in a notification and every notification is sent
    (or ``timeout`` passes); whether it settled."""
    deadline = time.monotonic() + timeout
    while True:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as con:
            waiting = con.execute(
                "SELECT (SELECT COUNT(*) FROM alert_members WHERE state = 'new') + "
                "(SELECT COUNT(*) FROM alert_deliveries WHERE state = 'pending')"
            ).fetchone()[0]
        if not waiting:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(1)


def cli(d: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sentinel", "--config", str(d / "sentinel.toml"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--accounts", type=int, default=180)
    ap.add_argument("--rate", type=float, default=20.0, help="gate checks per second")
    ap.add_argument("--outage", type=float, default=60.0, help="seconds Vault is cut off, at half time")
    ap.add_argument("--rotate-every", type=float, default=30.0)
    ap.add_argument("--sample", type=float, default=10.0, help="seconds between RSS/fd samples")
    ap.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace the daemon's allocations and print the sites that grew (slows the daemon)",
    )
    ap.add_argument("--keep", type=Path, help="copy the daemon's log and state database here at the end")
    args = ap.parse_args()
    seconds = args.minutes * 60
    outage = (seconds / 2, seconds / 2 + args.outage)
    with (
        DevVault() as bao,
        TcpProxy(bao.port) as proxy,
        SandboxProcess() as sandbox,
        receiver() as hook,
        tempfile.TemporaryDirectory() as tmp,
    ):
        d = Path(tmp)
        world = setup(d, bao, proxy, sandbox, args.accounts, hook)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTINEL_", "VAULT_"))}
        log = open(d / "daemon.log", "wb")  # noqa: SIM115 - closed below, after the daemon
        traced = d / "tracemalloc"
        python = [sys.executable, "-m", "sentinel"]
        if args.tracemalloc:
            traced.mkdir()
            python = [sys.executable, "-X", "tracemalloc", "-c", TRACED_DAEMON, str(traced), str(args.sample)]
        daemon = subprocess.Popen(
            [*python, "--config", str(d / "sentinel.toml"), "run"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 300  # a loaded machine, or the daemon under tracemalloc
        while True:
            try:
                if httpx.get(world["api"] + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or daemon.poll() is not None:
                daemon.kill()
                log.close()
                tail = (d / "daemon.log").read_text(errors="replace")[-2000:]
                raise SystemExit(f"the daemon did not become ready:\n{tail}")
            time.sleep(0.2)
        print(
            f"soak: {args.minutes:g} min, {args.accounts} accounts, {args.rate:g} checks/s, "
            f"Vault cut off from {outage[0]:.0f} s to {outage[1]:.0f} s"
        )
        samples: list[tuple[float, float, int, str]] = []
        events: list[str] = []
        t0 = time.monotonic()
        stop = threading.Event()

        def background() -> None:
            next_sample = next_rotation = 0.0
            locked = cut = restored = False
            tool_env = env | {"VAULT_TOKEN": world["tool"]}
            while not stop.is_set():
                t = time.monotonic() - t0
                if t >= next_sample:
                    rss, fds = proc_numbers(daemon.pid)
                    try:
                        ready = httpx.get(world["api"] + "/readyz", timeout=10).json()
                        vault = "up" if ready["checks"]["vault"] else "DOWN"
                    except httpx.HTTPError as e:  # a sample must not end the soak's schedule
                        vault = f"/readyz: {e.__class__.__name__}"
                    samples.append((t, rss, fds, vault))
                    next_sample += args.sample
                if t >= next_rotation and (not cut or restored):
                    account = secrets.choice(world["ids"][5:])
                    r = cli(d, tool_env, "rotate", account, "--reason", "soak")  # a caller holding admin
                    said = (
                        "" if r.returncode == 0 else f" ({(r.stderr.strip().splitlines() or [''])[-1][:150]})"
                    )
                    events.append(f"{t:6.1f}s rotate {account}: exit {r.returncode}{said}")
                    next_rotation = t + args.rotate_every
                if not locked and t >= seconds * 0.4:
                    r = cli(d, tool_env, "lockdown", "--tag", "locked", "--reason", "soak", "--yes")
                    events.append(f"{t:6.1f}s lockdown of 5 accounts: exit {r.returncode}")
                    locked = True
                if not cut and t >= outage[0]:
                    proxy.down()
                    events.append(f"{t:6.1f}s Vault cut off")
                    cut = True
                if cut and not restored and t >= outage[1]:
                    proxy.up()
                    events.append(f"{t:6.1f}s Vault back")
                    restored = True
                stop.wait(0.5)

        side = threading.Thread(target=background, daemon=True)
        side.start()
        result = asyncio.run(load(world["api"], world["tool"], world["ids"], args.rate, seconds, outage, t0))
        stop.set()
        side.join()
        settled = outbox_settled(d / "state" / "sentinel.sqlite3", timeout=90)
        samples.append((time.monotonic() - t0, *proc_numbers(daemon.pid), "end"))
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
        log.close()
        with Store(d / "state" / "sentinel.sqlite3") as store:
            alerts = {r["id"]: f"{r['kind']} ({r['status']})" for r in store.query("SELECT * FROM alerts")}
        raised = Counter(alerts.values())
        lost = sorted(f"{kind} {a}" for a, kind in alerts.items() if a not in Hook.alert_ids)
        kinds: Counter[str] = Counter()
        levels: Counter[str] = Counter()
        for line in (d / "daemon.log").read_text(errors="replace").splitlines():
            if line.startswith("{"):
                e = json.loads(line)
                levels[e.get("level", "?")] += 1
                if e.get("level") in ("warning", "error", "critical"):
                    kinds[f"{e['level']} {e['event']}"] += 1
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(d / "daemon.log", args.keep / "daemon.log")
            shutil.copy(d / "state" / "sentinel.sqlite3", args.keep / "sentinel.sqlite3")
        grew = growth(sorted(traced.glob("snapshot-*")), warmup=0.25) if args.tracemalloc else []

    print("\nevents:")
    for e in events:
        print("  " + e)
    print("\ndaemon over time (should be flat):")
    print("      t   RSS MiB   fds  vault")
    for t, rss, fds, vault in samples:
        print(f"  {t:6.0f}  {rss:8.1f}  {fds:4d}  {vault}")
    rss_values = [s[1] for s in samples]
    fds_values = [s[2] for s in samples]
    print(
        f"  RSS min/median/max {min(rss_values):.1f}/{statistics.median(rss_values):.1f}/{max(rss_values):.1f} MiB, "
        f"fds min/max {min(fds_values)}/{max(fds_values)}"
    )
    print(
        "  RSS growth per minute (growth that slows is learning filling its bounds; a leak keeps its pace):"
    )
    print("    " + ", ".join(slopes(samples)))
    print("\ngate /v1/check:")
    for phase in ("outside", "inside"):
        lat = result["latency"][phase]
        print(
            f"  {phase:7} the outage: {len(lat):6d} checks, p50 {pct(lat, 0.5):7.1f} ms, "
            f"p99 {pct(lat, 0.99):7.1f} ms; answers {dict(result['answers'][phase])}"
        )
    print(f"\nalerts raised: {len(alerts)} {dict(raised)}")
    print(
        f"delivered to the webhook receiver: {len(alerts) - len(lost)} of {len(alerts)}, "
        f"in {Hook.notifications} notifications (grouped by kind)"
        + ("" if settled else "; the outbox had not settled 90 s after the load")
    )
    for missing in lost:
        print(f"  NOT DELIVERED: {missing}")
    minutes = max(args.minutes, 1e-9)
    print(
        "\ndaemon log lines: "
        + ", ".join(f"{n} {level} ({n / minutes:.1f}/min)" for level, n in levels.most_common())
    )
    print("daemon warnings and errors by kind:")
    for kind, n in kinds.most_common():
        print(f"  {n:6d}  {kind}")
    if grew:
        print("\n" + "\n".join(grew))


if __name__ == "__main__":
    main()
