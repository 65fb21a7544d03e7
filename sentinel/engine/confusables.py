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
- or it is written in look-alikes alone ("ВТС", "ΑΙRDRΟP" less its Latin) and the post is
  written in Latin: more of its words are Latin than in any other script. In a Russian post
  "сосо" or "ВТС" stays what it is.

A word holding any letter that imitates nothing Latin (most Cyrillic or Greek words) is never
folded, and a text that is all ASCII is returned as it is without any of this work.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from importlib.resources import files
from typing import NamedTuple

SCRIPTS = ("CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE")
"""Scripts whose look-alikes of Latin letters are folded."""

_WORD = re.compile(r"\w+")


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


def _latin(char: str) -> bool:
    return char.isascii() or unicodedata.name(char, "").startswith("LATIN ")


def read(text: str) -> Reading:
    """``text`` as the content rules read it (see the module's description)."""
    if text.isascii():
        return Reading(text)
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return Reading(text)
    fold = table()
    latin = foreign = 0
    candidates: list[tuple[re.Match[str], str, bool]] = []  # (word, its Latin spelling, mixed)
    for m in _WORD.finditer(text):
        word = m.group(0)
        if word.isascii():
            latin += not word.isdigit()
            continue
        folded = word.translate(fold)
        if not all(_latin(c) for c in folded if c.isalpha()):
            foreign += 1
            continue
        mixed = any(c.isalpha() and _latin(c) for c in word)
        latin += mixed  # a word of look-alikes alone says nothing of the post's language
        if folded != word:
            candidates.append((m, folded, mixed))
    if not candidates:
        return Reading(text)
    latin_post = latin > foreign
    parts: list[str] = []
    disguised: list[str] = []
    end = 0
    for m, folded, mixed in candidates:
        if mixed or latin_post:
            parts += (text[end : m.start()], folded)
            end = m.end()
        if mixed:
            disguised.append(folded)
    parts.append(text[end:])
    return Reading("".join(parts), tuple(disguised))
