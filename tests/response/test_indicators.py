"""Indicators from an incident's evidence, and the incident as a STIX 2.1 bundle."""

from __future__ import annotations

import json

import stix2

from sentinel.response.indicators import Indicator, indicators, stix_bundle

INCIDENT = {
    "id": 7,
    "status": "open",
    "title": "Automatic freeze: worm",
    "opened": "2026-12-04T18:53:24.000000Z",
    "accounts": ["acme-brand-x", "acme-news-x"],
    "events": [
        {"kind": "finding", "data": {"detail": "https://not-evidence.example/"}},
        {
            "kind": "post",
            "data": {
                "text": "Verify now hxxps://acme-support-help[.]com/verify, bit.ly/x3 or http://203.0.113.7/a "
                "and see https://acme.com/news; send BTC to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
            },
        },
    ],
}


def test_indicators_come_from_the_evidence_posts() -> None:
    got = indicators(INCIDENT, own_domains=["acme.com"])
    assert Indicator("url", "https://acme-support-help.com/verify") in got  # refanged from the post
    assert Indicator("domain", "acme-support-help.com") in got
    assert Indicator("url", "http://bit.ly/x3") in got and Indicator("domain", "bit.ly") not in got
    assert Indicator("ipv4", "203.0.113.7") in got
    assert Indicator("domain", "acme.com") not in got  # the organisation's own
    assert any(i.kind.startswith("wallet:") for i in got)
    assert not any("not-evidence" in i.value for i in got)  # only what the attacker posted


def test_stix_bundle_parses_and_names_every_indicator() -> None:
    text = stix_bundle(INCIDENT, "Acme", own_domains=["acme.com"])
    bundle = stix2.parse(text, allow_custom=False)
    by_type: dict[str, list[object]] = {}
    for obj in bundle.objects:
        by_type.setdefault(obj.type, []).append(obj)
    patterns = sorted(o.pattern for o in by_type["indicator"])  # type: ignore[attr-defined]
    assert "[domain-name:value = 'acme-support-help.com']" in patterns
    assert "[ipv4-addr:value = '203.0.113.7']" in patterns
    assert "[url:value = 'http://bit.ly/x3']" in patterns
    (report,) = by_type["report"]
    assert set(report.object_refs) == {o.id for t in ("identity", "indicator") for o in by_type[t]}  # type: ignore[attr-defined]
    assert "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq" in report.description  # type: ignore[attr-defined]
    assert json.loads(text)["type"] == "bundle"
