"""``sentinel rules validate|test|list|stats``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from sentinel.cli import main
from sentinel.engine.events import Decision, Finding
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
