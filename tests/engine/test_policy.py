from __future__ import annotations

from sentinel.engine import policy
from sentinel.engine.events import Finding
from sentinel.engine.settings import PolicySettings

P = PolicySettings()


def test_groups_damp_correlated_findings() -> None:
    fs = [
        Finding("a", "low", "", 2.0, "rate"),
        Finding("b", "low", "", 2.0, "rate"),
        Finding("c", "high", "", 4.0, "x"),
    ]
    assert policy.combine(fs, 0.5) == 7.0
    assert policy.combine(fs, 0.0) == 6.0


def test_verdicts_and_freeze() -> None:
    assert policy.verdict("gate", 3.9, P) == "allow" and policy.verdict("gate", 4, P) == "hold"
    assert policy.verdict("gate", 8, P) == "block" and policy.verdict("observed", 4, P) == "flagged"
    assert policy.should_freeze(8, P) and not policy.should_freeze(7.9, P)
    assert policy.severity(9, P) == "critical" and policy.severity(0, P) == "info"
