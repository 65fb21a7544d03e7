"""Event facts: a rule whose required facts an event lacks is skipped, and nothing changes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from sentinel.engine import facts
from sentinel.engine.confusables import read
from sentinel.engine.detectors.base import detector
from sentinel.engine.engine import Engine
from sentinel.engine.events import parse_event
from sentinel.engine.facts import FACTS, requirement
from sentinel.engine.loader import load_rules
from sentinel.engine.prefilter import fold, satisfied
from tests.engine import orgsim
from tests.engine.test_prefilter import _texts

RULES = Path(__file__).resolve().parents[2] / "rules"


def test_skipping_rules_by_facts_decides_exactly_as_running_every_rule() -> None:
    """The shipped rules on a generated organisation with attacks: an engine that runs only the
    rules an event's facts allow decides every event exactly as one that runs them all (a
    traced evaluation runs every rule)."""
    org = orgsim.build()
    rules = load_rules([RULES])
    fast, full = Engine(org.inventory, rules), Engine(org.inventory, rules)
    findings = 0
    for raw in org.events:
        event = parse_event(raw)
        got = fast.evaluate(event)
        want = full.evaluate(event, trace=[])
        assert got == want, raw["id"]
        findings += len(got.findings)
    assert findings > 50  # the attacks are found, so rules that fire were compared too
    some = rules.for_account(org.inventory.accounts[0])
    assert any(len(r) < len(some.run_main) / 2 for r in some._main._by_facts.values())  # rules were skipped


def test_an_unknown_fact_is_refused_when_the_detector_registers() -> None:
    with pytest.raises(ValueError, match="unknown event fact 'linkz'"):
        detector("never-registered", "a detector with a typo", requires=frozenset({"linkz"}))
    assert requirement(["links", "gate"]) == FACTS["links"] | FACTS["gate"]


def test_each_fact_constant_is_its_named_bit() -> None:
    assert len(set(FACTS.values())) == len(FACTS) == facts.FIRST_FREE_BIT
    for name, bit in FACTS.items():
        assert getattr(facts, name.upper()) == bit


def test_a_text_rule_never_finds_anything_in_a_text_that_misses_its_requirement() -> None:
    rules = [r for r in load_rules([RULES]) if r.detector.literals is not None]
    assert {r.detector.name for r in rules} >= {"text_pattern", "html_injection"}
    texts = [
        *_texts([r for r in rules if r.detector.name == "text_pattern"], 400, seed=13),
        "<script>alert(1)</script>",
        "\u0421l\u0430im your fr\u0435\u0435 NFT, s\u0435nd \u0412\u0422\u0421 and receive d\u043euble",
        "\U0001d42f\U0001d41e\U0001d42b\U0001d422\U0001d41f\U0001d432 your account",
        "<img src=x onerror=alert(1)>",
        "click javascript:void(0)",
        "{{7*7}} and ${jndi}",
        "$('#x').html()",
        "document.cookie",
        "eval(atob('x'))",
        "<IFRAME src=//evil>",
    ]
    found = 0
    for r in rules:
        _, req = r.detector.literals(r.params)  # type: ignore[misc]
        assert req is not None
        for text in texts:
            reading = read(text)
            ctx = SimpleNamespace(
                event=SimpleNamespace(text=text),
                parsed=SimpleNamespace(clean_text=text),
                reading=reading,
                content=lambda include_links=False, reading=reading: reading.text,
            )
            if r.detector.check(ctx, r.params) is not None:  # type: ignore[arg-type]
                found += 1
                present = {s for alt in req for clause in alt for s in clause if s in fold(reading.text)}
                assert satisfied(req, present), (r.id, text)
    assert found > 50
