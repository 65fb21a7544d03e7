"""Campaign detectors on a generated organisation's learned baselines: one template sent from
several accounts, each copy with a freshly registered domain, is a campaign; without the
template rule the same wave only flags the third account."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sentinel.engine.campaigns import CampaignIndex
from sentinel.engine.engine import Engine
from sentinel.engine.events import Decision, format_ts, parse_event
from sentinel.engine.loader import load_rules
from sentinel.engine.rules import RuleSet
from sentinel.engine.similarity import signature, text_key
from tests.engine import orgsim

RULES = Path(__file__).resolve().parents[3] / "rules"
WAVE = ("acme-brand-ig", "acme-jp-x", "acme-support-bsky")
RULE = "campaign.template-fresh-links"


@pytest.fixture(scope="module")
def learned() -> tuple[orgsim.Org, datetime]:
    org = orgsim.build()
    last = max(e["ts"] for e in org.events)
    start = (datetime.fromisoformat(last.replace("Z", "+00:00")) + timedelta(days=1)).replace(
        hour=15, minute=0
    )
    return org, start


def wave(org: orgsim.Org, start: datetime, with_rule: bool) -> list[Decision]:
    rules = load_rules([RULES])
    if not with_rule:
        rules = RuleSet(tuple(r for r in rules.rules if r.id != RULE))
    engine = Engine(org.inventory, rules)
    for raw in org.events:
        engine.evaluate(parse_event(raw))
    usual = {a[0]: a[4] for a in orgsim.ACCOUNTS}
    out = []
    for i, account in enumerate(WAVE):  # the usual client, business hours: only the links are new
        raw = {
            "id": f"t{i}",
            "ts": format_ts((start + timedelta(minutes=3 * i)).timestamp()),
            "account": account,
            "via": "observed",
            "text": f"Members-only flash sale ends in an hour, shop now: https://flash-{i}x.shop/acme",
            "client": usual[account],
            "post_id": f"tp{i}",
        }
        out.append(engine.evaluate(parse_event(raw)))
    return out


def test_one_template_with_a_fresh_domain_per_account_is_a_campaign(
    learned: tuple[orgsim.Org, datetime],
) -> None:
    org, start = learned
    first, second, third = wave(org, start, with_rule=True)
    assert first.verdict == second.verdict == "ok" and first.freeze is None and second.freeze is None
    found = {f.rule: f for f in third.findings}
    assert RULE in found and third.freeze is not None
    assert "2 other account(s)" in found[RULE].detail and "flash-0x.shop" in found[RULE].detail
    # the same wave without the rule: the third copy is only flagged, its account stays in the attacker's hands
    *_, unseen = wave(org, start, with_rule=False)
    assert unseen.freeze is None and RULE not in {f.rule for f in unseen.findings}


def test_template_groups_are_forgotten_after_the_memory() -> None:
    index = CampaignIndex(memory=600.0)
    text = "Members-only flash sale ends in an hour, shop now: https://flash-1x.shop/acme"
    index.add(signature(text), 1000.0, "acct-a", None, False, "", ("flash-1x.shop",), text_key(text))
    group = index.template(text_key(text), 1100.0)
    assert group is not None and group.others_since(900.0, "acct-b", ("flash-2x.shop",)) == {
        "acct-a": ("flash-1x.shop",)
    }
    assert group.others_since(900.0, "acct-b", ("flash-1x.shop",)) == {}  # the same link: not rotating
    assert index.template(text_key(text), 1700.0) is None and len(index) == 0
