from __future__ import annotations

import pytest

from sentinel.engine.links import extract_links, links_key, registrable_domain


def hosts(text: str) -> list[str]:
    return [link.host for link in extract_links(text).links]


def test_plain_and_trailing_punctuation() -> None:
    assert hosts("See https://www.bbc.co.uk/news.") == ["www.bbc.co.uk"]
    assert registrable_domain("www.bbc.co.uk") == "bbc.co.uk"
    assert extract_links("See https://x.example.com/a).").links[0].path == "/a"


def test_defanged_and_hidden() -> None:
    parsed = extract_links("go hxxps://evil[.]com/claim")
    assert parsed.links[0].host == "evil.com" and "hxxp scheme" in parsed.links[0].obfuscation
    assert hosts("evil (dot) com/path") == ["evil.com"]
    hidden = extract_links("visit ex\u200bample.com/login")
    assert hidden.hidden_chars == 1 and hosts("visit ex\u200bample.com/login") == ["example.com"]
    assert extract_links("family \U0001f468\u200d\U0001f469 photo").hidden_chars == 0


@pytest.mark.parametrize(
    "invisible",
    ["\u2063", "\u180e", "\u034f", "\u3164", "\u17b4", "\U000e0041", "\u061c", "\u2062\ufe0f"],
)
def test_every_character_drawn_as_nothing_is_hidden(invisible: str) -> None:
    parsed = extract_links(f"log in at ex{invisible}ample.com/verify")
    assert parsed.hidden_chars == 1
    assert parsed.clean_text == "log in at example.com/verify"
    assert [link.host for link in parsed.links] == ["example.com"]


def test_emoji_sequences_hide_nothing() -> None:
    text = "\u2764\ufe0f 1\ufe0f\u20e3 \U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    assert extract_links(text).hidden_chars == 0


def test_scheme_less_needs_a_real_suffix() -> None:
    assert hosts("tickets at acmefest.com/tickets") == ["acmefest.com"]
    assert hosts("see notes.md, Node.js and e.g. this") == []


def test_ip_idn_and_credentials() -> None:
    link = extract_links("http://203.0.113.9/x").links[0]
    assert link.ip_literal and link.domain is None
    assert extract_links("https://xn--80ak6aa92e.com/").links[0].idn
    cred = extract_links("https://acme.com@evil.io/x").links[0]
    assert cred.host == "evil.io" and "credentials before host" in cred.obfuscation


def test_links_key_is_where_the_links_lead() -> None:
    base = links_key("Our report https://example.com/report")
    # scheme, host case, www., a trailing slash and tracking parameters aside
    assert links_key("OUR REPORT http://WWW.Example.com/report/?utm_source=x&fbclid=1") == base
    assert links_key("report: example.com/report") == base
    # another host, another path (case kept), another real parameter, a link more or less
    assert links_key("Our report https://examp1e.com/report") != base
    assert links_key("Our report https://example.com/Report") != base
    assert links_key("Our report https://example.com/report?id=2") != base
    assert links_key("Our report https://example.com/report https://evil.example/x") != base
    assert links_key("Our report") != base
    # real parameters are compared as a set, in any order
    assert links_key("https://example.com/r?a=1&b=2") == links_key(
        "https://example.com/r?b=2&a=1&utm_medium=s"
    )


def test_a_limit_examines_the_first_distinct_links_and_says_there_were_more() -> None:
    text = " ".join(f"https://a{i}.example.com/x" for i in range(5)) + " https://a0.example.com/x evil.io/go"
    everything = extract_links(text)
    assert [link.host for link in everything.links][-2:] == ["a0.example.com", "evil.io"]
    assert not everything.unexamined
    capped = extract_links(text, 5)
    assert [link.host for link in capped.links] == [f"a{i}.example.com" for i in range(5)]
    assert capped.unexamined  # evil.io was not looked at, and the engine is told
    repeated = extract_links("https://a.example.com/x " * 1000 + "b.example.com/y", 2)
    assert [link.host for link in repeated.links] == ["a.example.com", "b.example.com"]
    assert not repeated.unexamined  # repeats of one link are one link


def test_bare_hosts_inside_a_scheme_link_are_not_counted_twice_among_many_links() -> None:
    text = " ".join(f"https://h{i}.example.org/p?next=x{i}.example.net" for i in range(300))
    assert [link.host for link in extract_links(text).links] == [f"h{i}.example.org" for i in range(300)]
