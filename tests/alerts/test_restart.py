"""The delivery process is killed (SIGKILL) with alerts pending; a new process delivers them all."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from sentinel.alerts.model import Alert
from sentinel.alerts.outbox import AlertOutbox
from sentinel.config import load_config
from sentinel.files import write_private
from sentinel.store import Store
from tests.alerts.httpreceiver import HttpReceiver, Reply
from tests.waiting import wait_until

SECRET = "whsec_" + base64.b64encode(b"restart-test-signing-key-0123456").decode()


def _deliver(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "sentinel", "--config", str(cfg), "alerts", "deliver"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


@pytest.mark.slow
def test_killed_with_alerts_pending_then_delivered_after_restart(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    secret_file = tmp_path / "hook-secret"
    write_private(secret_file, SECRET + "\n")
    cfg = tmp_path / "sentinel.toml"
    cfg.write_text(
        f"""
[sentinel]
state_dir = "{tmp_path / "state"}"
log_format = "json"

[alerts]
group_wait = "0s"
group_interval = "0s"
backoff_initial = "0.1s"
backoff_max = "0.5s"
poll_interval = "0.2s"

[alerts.receivers.hook]
type = "webhook"
url = "{http_receiver.url}/hook"
token_file = "{secret_file}"
group_by = ["dedup_key"]
timeout = "1s"
""",
        encoding="utf-8",
    )
    config = load_config(cfg, env={})
    http_receiver.default = lambda _: Reply(503, body="down for maintenance")
    log = tmp_path / "deliver.log"
    proc = _deliver(cfg, log)
    store = Store(config.sentinel.database)
    try:
        outbox = AlertOutbox.from_config(store, config)
        ids = [
            outbox.raise_alert(
                Alert(kind="freeze", severity="critical", summary="frozen", accounts=(f"a{n}",))
            ).id
            for n in range(20)
        ]
        wait_until("three attempts at the hook", lambda: len(http_receiver.to("/hook")) >= 3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert outbox.counts()["delivered"] == 0
        assert len(outbox.pending()) + outbox.waiting_alerts() == 20

        http_receiver.default = lambda _: Reply(200)
        proc = _deliver(cfg, log)
        wait_until("all 20 delivered", lambda: outbox.counts()["delivered"] == 20)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        store.close()
    accepted = http_receiver.accepted("/hook")
    delivered = Counter(a["id"] for r in accepted for a in r.json()["data"]["alerts"])
    assert set(delivered) == set(ids)
    # Anything seen twice came with the same webhook-id, which the receiver's idempotency absorbs.
    per_id = Counter(r.headers["webhook-id"] for r in accepted)
    assert len(per_id) == 20
    text = log.read_text()
    assert "alert.delivery_failed" in text and "alert.delivered" in text
    assert SECRET not in text
