"""Look-alike letters read as the Latin words they imitate, and only where a word reads as Latin."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from sentinel.engine.confusables import LATIN, read, table
from sentinel.engine.engine import Engine
from sentinel.engine.events import parse_event
from sentinel.engine.loader import load_rules
from sentinel.inventory import Account, Inventory

RULES = load_rules([Path(__file__).resolve().parents[2] / "rules"])
INV = Inventory(accounts=(Account(id="g", platform="x", handle="@g", timezone="UTC", publishing="gated"),))


def _verdict(text: str) -> tuple[str, tuple[str, ...]]:
    raw = {
        "id": "e1",
        "ts": "2026-03-02T10:00:00Z",
        "account": "g",
        "via": "gate",
        "text": text,
        "post_id": "p1",
        "client": "Tool",
        "author": "op-a",
    }
    d = Engine(INV, RULES).evaluate(parse_event(raw))
    return d.verdict, tuple(sorted(f.rule for f in d.findings))


@pytest.mark.parametrize(
    ("text", "want", "disguised"),
    [
        ("\u0441l\u0430im your fr\u0435\u0435 NFT", "claim your free NFT", ("claim", "free")),  # Cyrillic
        ("\u03bderify y\u03bfur \u03b1ccount", "verify your account", ("verify", "your", "account")),  # Greek
        ("\u0585ur \u0578ew t\u0585ken", "our new token", ("our", "new", "token")),  # Armenian
        ("\u13a2OKEN \u13aaIRDROP", "TOKEN AIRDROP", ("TOKEN", "AIRDROP")),  # Cherokee
        ("\u0391\u0399RDR\u039fP", "AIRDROP", ("AIRDROP",)),  # a Greek capital iota is an I, not an l
        (
            "0\u0445742d35Cc6634C0532925a3b844Bc454e4438f44e",
            "0x742d35Cc6634C0532925a3b844Bc454e4438f44e",
            None,
        ),
    ],
)
def test_a_word_mixing_latin_with_look_alikes_reads_as_latin(
    text: str, want: str, disguised: tuple[str, ...] | None
) -> None:
    got = read(text)
    assert got.text == want
    assert got.disguised == (disguised if disguised is not None else (want,))


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("\uff21\uff29\uff32\uff24\uff32\uff2f\uff30 now", "AIRDROP now"),  # fullwidth
        ("\U0001d42f\U0001d41e\U0001d42b\U0001d422\U0001d41f\U0001d432 your account", "verify your account"),
        (
            "\U0001d5f3\U0001d5ff\U0001d5f2\U0001d5f2 \U0001d4c3\U0001d4bb\U0001d4c9",
            "free nft",
        ),  # sans bold, script
        ("\u2460 \ufb01rst", "1 first"),  # compatibility forms
    ],
)
def test_nfkc_forms_read_as_their_letters_and_are_no_disguise(text: str, want: str) -> None:
    got = read(text)
    assert got.text == want
    assert got.disguised == ()


def test_a_word_of_look_alikes_alone_is_read_as_latin_only_in_a_latin_post() -> None:
    assert read("Send \u0412\u0422\u0421 to our wallet and receive double").text == (
        "Send BTC to our wallet and receive double"
    )
    assert read("Send \u0412\u0422\u0421 to our wallet").disguised == ()  # only words that mix scripts
    russian = "\u041a\u0443\u043f\u0438\u043b\u0438 \u0412\u0422\u0421 \u0438 \u0421\u041e\u0421\u041e \u0432 \u043c\u0430\u0433\u0430\u0437\u0438\u043d\u0435"
    assert read(russian).text == russian


LEGITIMATE = {
    "Russian": "\u041e\u0442\u043a\u0440\u044b\u043b\u0438 \u043d\u043e\u0432\u044b\u0439 \u043c\u0430\u0433\u0430\u0437\u0438\u043d: \u0432\u0441\u0435\u043c \u043f\u043e\u0434\u0430\u0440\u043a\u0438, \u0430 \u043a\u043e\u0444\u0435 \u0441 \u0441\u043e\u0431\u043e\u0439. \u0421\u041e\u0421\u041e \u0438 \u0412\u0422\u0421 \u0442\u043e\u0436\u0435 \u0442\u0443\u0442",
    "Greek": "GIVEAWAY \u03b3\u03b9\u03b1 \u03c4\u03b1 10 \u0395\u03a4\u0397 \u03c4\u03b7\u03c2 \u03b5\u03c4\u03b1\u03b9\u03c1\u03b5\u03af\u03b1\u03c2 \u03bc\u03b1\u03c2! \u039a\u0391\u0399 \u03bf \u03c4\u03bf\u03ba\u03b5\u03bd \u03b4\u03ce\u03c1\u03bf",
    "Ukrainian": "\u0406 \u0446\u0435 \u043d\u0430\u0448 \u043d\u043e\u0432\u0438\u0439 \u0441\u0430\u0439\u0442 \u0456 \u0431\u043b\u043e\u0433: \u043f\u0456\u0434\u043f\u0438\u0441\u0443\u0439\u0442\u0435\u0441\u044f \u0456 \u043e\u0442\u0440\u0438\u043c\u0443\u0439\u0442\u0435 \u043d\u043e\u0432\u0438\u043d\u0438",
    "Serbian": "\u041e\u0432\u043e \u0458\u0435 \u043d\u0430\u0448 \u043d\u043e\u0432\u0438 \u0441\u0430\u0458\u0442, \u0430 \u0422\u041e \u0458\u0435 \u0441\u0432\u0435. Posetite nas u Beogradu",
    # typed with a Latin i for the Ukrainian і, as many keyboards make people do
    "Ukrainian with Latin i": "\u041b\u0430\u0441\u043a\u0430\u0432\u043e \u043f\u0440\u043e\u0441\u0438\u043c\u043e \u0434\u043e \u043d\u0430\u0448\u043e\u0433\u043e \u043ci\u0441\u0442\u0430, \u043f\u0440\u0430\u0446\u044e\u0454\u043c\u043e \u0449\u043e\u0434\u043d\u044f i \u0441\u0456\u0440 \u0434\u0430\u0440\u043e\u043c",
    # the link's words are Latin, but they do not make the post Latin: ΕΤΗ stays "years"
    "Greek with a link": "\u03a4\u03b1 10 \u0395\u03a4\u0397 \u03c4\u03b7\u03c2 \u03b5\u03c4\u03b1\u03b9\u03c1\u03b5\u03af\u03b1\u03c2 \u03bc\u03b1\u03c2: https://www.example.com/news/anniversary-party-photos",
    "Japanese": "\u65b0\u3057\u3044\u30b3\u30ec\u30af\u30b7\u30e7\u30f3\u304c\u767b\u5834\uff01\uff2e\uff26\uff34\u30d7\u30ec\u30bc\u30f3\u30c8\u306f\u3042\u308a\u307e\u305b\u3093",
}


@pytest.mark.parametrize("language", sorted(LEGITIMATE))
def test_a_legitimate_post_in_another_script_is_left_as_written(language: str) -> None:
    text = LEGITIMATE[language]
    got = read(text)
    assert got.text == unicodedata.normalize("NFKC", text)
    assert got.disguised == ()


@pytest.mark.parametrize("language", sorted(LEGITIMATE))
def test_a_legitimate_post_in_another_script_keeps_its_verdict(language: str) -> None:
    assert _verdict(LEGITIMATE[language]) == ("allow", ())


def test_a_lure_in_look_alike_letters_is_held_like_the_lure_in_latin() -> None:
    verdict, rules = _verdict("\u0421l\u0430im your fr\u0435\u0435 NFT before midnight")
    assert verdict == "hold"
    assert rules == ("content.lure-phrases", "content.mixed-script-lure", "content.prize-lure")
    # invisible characters inside a disguised word hide nothing, and are evidence of their own
    assert _verdict("\u0421\u200bl\u0430\u2063im your fr\u0435\u0435 NFT before midnight") == (
        "block",
        ("content.lure-phrases", "content.mixed-script-lure", "content.prize-lure", "links.obfuscated"),
    )
    verdict, rules = _verdict("\U0001d42f\U0001d41e\U0001d42b\U0001d422\U0001d41f\U0001d432 your account now")
    assert (verdict, rules) == ("hold", ("content.credential-lure",))


def test_ascii_text_is_returned_as_it_is() -> None:
    text = "Claim your free NFT"
    assert read(text).text is text


def test_the_table_holds_only_letters_of_the_four_scripts_imitating_ascii_letters() -> None:
    t = table()
    assert len(t) > 100
    for code, latin in t.items():
        assert unicodedata.name(chr(code)).split()[0] in ("CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE")
        assert latin.isascii() and latin.isalpha() and len(latin) == 1
    assert t[ord("\u0430")] == "a" and t[ord("\u03bf")] == "o" and t[ord("\u0456")] == "i"
    assert ord("\u043f") not in t and ord("\u03c0") not in t  # Cyrillic pe and Greek pi imitate nothing Latin


def test_the_latin_ranges_hold_latin_letters_only() -> None:
    """Of the letters NFKC leaves as they are (the ones ``read`` meets)."""
    letters = [
        c
        for c in map(chr, range(0x10000))
        if c.isalpha() and re.fullmatch(f"[{LATIN}]", c) and unicodedata.normalize("NFKC", c) == c
    ]
    assert len(letters) > 500
    assert all(unicodedata.name(c).startswith("LATIN ") for c in letters)


def test_latin_letters_with_accents_are_latin_context_and_words_stay_whole() -> None:
    assert (
        read("Caf\u00e9 fr\u0435\u0435 \u00e9t\u00e9 \u0412\u0422\u0421").text
        == "Caf\u00e9 free \u00e9t\u00e9 BTC"
    )
    # a long word that ends in a letter imitating nothing Latin is not a word of look-alikes
    long_word = "\u0441" * 5000 + "\u0436"
    assert read("claim " + long_word).text == "claim " + long_word
    assert read("fr\u0435\u0435_\u0412\u0422\u0421").disguised == ("free_BTC",)
