from __future__ import annotations

import random
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sentinel.engine.confusables import read
from sentinel.engine.detectors.base import quote
from sentinel.engine.detectors.content import _combined, text_pattern
from sentinel.engine.loader import load_rules
from sentinel.engine.prefilter import (
    LiteralIndex,
    PatternSet,
    Requirement,
    fold,
    required_any,
    required_literals,
    satisfied,
)

ROOT = Path(__file__).resolve().parents[2]
TRICKY = "İıſKÅΣσςµ\u0307\u00df"


def lits(pattern: str, flags: int = re.IGNORECASE) -> set[str] | None:
    got = required_literals(re.compile(pattern, flags))
    return None if got is None else set(got)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"hello", {"hello"}),
        (r"HeLLo", {"hello"}),
        (r"\bsend\s+money\b", {"money"}),
        (r"^wallet$", {"wallet"}),
        (r"cat|dog|bird", {"cat", "dog", "bird"}),
        (r"(?:seed|recovery)\s+phrase", {"phrase"}),
        (r"(?:connect|link)\s+it", {"connect", "link"}),
        (r"(?:ab)+c", {"ab"}),
        (r"x(?:yz){2,}", {"yz"}),
        (r"(?>atomic)", {"atomic"}),
        (r"(?-i:Case)d", {"case"}),
        (r"(?<!\w)seed(?=\s)", {"seed"}),
        (r"colou?r", {"colo"}),
    ],
)
def test_required_literals_found(pattern: str, expected: set[str]) -> None:
    assert lits(pattern) == expected


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?:word)?",  # optional
        r"(?:word)*",  # repeated with minimum 0
        r"(?:word)*?",
        r"a?",
        r"[abc]+",  # character class
        r"[a-z]{5}",
        r"\d+",
        r".+",
        r"^$",  # anchors only
        r"\b",
        r"(?=word)",  # lookarounds only
        r"(?!word)x?",
        r"(?<=word)\d",
        r"(?<!word)\s",
        r"word|[xy]",  # one branch without a literal
        r"word|",  # empty branch
        r"é",  # non-ASCII characters contribute nothing
        r"(a)?(?(1)b|c)",  # conditional
    ],
)
def test_no_prefilter_where_nothing_is_required(pattern: str) -> None:
    assert lits(pattern) is None


def test_alternation_keeps_one_literal_per_branch_and_the_strongest_part() -> None:
    assert lits(r"\bgiving\s+back\b.{0,60}(?:btc|x)") == {"giving"}
    # the parser factors out a shared prefix; what is left is still required
    assert lits(r"click here|check this") == {"lick here", "heck this"}
    assert lits(r"(?:a|bb)ccc") == {"ccc"}
    assert lits(r"ab|(?:cd|ef)gh") == {"ab", "gh"}


def test_fold_equates_what_case_insensitive_matching_equates() -> None:
    # every character a case-insensitive ASCII literal matches folds to that literal's lower case
    everything = "".join(chr(cp) for cp in range(0x80, 0x110000) if not 0xD800 <= cp < 0xE000)
    seen = 0
    for code in range(0x80):
        a = chr(code)
        for m in re.finditer(re.escape(a), everything, re.IGNORECASE):
            seen += 1
            assert fold(m.group(0)) == a.lower(), (hex(ord(m.group(0))), a)
    assert seen >= 4  # the Kelvin sign, dotted and dotless i and the long s at least
    assert fold("İSTANBUL ſend K") == "istanbul send k"
    assert fold("Plain ASCII") == "plain ascii"


def test_fold_keeps_literals_inside_longer_unicode_texts() -> None:
    for text, pattern in [("SEND İt", r"send it"), ("ſeed phraſe", r"seed phrase"), ("ΣΑΣ kın", r"kin")]:
        assert re.search(pattern, text, re.IGNORECASE)
        assert any(s in fold(text) for s in required_literals(re.compile(pattern, re.IGNORECASE)) or ())


def _shipped_text_rules() -> list[Any]:
    return [r for r in load_rules([ROOT / "rules"]) if r.detector.name == "text_pattern"]


