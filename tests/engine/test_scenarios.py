"""End to end on a generated organisation: attacks are frozen fast, confounders are not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sentinel.engine.engine import Engine
from sentinel.engine.events import Decision, parse_event
from sentinel.engine.loader import load_rules
from tests.engine import orgsim

RULES = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture(scope="module")
def run() -> tuple[orgsim.Org, dict[str, Decision], dict[str, list[str]]]:
    org = orgsim.build()
    engine = Engine(org.inventory, load_rules([RULES]))
    decisions: dict[str, Decision] = {}
    freezes: dict[str, list[str]] = {}
    for raw in org.events:
        d = engine.evaluate(parse_event(raw))
        decisions[raw["id"]] = d
        if d.freeze is not None:
            freezes.setdefault(d.account, []).append(raw["ts"])
    return org, decisions, freezes


def _by_id(org: orgsim.Org) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in org.events}


@pytest.mark.parametrize(
    "attack",
    [
        "oob-announcement",
        "stolen-operator",
        "crypto-campaign",
        "tool-worm",
        "open-takeover",
        "rotating-links",
        "defacement-gate",
        "nft-lure",
    ],
)
def test_attack_frozen_quickly_with_few_posts_leaked(run: Any, attack: str) -> None:
    org, decisions, freezes = run
    events = _by_id(org)
    spec = org.attacks[attack]
    for acc in spec["accounts"]:
        mine = [events[i] for i in spec["events"] if events[i]["account"] == acc]
        t0, t1 = mine[0]["ts"], mine[-1]["ts"]
        frozen_at = next((t for t in freezes.get(acc, []) if t >= t0), None)
        assert frozen_at is not None and frozen_at <= t1, f"{attack}: {acc} not frozen during the attack"
        leaked = 0
        for e in mine:
            d = decisions[e["id"]]
            if e["via"] == "gate" and d.verdict == "allow":
                leaked += 1
            elif e["via"] == "observed" and not d.skipped and e["id"].startswith("o"):
                gate_id = "g" + e["id"][1:]
                if gate_id not in events and e["ts"] <= frozen_at:
                    leaked += 1
        assert leaked <= 1, f"{attack}: {leaked} posts published on {acc} before the freeze"


def test_no_confounder_is_frozen_or_blocked(run: Any) -> None:
    org, decisions, freezes = run
    events = _by_id(org)
    for kind, ids in org.confounders.items():
        for i in ids:
            d = decisions[i]
            assert d.freeze is None, f"{kind}: {i} froze {d.account}: {d.freeze}"
            assert d.verdict in ("allow", "ok", "skipped", "hold", "flagged"), (kind, i, d.verdict)
            assert d.verdict not in ("block",), (kind, i)
        held = [i for i in ids if decisions[i].verdict in ("hold", "flagged")]
        assert len(held) <= max(1, len(ids) // 10), f"{kind}: {len(held)} of {len(ids)} held or flagged"
    attack_accounts = {a for spec in org.attacks.values() for a in spec["accounts"]}
    for acc in freezes:
        assert acc in attack_accounts, f"false freeze of {acc}"
    assert events


def test_legitimate_posts_are_rarely_held(run: Any) -> None:
    org, decisions, _ = run
    attack_ids = {i for spec in org.attacks.values() for i in spec["events"]}
    legit = [e for e in org.events if e["id"] not in attack_ids and not decisions[e["id"]].frozen]
    gate = [e for e in legit if e["via"] == "gate"]
    observed = [e for e in legit if e["via"] == "observed" and not decisions[e["id"]].skipped]
    held = sum(decisions[e["id"]].verdict != "allow" for e in gate)
    flagged = sum(decisions[e["id"]].verdict == "flagged" for e in observed)
    assert held <= 0.02 * len(gate)
    assert flagged <= 0.02 * len(observed)


def test_findings_explain_the_freeze(run: Any) -> None:
    org, decisions, _ = run
    first = org.attacks["stolen-operator"]["events"][0]
    d = decisions[first]
    rules = {f.rule for f in d.findings}
    assert d.freeze is not None and d.verdict == "block"
    assert {"source.new-ip", "time.odd-hour"} <= rules
    assert rules & {"links.brand-lure-domain", "content.credential-lure"}
    assert "score" in d.freeze.reason
