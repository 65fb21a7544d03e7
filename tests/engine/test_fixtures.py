"""``sentinel rules test`` machinery: shipped fixtures pass, a wrong expectation fails."""

from __future__ import annotations

from pathlib import Path

from sentinel.engine.fixtures import run_fixtures
from sentinel.engine.loader import load_rules

SHIPPED = Path(__file__).resolve().parents[2] / "rules"


def test_shipped_fixtures_pass() -> None:
    results = run_fixtures(load_rules([SHIPPED]))
    failed = [f"{r.rule.id}: {r.fixture.name}: {r.message}" for r in results if not r.passed]
    assert len(results) >= 50
    assert not failed


def test_mismatch_is_reported(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        """rules:
  - id: t.wallet
    description: wallet
    detector: crypto_wallet
    severity: high
    fixtures:
      - name: claims a finding that is not there
        events: [{text: "nothing to see"}]
        expect: finding
      - name: wrong detail
        events: [{text: "pay 0x742d35Cc6634C0532925a3b844Bc454e4438f44e"}]
        expect: finding
        detail: Bitcoin
      - name: right
        events: [{text: "pay 0x742d35Cc6634C0532925a3b844Bc454e4438f44e"}]
        expect: finding
        detail: Ethereum
"""
    )
    results = run_fixtures(load_rules([tmp_path]))
    assert [r.passed for r in results] == [False, False, True]
    assert "expected a finding" in results[0].message
    assert "expected detail" in results[1].message
    assert results[0].to_dict()["line"] == 7
