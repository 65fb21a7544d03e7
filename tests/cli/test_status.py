from __future__ import annotations

import json

import pytest

from sentinel.cli import main
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
    assert "reachable        False" in capsys.readouterr().out
