from __future__ import annotations

import pytest

from sentinel.alerts.model import Alert, Finding, Step
from sentinel.alerts.render import TRUNCATED, build_message, truncate
from sentinel.redact import register_secret


def test_truncate_marks_what_it_cut() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("x" * 100, 40)
    assert len(cut) == 40 and cut.endswith(TRUNCATED)
    assert truncate("abcdef", 3) == TRUNCATED[:3]


def test_single_alert_says_what_happened_what_was_done_and_what_next() -> None:
    a = Alert(
        kind="freeze",
        severity="critical",
        summary="out-of-band post on brand-news",
        accounts=("brand-news",),
        rule="oob.unknown_client",
        findings=(Finding("oob.unknown_client", "posted from client 'scamtool' via https://evil.com"),),
        post_excerpt="Giveaway!!  Send 1 BTC to\nhttps://evil.com/x",
        post_url="https://bsky.app/profile/brand-news/post/3k",
        steps=(Step("gate_block", True), Step("rotate", False, "vault sealed")),
        runbook_url="https://wiki/runbook",
    ).with_defaults()
    m = build_message([a], "firing", a.dedup_key, "Example Corp", now=1_800_000_000)
    text = m.text()
    assert m.headline == "[CRITICAL] Account frozen: out-of-band post on brand-news"
    assert "Account:\nbrand-news" in text
    assert '    post: "Giveaway!! Send 1 BTC to hxxps://evil[.]com/x"' in text
    assert "oob.unknown_client: posted from client 'scamtool' via hxxps://evil[.]com" in text
    assert "✔ gate_block" in text and "✘ rotate FAILED — brand-news (vault sealed)" in text
    assert '  $ sentinel unfreeze brand-news --reason "..."' in text
    assert m.links == (
        ("Runbook", "https://wiki/runbook"),
        ("Post", "https://bsky.app/profile/brand-news/post/3k"),
    )
    assert (
        m.footer == "Example Corp · incident freeze:oob.unknown_client:brand-news · 2027-01-15 08:00:00 UTC"
    )


def test_group_title_and_order_most_severe_first() -> None:
    alerts = [
        Alert(kind="held_post", severity="warning", summary="w", accounts=("a",), rule="r"),
        Alert(kind="held_post", severity="critical", summary="c", accounts=("b",), rule="r"),
    ]
    m = build_message(alerts, "firing", "k")
    assert m.severity == "critical" and m.accounts == ("b", "a")
    assert m.title == "Post held for approval: 2 alerts, 2 accounts, rule r"
    assert build_message(alerts, "firing", "k", repeat=True).title.startswith("Still open — ")
    with pytest.raises(ValueError, match="at least one alert"):
        build_message([], "firing", "k")


def test_copies_are_listed_once_and_long_lists_are_shortened() -> None:
    steps = (Step("gate_block", True),)
    alerts = [
        Alert(kind="freeze", summary="s", accounts=(f"acct-{i:03d}",), rule="r", steps=steps)
        for i in range(100)
    ]
    m = build_message([a.with_defaults() for a in alerts], "firing", "k")
    text = m.text()
    assert "Accounts (100)" in text and "and 40 more" in text
    assert text.count("• ") == 1 and "acct-009 and 90 more (100 accounts) [r]: s" in text
    assert "✔ gate_block — all 100 accounts" in text
    assert (
        len(m.commands) == 6 and m.commands[-1] == "# … and 95 more like these, one per account, after review"
    )
    distinct = [Alert(kind="freeze", summary=f"s{i}", accounts=(f"a{i}",)) for i in range(25)]
    assert "… and 15 more alerts in this group" in build_message(distinct, "firing", "k").text()


def test_message_is_scrubbed_even_if_the_alert_was_not() -> None:
    register_secret("render-secret-value-42")
    a = Alert(
        kind="rotation_failed",
        summary="boom render-secret-value-42",
        next_steps=("x render-secret-value-42",),
    )
    text = build_message([a], "firing", "k").text()
    assert "render-secret-value-42" not in text and "[REDACTED]" in text


def test_only_web_links_become_links() -> None:
    a = Alert(
        kind="held_post", summary="s", runbook_url="javascript:alert(1)", post_url='https://x.io/p"><script>'
    )
    assert build_message([a], "firing", "k").links == ()