def _texts(rules: list[Any], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    base: list[str] = []
    words: list[str] = []
    for r in rules:
        for fx in r.fixtures:
            for ev in fx.events:
                if ev.get("text"):
                    base.append(str(ev["text"]))
        for p in r.params["patterns"]:
            words.extend(required_literals(p) or ())
    base += ["", "hello team, thanks for coming to the launch", "SEND 1 BTC AND GET 2X BACK"]
    out = list(base)
    while len(out) < n:
        t = list(rng.choice(base) or rng.choice(words))
        for _ in range(rng.randint(1, 6)):
            op = rng.randrange(8)
            i = rng.randrange(len(t) + 1)
            if op == 0 and t:
                del t[min(i, len(t) - 1)]
            elif op == 1 and i < len(t):
                t[i] = t[i].swapcase()
            elif op == 2:
                t[i:i] = list(" " + rng.choice(words) + rng.choice(["", " ", "s", "ed"]))
            elif op == 3:
                t[i:i] = [rng.choice(TRICKY)]
            elif op == 4 and i < len(t):
                t[i] = {"i": "İ", "s": "ſ", "k": "K", "I": "ı"}.get(t[i], t[i])
            elif op == 6:
                swap = rng.choice(
                    [{"s": "ſ"}, {"k": "K"}, {"i": "ı"}, {"i": "İ", "I": "İ"}, {"i": "ı", "s": "ſ"}]
                )
                t = [swap.get(c, c) for c in t]
            elif op == 5:
                t = [c.upper() if rng.random() < 0.5 else c for c in t]
            else:
                j = rng.randrange(len(t) + 1)
                t = t[:i] + t[j:] if i < j else t
        out.append("".join(t))
    return out


def test_prefiltered_matches_equal_plain_matches_for_every_shipped_pattern() -> None:
    rules = _shipped_text_rules()
    assert rules
    texts = _texts(rules, 600, seed=7)
    matched = skipped = 0
    for r in rules:
        patterns = r.params["patterns"]
        ps = PatternSet(patterns, _combined)
        for text in texts:
            live = set(ps.live(text))
            for i, p in enumerate(patterns):
                m = p.search(text)
                matched += m is not None
                if i not in live:
                    skipped += 1
                    assert m is None, (r.id, p.pattern, text)
            gate, chosen = ps.select(text)
            plain = bool(ps.full.search(text))
            if gate is not None:
                assert bool(gate.search(text)) == plain, (r.id, text)
            else:
                assert any(p.search(text) for p in chosen) == plain, (r.id, text)
            assert [p.search(text) is not None for p in chosen] == [
                p.search(text) is not None for p in patterns if p in chosen
            ]
    assert matched > 100 and skipped > 1000  # the sample exercises both sides


def _plain_text_pattern(text: str, p: dict[str, Any]) -> tuple[str, float] | None:
    """The detector as it was before the prefilter: one combined scan, then each pattern."""
    if not _combined(p["patterns"]).search(text):
        return None
    wanted = max(1, p["min_matches"])
    hits = [m.group(0) for m in (q.search(text) for q in p["patterns"]) if m][:wanted]
    if len(hits) < wanted:
        return None
    return "says " + ", ".join(repr(quote(h, 40)) for h in hits), 1.0


def test_detector_answers_as_without_the_prefilter() -> None:
    rules = _shipped_text_rules()
    texts = _texts(rules, 400, seed=11)
    hits = 0
    for r in rules:
        for min_matches in (1, 2, 3):
            params = {**r.params, "min_matches": min_matches, "include_links": True}
            for text in texts:
                reading = read(text)
                ctx = SimpleNamespace(content=lambda include_links, reading=reading: reading.text)
                got = text_pattern(ctx, params)  # type: ignore[arg-type]
                assert got == _plain_text_pattern(reading.text, params), (r.id, text)
                hits += got is not None
    assert hits > 50


def test_group_references_keep_the_whole_gate() -> None:
    patterns = (re.compile(r"(ab)\1", re.I), re.compile(r"zzz", re.I))
    ps = PatternSet(patterns, _combined)
    gate, chosen = ps.select("abab")
    assert gate is ps.full and chosen == (patterns[0],)
    assert ps.select("nothing here") == (None, ())


def test_one_live_pattern_needs_no_gate_and_subsets_get_their_own() -> None:
    patterns = tuple(re.compile(x, re.I) for x in (r"\bfoo\b", r"\bbar\b", r"\bbaz\b"))
    ps = PatternSet(patterns, _combined)
    assert ps.select("a FOO b") == (None, (patterns[0],))
    gate, chosen = ps.select("foo and bar")
    assert chosen == patterns[:2] and gate is not None and gate is not ps.full
    assert gate.search("xbar bar") and not gate.search("baz")
    assert ps.select("foo bar baz")[0] is ps.full


def test_a_pattern_without_prefilter_is_always_live() -> None:
    patterns = (re.compile(r"[0-9]{4}", re.I), re.compile(r"word", re.I))
    ps = PatternSet(patterns, _combined)
    assert ps.live("nothing") == (0,)
    assert ps.live("a WORD") == (0, 1)


def _present(requirement: Requirement, text: str) -> set[str]:
    return {s for alt in requirement for clause in alt for s in clause if s in fold(text)}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"free\s+gift", [[{"free"}, {"gift"}]]),
        (r"\bact\s+now\b|\boffer\s+ends", [[{"act"}, {"now"}], [{"offer"}, {"ends"}]]),
        # the parser takes the shared "to" out of the group, which then is the alternation
        (r"(?:today|tonight)\s+only", [[{"to"}, {"day"}, {"only"}], [{"to"}, {"night"}, {"only"}]]),
        (r"x(?:today|now)?y(?:a|bc)+", [[{"x"}, {"y"}, {"a", "bc"}]]),
        (r"click here|check this", [[{"c"}, {"lick here"}], [{"c"}, {"heck this"}]]),
    ],
)
def test_required_any_keeps_every_part_of_each_alternative(
    pattern: str, expected: list[list[set[str]]]
) -> None:
    got = required_any(re.compile(pattern, re.IGNORECASE))
    assert got is not None and [[set(c) for c in alt] for alt in got] == expected


