"""``sentinel rules validate|test|list``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sentinel.cli import main

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
