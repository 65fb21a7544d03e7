from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sentinel.cli import main
from sentinel.daemon import STATUS_KEY
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.conftest import Deployment


def test_status_before_the_daemon_ever_ran(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--json", *deployment.cli("status")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["daemon"] == {"state": "never started"}
    assert data["vault"]["reachable"] is True
    assert data["accounts"] == {"total": 12, "active": 12, "gated": 10}
    assert data["frozen"]["count"] == 0 and data["frozen"]["accounts"] == {}
    assert data["rotations"]["pending"] == [] and data["rotations"]["credentials"] >= 0


def test_status_with_vault_down(deployment: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    deployment.write_config(addr="http://127.0.0.1:9")
    assert main(deployment.cli("status")) == 3
    vault = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("vault"))
    assert vault.split()[1] == "unreachable" and "http://127.0.0.1:9" in vault


def test_status_reads_as_tables_and_json_after_the_subcommand(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        rstore = ResponseStore(store)
        rstore.mark_frozen(
            ["example-brand-x"], ["gate", "lock"], "phished via https://evil.example/x", "op-raj", False
        )
        rstore.set_step("example-brand-x", "lock", "done")
        status = {
            "state": "running",
            "pid": 4242,
            "version": "0.1.0",
            "started": "2026-12-04T10:00:00Z",
            "heartbeat": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "services": {
                "alerts": {"receivers": ["soc"], "pending": 0, "dead": 1},
                "rotation": {"last": {f"a{i}/password": {"status": "rotated"} for i in range(20)}},
            },
            "platforms": {
                "sandbox": {"last_success": None, "consecutive_errors": 3, "last_error": "HTTP 503"}
            },
            "errors": [{"ts": "2026-12-04T10:01:00Z", "where": "watcher", "error": "poll failed"}],
        }
        store.put(STATUS_KEY, json.dumps(status))
    assert main(deployment.cli("status")) == 0
    out = capsys.readouterr().out
    assert "{" not in out  # no JSON for people
    lines = out.splitlines()
    assert max(len(line) for line in lines) < 200
    assert lines[1].startswith("daemon    running (pid 4242")
    assert "1 frozen; no open incidents" in out
    row = {line.split()[0]: line.split() for line in lines if line.strip()}
    assert row["alerts"][1:] == ["receivers", "soc;", "pending", "0;", "dead", "1"]
    assert row["rotation"][1:] == ["last", "20", "entries"]
    assert row["sandbox"][1:4] == ["-", "3", "-"] and "HTTP 503" in out
    assert row["example-brand-x"][1] == "locked" and "evil[.]example" in out and "https://" not in out
    assert row["2026-12-04"][2:] == ["watcher", "poll", "failed"]
    assert main(deployment.cli("status", "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["frozen"]["accounts"]["example-brand-x"]["state"] == "locked"
    assert data["daemon"]["services"]["alerts"]["dead"] == 1
