"""``sentinel replay``: the exact JSON-lines interface, malformed lines, the shared sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sentinel.cli import main
from tests.engine import orgsim


@pytest.fixture
def org_files(tmp_path: Path) -> tuple[Path, Path, orgsim.Org]:
    org = orgsim.build(weeks=4)
    inv = tmp_path / "inventory.toml"
    inv.write_text(org.inventory_toml)
    events = tmp_path / "events.jsonl"
    lines = [json.dumps(e) for e in org.events]
    lines.insert(5, "{not json")
    lines.insert(9, json.dumps({"id": "bad", "ts": "2026-01-01", "account": "x"}))
    events.write_text("\n".join(lines) + "\n")
    return inv, events, org


def test_replay_lines_and_errors(
    org_files: tuple[Path, Path, orgsim.Org], capsys: pytest.CaptureFixture[str]
) -> None:
    inv, events, org = org_files
    assert main(["replay", "--inventory", str(inv), str(events)]) == 0
    out, err = capsys.readouterr()
    records = [json.loads(x) for x in out.splitlines()]
    assert "line 6: not valid JSON" in err and "line 10 (event bad): missing required field" in err
    decisions = [r for r in records if r["type"] == "decision"]
    freezes = [r for r in records if r["type"] == "freeze"]
    assert set(decisions[0]) == {"type", "event", "account", "verdict", "findings"}
    assert all(set(f) == {"rule", "severity", "detail"} for d in decisions for f in d["findings"])
    assert freezes and set(freezes[0]) == {"type", "account", "ts", "event", "reason"}
    gate_ids = {e["id"] for e in org.events if e["via"] == "gate"}
    assert gate_ids <= {d["event"] for d in decisions}
    # observed posts of blocked gate checks are skipped without a line
    verdicts = {d["event"]: d["verdict"] for d in decisions}
    for e in org.events:
        if e["via"] == "observed" and verdicts.get("g" + e["id"][1:]) in ("hold", "block"):
            assert e["id"] not in verdicts
    assert main(["replay", "--strict", "--inventory", str(inv), str(events)]) == 1


def test_python_dash_m_without_config(org_files: tuple[Path, Path, orgsim.Org], tmp_path: Path) -> None:
    inv, events, _ = org_files
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTINEL_")}
    r = subprocess.run(
        [sys.executable, "-m", "sentinel", "replay", "--stats", "--inventory", str(inv), str(events)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "freezes" in r.stderr and r.stdout.count('"type": "decision"') > 100


def test_unknown_inventory_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--inventory", str(tmp_path / "none.toml"), str(tmp_path / "e.jsonl")]) == 2
    assert "inventory file not found" in capsys.readouterr().err
