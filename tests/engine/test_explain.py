"""``explain``: a dry run that lists every rule, the combination and the deciding threshold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sentinel.engine.engine import Engine
from sentinel.engine.explain import explain
from sentinel.engine.loader import load_rules
from tests.engine.test_engine import INV, RULES, ev


def learned_engine() -> Engine:
    e = Engine(INV, RULES)
    for day in range(1, 28):
        for hour in (10, 14):
            e.evaluate(ev(ts=f"2026-02-{day:02d}T{hour}:00:00Z", text=f"Our update number {day} {hour}"))
    return e


def learned(e: Engine) -> str:
    """The engine's state without the rate windows' contents (a rate count drops timestamps
    that left the window: the same counts, a shorter list)."""

    def strip(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k != "windows"}
        return x

    return json.dumps(strip(e.snapshot()), sort_keys=True)


def test_explain_lists_every_rule_and_the_deciding_threshold_and_changes_nothing() -> None:
    e = learned_engine()
    before = learned(e)
    d, out = explain(e, ev(ts="2026-02-28T03:00:00Z", text="<script>alert(1)</script>", ip="192.0.2.9"))
    assert learned(e) == before and e.frozen("g") is None
    assert d.verdict == "block" and d.freeze is not None  # what would happen, not what did
    considered = [r["rule"] for r in out["rules"]]
    live = e.rules.for_account(INV.accounts[0])
    assert considered == [r.id for r in (*live.main, *live.after)]
    fired = {r["rule"]: r for r in out["rules"] if r["fired"]}
    assert fired["content.html-injection"]["score"] == 8.0
    assert "192.0.2.9" in fired["source.new-ip"]["detail"]  # measured against the author's IPs
    assert "never posted at this hour" in fired["time.odd-hour"]["detail"]
    assert out["baselines"]["learned_posts"] == 54 and out["baselines"]["mature"] is True
    groups = {g["group"]: g for g in out["combined"]["groups"]}
    assert groups["content.html-injection"]["counts"] == 8.0
    assert out["combined"]["score"] == round(d.score, 3)
    assert out["decided_by"].startswith(f"score {round(d.score, 3):g} >= freeze_score 8")
    assert out["dry_run"] is True and out["freeze"] is True


def test_explain_of_an_allowed_post_and_of_a_rule_on_trial(tmp_path: Path) -> None:
    (tmp_path / "trial.yaml").write_text(
        "mode: observe\nrules:\n"
        "  - {id: trial.nft, description: d, detector: text_pattern, severity: medium, score: 5,\n"
        "     params: {patterns: ['\\bnft\\b']}}\n"
    )
    e = Engine(INV, load_rules([tmp_path]))
    d, out = explain(e, ev(text="Our NFT collection is live"))
    assert d.verdict == "allow" and out["decided_by"] == "score 0 < hold_score 4"
    assert out["would"] == "hold" and out["observed"][0]["rule"] == "trial.nft"
    assert out["rules"] == [
        {
            "rule": "trial.nft",
            "detector": "text_pattern",
            "mode": "observe",
            "group": "trial.nft",
            "rule_score": 5.0,
            "fired": True,
            "score": 5.0,
            "detail": out["rules"][0]["detail"],
        }
    ]
    assert out["baselines"] == {"learned": False}
