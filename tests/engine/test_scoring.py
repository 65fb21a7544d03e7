from __future__ import annotations

from sentinel.engine import scoring
from sentinel.engine.events import Finding
from sentinel.engine.settings import PolicySettings

P = PolicySettings()


def test_groups_damp_correlated_findings() -> None:
    fs = [
        Finding("a", "low", "", 2.0, "rate"),
        Finding("b", "low", "", 2.0, "rate"),
        Finding("c", "high", "", 4.0, "x"),
    ]
    assert scoring.combine(fs, 0.5) == 7.0
    assert scoring.combine(fs, 0.0) == 6.0


def test_verdicts_and_freeze() -> None:
    assert scoring.verdict("gate", 3.9, P) == "allow" and scoring.verdict("gate", 4, P) == "hold"
    assert scoring.verdict("gate", 8, P) == "block" and scoring.verdict("observed", 4, P) == "flagged"
    assert scoring.should_freeze(8, P) and not scoring.should_freeze(7.9, P)
    assert scoring.severity(9, P) == "critical" and scoring.severity(0, P) == "info"
