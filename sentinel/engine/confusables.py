"""Words written in look-alike letters, read as the Latin words they imitate.

A hijacker writes a lure so that people read it and the content rules do not: "сlаim your
frее NFT" with Cyrillic letters, "𝐯𝐞𝐫𝐢𝐟𝐲 your account" in mathematical bold, "ＡＩＲＤＲＯＰ"
in fullwidth. ``read(text)`` gives the text the content rules match, after Unicode TR39's
idea of a skeleton: NFKC first (fullwidth and mathematical letters become the letters they
are), then the letters of the Cyrillic, Greek, Armenian and Cherokee scripts that Unicode's
confusables data (``confusable_homoglyphs``) lists as an ASCII letter's look-alike.

A real Russian, Greek or Armenian post must not turn into accidental Latin words, so a word
is folded only when it reads as a Latin word:

- it mixes scripts: a Latin letter next to look-alikes, and every other letter a look-alike
  ("frее", "0х742d…"): nobody writes a word so but to disguise it, and such words are
  returned as ``disguised``;
- or it is written in look-alikes alone ("ВТС" for BTC, Greek "ΕΤΗ" for ETH) and the post is
  written in Latin: more of its words (outside its links) are Latin than in any other script. In a Russian post
  "СОСО" or "ВТС", in a Greek one "ΕΤΗ" (years), stays what it is.

A word holding any letter that imitates nothing Latin (most Cyrillic or Greek words) is never
folded, and a text that is all ASCII is returned as it is without any of this work.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache, lru_cache
from importlib.resources import files
from typing import NamedTuple

SCRIPTS = ("CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE")
"""Scripts whose look-alikes of Latin letters are folded."""


class Reading(NamedTuple):
    text: str
    """The text with every word that reads as Latin written in Latin letters."""
    disguised: tuple[str, ...] = ()
    """The Latin spelling of each word that mixed Latin letters with look-alikes, in text order."""


@cache
def table() -> dict[int, str]:
    """Each look-alike letter of ``SCRIPTS`` and the ASCII letter it imitates.

    Unicode's data pairs an upper-case I-like letter with ``l`` (I and l are confusable); a
    capital imitates ``I`` here, because case-insensitive rules read it as an i.
    """
    data = json.loads((files("confusable_homoglyphs") / "confusables.json").read_text("utf-8"))
    out: dict[int, str] = {}
    for char, glyphs in data.items():
        if len(char) != 1 or unicodedata.name(char, "").split(" ", 1)[0] not in SCRIPTS:
            continue
        for glyph in glyphs:
            c = glyph["c"]
            if len(c) == 1 and c.isascii() and c.isalpha():
                out[ord(char)] = "I" if c == "l" and char.isupper() else c
                break
    return out


LATIN = "A-Za-z\u00aa\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02af\u1d00-\u1d25\u1e00-\u1eff\u2c60-\u2c7f\ua722-\ua787\ua78b-\ua7ff\uab30-\uab64\uab66-\uab6f"
"""The Latin letters (the Latin blocks' ranges, as a character-class body) that stay as they are."""


_LINK = re.compile(r"(?i)\b(?:https?|hxxps?|ftp)://\S+")


class _Words(NamedTuple):
    disguise: re.Pattern[str]
    """A word of Latin letters, digits and look-alikes that holds a look-alike."""
    latin: re.Pattern[str]
    """A word of Latin letters, digits and look-alikes that holds a Latin letter."""
    foreign: re.Pattern[str]
    """A word holding a letter of another script that imitates nothing Latin."""
    latin_letter: re.Pattern[str]


@cache
def _words() -> _Words:
    alike = "".join(map(chr, table()))
    allowed = f"0-9_{LATIN}{alike}"
    # Each scans a word once from its start: possessive runs and lazy searches never backtrack
    # over a word, so a hostile long word costs time linear in its length.
    whole = f"(?<!\\w)(?=[{allowed}]*+(?!\\w))"
    return _Words(
        disguise=re.compile(f"{whole}(?=[{allowed}]*?[{alike}])[{allowed}]++"),
        latin=re.compile(f"{whole}[{allowed}]*?[{LATIN}]"),
        foreign=re.compile(f"(?<!\\w)\\w*?[^\\W{allowed}]"),
        latin_letter=re.compile(f"[{LATIN}]"),
    )


def read(text: str) -> Reading:
    """``text`` as the content rules read it (see the module's description)."""
    if text.isascii():
        return Reading(text)
    return _read(text)


@lru_cache(maxsize=4096)
def _read(text: str) -> Reading:
    """``read`` of a text that is not all ASCII. Cached: the content rules and the similarity
    (campaigns, copies) read each post's text."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return Reading(text)
    words = _words()
    fold = table()
    latin_post: bool | None = None  # worked out only for a word of look-alikes alone
    parts: list[str] = []
    disguised: list[str] = []
    end = 0
    for m in words.disguise.finditer(text):
        word = m.group(0)
        mixed = words.latin_letter.search(word) is not None
        if not mixed:
            if latin_post is None:
                # a link's words are Latin whatever the post's language: they do not vote
                voters = _LINK.sub(" ", text) if "://" in text else text
                latin_post = len(words.latin.findall(voters)) > len(words.foreign.findall(voters))
            if not latin_post:
                continue
        folded = word.translate(fold)
        parts += (text[end : m.start()], folded)
        end = m.end()
        if mixed:
            disguised.append(folded)
    if not parts:
        return Reading(text)
    parts.append(text[end:])
    return Reading("".join(parts), tuple(disguised))
