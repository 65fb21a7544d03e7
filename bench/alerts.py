"""Alert outbox under a burst: 1,000 alerts while the receiver is down for the first 30 s.

Raises the alerts as fast as the outbox commits them, with a signed webhook receiver on
127.0.0.1 that refuses connections until ``--down`` seconds have passed, then answers 200
(optionally failing a share of requests with 500, ``--flaky``, or processing a share but
answering after the sender's timeout, ``--lost-acks``, so the sender repeats them). Prints how many alerts were
delivered (must be all), duplicates (the same alert in two different notifications: must
be 0; repeats of one notification carry the same webhook-id and are absorbed by the
receiver), and the time to drain once the receiver is back.

    python bench/alerts.py [--alerts 1000] [--down 30] [--grouped] [--flaky 0.0] [--lost-acks 0.0]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sentinel import logs
from sentinel.alerts import Alert, AlertOutbox, Dispatcher, build_receivers
from sentinel.alerts.settings import AlertsSettings
from sentinel.net import free_port
from sentinel.settings import build_section
from sentinel.store import Store

SECRET = "whsec_" + base64.b64encode(b"bench-signing-key-0123456789abcd").decode()


async def bench(args: argparse.Namespace) -> int:
    port = free_port()
    settings = build_section(
        AlertsSettings,
        {
            "receivers": {
                "hook": {
                    "type": "webhook",
                    "url": f"http://127.0.0.1:{port}/hook",
                    "token": SECRET,
                    "timeout": "1s",
                    "group_by": ["kind", "rule"] if args.grouped else ["dedup_key"],
                }
            },
            "group_wait": "1s" if args.grouped else "0s",
            "group_interval": "1s" if args.grouped else "0s",
            "backoff_initial": args.backoff_initial,
            "backoff_max": args.backoff_max,
            "poll_interval": "0.5s",
        },
        "alerts",
    )
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.sqlite3") as store:
        record = Path(tmp) / "received.jsonl"
        outbox = AlertOutbox(store, settings)
        dispatcher = Dispatcher(outbox, build_receivers(settings))
        await dispatcher.start()
        t0 = time.monotonic()
        ids = [
            outbox.raise_alert(
                Alert(
                    kind="freeze",
                    severity="critical",
                    summary=f"worm post on brand-{n:04d}",
                    accounts=(f"brand-{n:04d}",),
                    rule="campaign.cross_account",
                    post_excerpt="Free crypto at https://evil.example/claim",
                )
            ).id
            for n in range(args.alerts)
        ]
        raised = time.monotonic() - t0
        await asyncio.sleep(max(0.0, args.down - (time.monotonic() - t0)))
        server = start_receiver(port, record, args.flaky, args.lost_acks)
        up = time.monotonic()
        deadline = up + args.timeout
        while time.monotonic() < deadline:
            c = outbox.counts()
            if c["waiting"] == 0 and c["pending"] == 0:
                break
            await asyncio.sleep(0.05)
        drained = time.monotonic() - up
        await dispatcher.stop()
        counts = outbox.counts()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        received = [json.loads(line) for line in record.read_text().splitlines()]

    accepted = [r for r in received if r["status"] == 200]
    by_message = Counter(r["id"] for r in accepted)
    alerts_seen: dict[str, set[str]] = {}
    for r in accepted:
        for alert_id in r["alerts"]:
            alerts_seen.setdefault(alert_id, set()).add(r["id"])
    delivered = len(set(alerts_seen) & set(ids))
    duplicates = sum(1 for msgs in alerts_seen.values() if len(msgs) > 1)
    absorbed = sum(n - 1 for n in by_message.values())
    print(
        f"alerts raised:            {args.alerts} in {raised:.2f} s ({args.alerts / raised:.0f}/s committed)"
    )
    print(
        f"receiver down for:        {args.down:.0f} s (connection refused), "
        f"flaky share {args.flaky:.0%}, lost acks {args.lost_acks:.0%}"
    )
    print(f"notifications sent:       {len(by_message)} ({'grouped' if args.grouped else 'one per alert'})")
    print(f"HTTP requests received:   {len(received)} ({len(received) - len(accepted)} answered 5xx)")
    print(f"signatures verified:      {sum(r['verified'] for r in received)} of {len(received)}")
    print(f"delivered alerts:         {delivered} of {args.alerts}")
    print(f"duplicates:               {duplicates} (same alert in two notifications)")
    print(f"repeats absorbed by id:   {absorbed} (same webhook-id accepted twice)")
    print(f"time to drain:            {drained:.2f} s after the receiver came back")
    print(f"total time:               {time.monotonic() - t0:.2f} s")
    print(f"outbox:                   {dict(counts)}")
    return 0 if delivered == args.alerts and duplicates == 0 else 1


def start_receiver(port: int, record: Path, flaky: float, lost_acks: float) -> subprocess.Popen[bytes]:
    """The receiver runs in its own process, as a real one would."""
    cmd = [sys.executable, __file__, "--serve", str(port), "--record", str(record)]
    cmd += ["--flaky", str(flaky), "--lost-acks", str(lost_acks)]
    proc = subprocess.Popen(cmd)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.05)
    raise RuntimeError("bench receiver did not start")


def serve(port: int, record: Path, flaky: float, lost_acks: float) -> int:
    """A Standard Webhooks receiver that verifies signatures and records what it accepted."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from sentinel.alerts.receivers.webhook import sign

    rng = random.Random(7)
    out = record.open("a", encoding="utf-8")

    async def hook(request: Request) -> Response:
        body = await request.body()
        h = request.headers
        verified = sign(SECRET, h["webhook-id"], int(h["webhook-timestamp"]), body) == h["webhook-signature"]
        status = 500 if rng.random() < flaky else (200 if verified else 401)
        lose_ack = status == 200 and rng.random() < lost_acks
        alerts = json.loads(body)["data"]["alert_ids"]
        out.write(
            json.dumps({"id": h["webhook-id"], "status": status, "verified": verified, "alerts": alerts})
            + "\n"
        )
        out.flush()
        if lose_ack:  # processed, but the answer comes after the sender gave up: it will send again
            await asyncio.sleep(1.5)
        return Response("ok" if status == 200 else "error", status_code=status)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    out.close()
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--alerts", type=int, default=1000)
    p.add_argument("--down", type=float, default=30.0, help="seconds the receiver refuses connections")
    p.add_argument(
        "--grouped", action="store_true", help="group by kind and rule (one message for the burst)"
    )
    p.add_argument("--flaky", type=float, default=0.0, help="share of requests answered 500 once up")
    p.add_argument("--lost-acks", type=float, default=0.0, help="share processed but answered too late")
    p.add_argument("--backoff-initial", default="1s")
    p.add_argument("--backoff-max", default="10s")
    p.add_argument("--timeout", type=float, default=300.0, help="give up draining after this long")
    p.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    p.add_argument("--record", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        return serve(args.serve, args.record, args.flaky, args.lost_acks)
    logs.configure(level="error", fmt="console")
    return asyncio.run(bench(args))


if __name__ == "__main__":
    raise SystemExit(main())
