"""The shared labelled sample (``../shared/eval/dev`` beside the repository) holds main to a bar.

The sample grew new scenario families (rapid repetition, single lures, account takeovers,
Vault credential access); replay gets the sample's own ``replay_args`` (its KV mount and
Sentinel's identity). What main already does is held here; what it cannot do yet is
listed as a strict expected failure, naming the issue that closes it, so that a fix flips
the test (strict xfail fails when it passes) and the list is shortened with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DEV = Path(os.environ.get("SENTINEL_EVAL_DEV", REPO.parent / "shared" / "eval" / "dev"))
SCORE = DEV.parent / "score.py"

pytestmark = pytest.mark.skipif(
    not (DEV / "events.jsonl").exists() or not SCORE.exists(),
    reason=f"shared dev sample not present at {DEV}",
)

# scenario kind -> the issue that has to close it (what fails today is in the reason)
NOT_YET: dict[str, str] = {}


def _labels() -> dict[str, Any]:
    if not (DEV / "labels.json").exists():
        return {"scenarios": []}
    return json.loads((DEV / "labels.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def score(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("dev") / "decisions.jsonl"
    with out.open("w") as f:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sentinel",
                "replay",
                "--inventory",
                str(DEV / "inventory.toml"),
                *_labels().get("replay_args", []),
                str(DEV / "events.jsonl"),
            ],
            stdout=f,
            stderr=subprocess.DEVNULL,
            timeout=300,
            check=True,
        )
    r = subprocess.run(
        [sys.executable, str(SCORE), str(DEV), str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_no_false_freeze_or_containment(score: dict[str, Any]) -> None:
    assert score["false_freezes"] == 0, score["false_freeze_list"]
    assert score["false_contains"] == 0, score["false_contain_list"]


def test_legitimate_posts_pass(score: dict[str, Any]) -> None:
    assert score["legit_gate_held_pct"] <= 2
    assert score["legit_observed_flagged_pct"] <= 2
    assert score["leaked_median"] <= 1


def test_legitimate_account_and_vault_events_pass(score: dict[str, Any]) -> None:
    assert score["legit_account_events_flagged_pct"] <= 2
    assert score["legit_vault_events_flagged_pct"] <= 2


def test_posts_decided_once(score: dict[str, Any]) -> None:
    assert score["gate_events_without_decision"] == 0
    assert score["events_without_decision"]["gate"] == 0 and score["events_without_decision"]["observed"] == 0
    assert score["events_decided_twice"] == {"post": 0, "account": 0, "vault": 0}
    assert score["unparsable_lines"] == 0 and score["malformed_records"] == 0


def test_account_and_vault_events_decided(score: dict[str, Any]) -> None:
    assert score["events_without_decision"]["account"] == 0
    assert score["events_without_decision"]["vault"] == 0


def _scenario_params() -> list[Any]:
    out = []
    for s in _labels()["scenarios"]:
        kind = s["kind"]
        marks = [pytest.mark.xfail(strict=True, reason=NOT_YET[kind])] if kind in NOT_YET else []
        out.append(pytest.param(kind, id=kind, marks=marks))
    return out


@pytest.mark.parametrize("kind", _scenario_params())
def test_scenario_stopped(score: dict[str, Any], kind: str) -> None:
    [result] = [s for s in score["scenarios"] if s["scenario"] == kind]
    assert result["detected"], result
    for account in result["accounts"]:
        assert account["detected"], account
        assert account["leaked"] <= 2, account
    if result["family"] == "takeover":
        assert result["frozen_before_first_post"] in (True, None), result
    for identity in result["identities"]:
        assert identity["contained"], identity
