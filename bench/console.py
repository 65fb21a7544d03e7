"""Console page load times against the demo (``sentinel demo up``) after a worm.

Starts the demo as a subprocess (its own OpenBao dev server, sandbox platform and daemon),
plays ``demo attack worm`` so the pages have an incident, frozen accounts and alerts to
show, signs in with the demo's root token and times ``--rounds`` loads of each page
(the whole HTTP request over loopback: session, in-process API calls with Vault
authorization cached, rendering). Prints p50, p95 and max per page, and the p50 of the
console's own time for it (its ``Server-Timing`` header: without the HTTP client's share).

    python bench/console.py [--rounds 50]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sentinel.demo.process import DemoProcess

SERVER_TIMING = re.compile(r"render;dur=([0-9.]+)")
"""The console's own time for the page (session, API calls in-process, rendering)."""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DemoProcess(Path(tmp) / "run") as demo:
        attack = demo.cli("demo", "attack", "worm", "--dir", str(demo.workdir))
        if attack.returncode:
            raise SystemExit(attack.stdout + attack.stderr)
        with httpx.Client(base_url=demo.api, timeout=30) as c:
            form = c.get("/console/signin")
            nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
            assert nonce is not None
            c.post("/console/signin", data={"nonce": nonce.group(1), "token": demo.root_token})
            deadline = time.monotonic() + 60
            while 'id="incident-count">0<' in c.get("/console/").text:
                if time.monotonic() > deadline:
                    raise SystemExit("the worm was not detected within 60 s")
            pages = ["/console/", "/console/accounts", "/console/incidents", "/console/incidents/1"]
            pages += ["/console/held", "/console/respond", "/console/signin"]
            print(f"console page loads over loopback, {args.rounds} rounds each (ms):")
            for page in pages:
                times, server = [], []
                for _ in range(args.rounds):
                    t0 = time.perf_counter()
                    resp = c.get(page)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert resp.status_code in (200, 303), (page, resp.status_code)
                    timing = SERVER_TIMING.search(resp.headers.get("server-timing", ""))
                    if timing:
                        server.append(float(timing.group(1)))
                times.sort()
                p95 = times[int(len(times) * 0.95) - 1]
                print(
                    f"  {page:24} p50 {statistics.median(times):6.1f}  p95 {p95:6.1f}  "
                    f"max {times[-1]:6.1f}  server p50 "
                    + (f"{statistics.median(server):6.1f}" if server else "     -")
                    + f"  ({len(resp.content) // 1024} KiB)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