def test_required_any_is_none_when_one_alternative_needs_no_text() -> None:
    assert required_any(re.compile(r"claim now|\d+")) is None
    assert required_any(re.compile(r"[a-z]+")) is None


def test_every_match_of_a_shipped_pattern_meets_its_requirement() -> None:
    rules = _shipped_text_rules()
    texts = _texts(rules, 600, seed=17)
    met = unmet = 0
    for r in rules:
        for p in r.params["patterns"]:
            req = required_any(p)
            assert req is not None, (r.id, p.pattern)
            for text in texts:
                ok = satisfied(req, _present(req, text))
                met += ok
                unmet += not ok
                if p.search(text):
                    assert ok, (r.id, p.pattern, text)
    assert met > 100 and unmet > 1000


def test_pattern_set_requires_what_one_of_its_patterns_requires() -> None:
    def ps(*patterns: str) -> PatternSet:
        return PatternSet(tuple(re.compile(p, re.IGNORECASE) for p in patterns), _combined)

    got = ps(r"free\s+gift", r"claim now").requirement
    assert got == ((frozenset({"free"}), frozenset({"gift"})), (frozenset({"claim now"}),))
    assert ps(r"free\s+gift", r"\d+").requirement is None  # one pattern can match without a string
    assert ps().requirement == ()  # no pattern: nothing can match


def test_literal_index_finds_every_requirement_a_text_meets_in_one_scan() -> None:
    rng = random.Random(5)

    def strings() -> frozenset[str]:
        return frozenset("".join(rng.choice("abcd") for _ in range(rng.randint(1, 4))) for _ in range(2))

    for _ in range(300):
        reqs = [
            tuple(tuple(strings() for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(1, 3)))
            for _ in range(rng.randint(1, 5))
        ]
        index = LiteralIndex((1 << i, req) for i, req in enumerate(reqs))
        for _ in range(20):
            text = "".join(rng.choice("abcd ") for _ in range(rng.randint(0, 30)))
            want = sum(
                1 << i
                for i, req in enumerate(reqs)
                if any(all(any(s in text for s in clause) for clause in alt) for alt in req)
            )
            assert index.hits(text) == want, (reqs, text)
    # a shorter string inside a longer one at the same place, and one that starts inside it
    one = lambda *s: ((frozenset(s),),)  # noqa: E731
    index = LiteralIndex(
        [
            (1, one("gift")),
            (2, one("gift card")),
            (4, one("card")),
            (8, ((frozenset({"ift"}), frozenset({"x"})),)),
        ]
    )
    assert index.hits("free gift card") == 7
    assert index.hits("a gift") == 1
    assert LiteralIndex([]).hits("anything") == 0
