"""``sentinel rules validate|test|list|stats``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from sentinel.cli import main
from sentinel.engine.engine import Engine
from sentinel.engine.events import Decision, Finding, parse_event
from sentinel.engine.loader import load_rules
from sentinel.inventory import load_inventory
from sentinel.post_guard import MIGRATIONS as GUARD_MIGRATIONS
from sentinel.post_guard import ORG_KEY
from sentinel.rulestats import COMPONENT, MIGRATIONS, RuleStats
from sentinel.store import Store
from tests.conftest import Deployment

SHIPPED = Path(__file__).resolve().parents[2] / "rules"


def test_validate_shipped(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "validate", str(SHIPPED)]) == 0
    assert "valid" in capsys.readouterr().out


def test_validate_reports_every_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.yaml").write_text("rules:\n  - id: a.b\n    detector: nope\n    severity: loud\n")
    assert main(["rules", "validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'a.yaml'}:3: rule a.b.detector: unknown detector 'nope'" in err
    assert f"{tmp_path / 'a.yaml'}:4: rule a.b.severity" in err
    assert "description: missing required field" in err
    assert main(["--json", "rules", "validate", str(tmp_path)]) == 2
    report = json.loads(capsys.readouterr().out)
    assert not report["valid"] and {p["line"] for p in report["problems"]} >= {3, 4}


def test_test_passes_on_shipped_and_fails_on_mismatch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "test", str(SHIPPED)]) == 0
    assert " 0 failed" in capsys.readouterr().out
    (tmp_path / "a.yaml").write_text(
        "rules:\n  - id: t.ip\n    description: d\n    detector: ip_literal\n    severity: high\n"
        "    fixtures:\n      - {name: wrong, events: [{text: 'see https://example.com'}], expect: finding}\n"
    )
    assert main(["rules", "test", str(tmp_path)]) == 1
    assert "FAIL t.ip: wrong" in capsys.readouterr().out


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "list", str(SHIPPED)]) == 0
    assert "content.html-injection" in capsys.readouterr().out
    assert main(["rules", "list", "--detectors"]) == 0
    assert "campaign_taint" in capsys.readouterr().out


def test_stats_counts_enforced_and_observed_findings_by_day(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time()
    crit = Finding("content.html-injection", "critical", "script tag", 8.0)
    trial = Finding("trial.nft", "medium", "free NFT", 3.0)
    decisions = [
        Decision("e1", "a", "gate", "block", 8.0, "critical", (crit,), observed=(trial,), would="block"),
        Decision("e2", "a", "gate", "allow", 0.0, "info", (), observed=(trial,), would="hold"),
        Decision("e3", "a", "gate", "allow", 0.0, "info", (), observed=(trial,), would="hold"),
    ]
    stats = RuleStats()
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        store.migrate(COMPONENT, MIGRATIONS)
        for d in decisions:
            stats.note(d, now)
        stats.note(decisions[1], now - 30 * 86400)  # a month ago: outside --days 7
        stats.flush(store)
        stats.note(decisions[2], now)  # a second flush adds to the same day's count
        stats.flush(store)
    assert main(deployment.cli("--json", "rules", "stats", "--days", "7")) == 0
    rows = json.loads(capsys.readouterr().out)["rules"]
    assert rows == [
        {"rule": "trial.nft", "mode": "observe", "verdict": "hold", "count": 3},
        {"rule": "content.html-injection", "mode": "enforce", "verdict": "block", "count": 1},
        {"rule": "trial.nft", "mode": "observe", "verdict": "block", "count": 1},
    ]
    assert main(deployment.cli("rules", "stats", "--days", "60")) == 0
    out = capsys.readouterr().out
    assert "RULE" in out and "trial.nft" in out and " 4" in out
    with pytest.raises(SystemExit) as e:
        main(deployment.cli("rules", "stats", "--days", "zero"))
    assert e.value.code == 2 and "--days must be a whole number" in capsys.readouterr().err


def test_explain_uses_the_stored_baselines_and_changes_nothing(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = load_inventory(deployment.dir / "inventory.toml")
    engine = Engine(inventory, load_rules([SHIPPED]))
    for day in range(1, 28):
        for hour in (14, 18):  # 10:00 and 14:00 in New York
            engine.evaluate(
                parse_event(
                    {
                        "id": f"h{day}-{hour}",
                        "ts": f"2026-02-{day:02d}T{hour}:00:00Z",
                        "account": "example-brand-x",
                        "via": "gate",
                        "text": f"Our update number {day}",
                        "client": "Buffer",
                        "post_id": f"p{day}-{hour}",
                        "author": "op-alice",
                        "ip": "198.51.100.1",
                    }
                )
            )
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        store.migrate("engine", GUARD_MIGRATIONS)
        with store.transaction() as db:
            db.executemany(
                "INSERT INTO engine_state(account, data, updated) VALUES(?, ?, ?)",
                [
                    (ORG_KEY, json.dumps(engine.snapshot_org()), "now"),
                    ("example-brand-x", json.dumps(engine.snapshot_account("example-brand-x")), "now"),
                ],
            )
        stored = store.query("SELECT data FROM engine_state WHERE account = 'example-brand-x'")[0]["data"]
    event = {
        "id": "q1",
        "ts": "2026-02-28T08:00:00Z",  # 03:00 in New York, from an address op-alice never used
        "account": "example-brand-x",
        "via": "gate",
        "text": "Hacked by the Phantom crew",
        "client": "Buffer",
        "author": "op-alice",
        "ip": "192.0.2.77",
    }
    assert main(deployment.cli("--json", "rules", "explain", json.dumps(event), "--rules", str(SHIPPED))) == 0
    out = json.loads(capsys.readouterr().out)
    fired = {r["rule"] for r in out["rules"] if r["fired"]}
    assert {"content.defacement", "source.new-ip", "time.odd-hour", "behaviour.compromise"} <= fired
    assert out["baselines"]["learned_posts"] == 54 and out["baselines"]["accounts_restored"] == 1
    assert out["verdict"] == "block" and out["freeze"] is True
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        after = store.query("SELECT data FROM engine_state WHERE account = 'example-brand-x'")[0]["data"]
    assert after == stored
    assert main(deployment.cli("rules", "explain", json.dumps(event), "--rules", str(SHIPPED))) == 0
    text = capsys.readouterr().out
    assert "q1 on example-brand-x (gate): block and freeze" in text and "content.defacement" in text
    assert main(deployment.cli("rules", "explain", "{not json", "--rules", str(SHIPPED))) == 2
    assert "EVENT_JSON is not valid JSON" in capsys.readouterr().err
    assert main(deployment.cli("rules", "explain", json.dumps({**event, "account": "nope"}))) == 2
    assert "'nope' is not in the inventory" in capsys.readouterr().err


def test_explain_lists_rules_on_trial_apart_from_the_verdict(
    deployment: Deployment, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trial = tmp_path / "trial"
    trial.mkdir()
    (trial / "trial.yaml").write_text(
        "mode: observe\nrules:\n  - {id: trial.tryme, description: d, detector: text_pattern, "
        "severity: high, score: 9, params: {patterns: ['\\btryme\\b']}}\n"
    )
    event = {
        "id": "q2",
        "ts": "2026-02-28T15:00:00Z",
        "account": "example-brand-x",
        "via": "gate",
        "text": "TRYME please",
        "client": "Buffer",
        "author": "op-alice",
    }
    args = ["rules", "explain", json.dumps(event), "--rules", str(trial)]
    assert main(deployment.cli("--json", *args)) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "allow" and [f["rule"] for f in out["observed"]] == ["trial.tryme"]
    assert out["would"] == "freeze" and out["freeze"] is False  # score 9: a freeze, had it counted
    assert main(deployment.cli(*args)) == 0
    assert (
        "observed, not counted: trial.tryme; counted, they would have made it: freeze"
        in capsys.readouterr().out
    )


def test_explain_refuses_a_gate_text_past_the_platform_limit_as_the_gate_does(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    """example-brand-x is on the sandbox platform (5,000 characters): the gate would answer 422
    text_too_long, so the CLI's check says so too (exit 2); an observed post that long is judged."""
    event = {
        "id": "q2",
        "ts": "2026-02-28T15:00:00Z",
        "account": "example-brand-x",
        "via": "gate",
        "text": "a" * 5_001,
        "client": "Buffer",
        "author": "op-alice",
    }
    assert main(deployment.cli("rules", "explain", json.dumps(event), "--rules", str(SHIPPED))) == 2
    err = capsys.readouterr().err
    assert "field 'text'" in err and "5000 characters" in err and "(sandbox)" in err
    observed = {**event, "via": "observed", "post_id": "p2"}
    del observed["author"]
    assert main(deployment.cli("rules", "explain", json.dumps(observed), "--rules", str(SHIPPED))) == 0
