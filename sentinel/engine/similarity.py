"""Near-duplicate text: normalisation and MinHash signatures with LSH band keys.

Two posts are "the same message" when their normalised word shingles overlap a lot
(Jaccard similarity). ``signature(text)`` returns an exact key for the normalised text and
a 16-value MinHash; ``band_keys`` splits it into 8 bands of 2 values, so any pair whose
similarity is around 0.5 or more shares a band with high probability (the candidates are
then compared on the signature). Hashes are BLAKE2b, so signatures are stable across
processes and can be persisted. Words disguised in look-alike letters are read as the Latin
words they imitate (``confusables.read``), so "frее NFT" with Cyrillic е signs as "free NFT",
and invisible characters that can only be hiding something are dropped (``unhide``), so
"fr\u200bee cl\u2063aim" signs as "free claim".
"""

from __future__ import annotations

import itertools
import operator
import re
import struct
import unicodedata
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from hashlib import blake2b

from sentinel.engine import confusables
from sentinel.engine.links import BIDI, INVISIBLE, VARIATION

N_HASHES = 16
BANDS = 8
ROWS = N_HASHES // BANDS
_UNPACK = struct.Struct(f"<{N_HASHES}I").unpack
_URL_SPLIT = re.compile(r"(?i)(\b(?:https?|hxxps?|ftp)://\S+)")
_MENTION = re.compile(r"(?<!\w)[@#][\w.]+")
_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")

_NEVER_IN_TEXT = (
    "\u180e\u2060-\u2064\u202a-\u202e\u2066-\u206f\ufeff\ufff0-\ufff8"
    "\U000e0000-\U000e00ff\U000e01f0-\U000e0fff"
)
"""Invisible characters no script writes with: the Mongolian vowel separator (a format
character no more), the word joiner and the invisible mathematical operators, the bidirectional
embeddings, overrides and isolates, deprecated format characters, a byte-order mark inside a
text, the tag characters and unassigned default-ignorables. None can stand between two letters
of a word but to hide something: they go wherever they are."""
_UNJOINED = (
    f"0-9_{confusables.LATIN}\u0300-\u036f\u0370-\u03ff\u1f00-\u1fff\u0400-\u052f\u1c80-\u1c8f"
    "\u2de0-\u2dff\ua640-\ua69f\u0531-\u058f\u13a0-\u13ff\uab70-\uabbf"
)
"""Digits and the letters of the alphabets that write no invisible character inside a word
(Latin, Greek, Cyrillic, Armenian, Cherokee: the look-alikes' scripts, with combining
diacritics). Zero-width joiners and non-joiners belong to scripts that shape letters (Arabic and
Persian, the Indic scripts) and to emoji sequences, zero-width spaces to scripts written without
spaces (Thai, Khmer, Japanese), variation selectors to emoji and ideographs: any of them between
two of these characters splits a word for the eye only."""
_HIDING = re.compile(
    f"(?<=[{_UNJOINED}])[{INVISIBLE}{VARIATION}{BIDI}]++(?=[{_UNJOINED}])|[{_NEVER_IN_TEXT}]+"
)
_HIDDEN = re.compile(f"[{INVISIBLE}{VARIATION}{BIDI}]")


def unhide(text: str) -> str:
    """``text`` (NFKC) without the invisible characters that can only be hiding something.

    Those that no script writes with go anywhere; the others go between two digits or letters of
    Latin, Greek, Cyrillic, Armenian or Cherokee ("fr\u200bee", "fr\u200cее"), and stay where a
    script or an emoji sequence uses them (a Persian ZWNJ, a Devanagari ZWJ, a family emoji's
    ZWJ, a Thai zero-width space). A text without invisible characters is returned as it is.
    """
    if _HIDDEN.search(text) is None:
        return text
    return _HIDING.sub("", unicodedata.normalize("NFKC", text))


def normalise(text: str, keep_links: bool = True) -> str:
    """Lower-case words without punctuation, mentions, hashtags or digits; links kept as host/path."""
    with_links, without = _normalised(text)
    return with_links if keep_links else without


@lru_cache(maxsize=4096)
def _normalised(text: str) -> tuple[str, str]:
    """The text normalised with and without its links, worked out together.

    Cached: a gate check's text is normalised for its signature and its text key, and the
    published copy of an allowed check has the same text again seconds later.
    """
    # Non-ASCII text is read as the content rules read it: NFKC, then words disguised in
    # look-alike letters in the Latin letters they imitate, so disguised copies of one message
    # sign as it does. Invisible characters splitting a word go first, so that copies split
    # differently sign as one. ASCII text and words really written in another script stay as they are.
    t = text.lower() if text.isascii() else confusables.read(unhide(text)).text.lower()
    links: list[str] = []
    if "://" in t:  # every link the pattern finds has a scheme
        parts = _URL_SPLIT.split(t)  # text, link, text, ..., text: one scan for both
        if len(parts) > 1:
            links = parts[1::2]
            t = " ".join(parts[::2])
    if "@" in t or "#" in t:
        t = _MENTION.sub(" ", t)
    if not t.isascii() or any(d in t for d in "0123456789"):
        t = _DIGITS.sub("0", t)
    words = _WORD.findall(t)
    without = " ".join(words)
    if not links:
        return without, without
    for link in links:
        words.append(link.split("://", 1)[-1].rstrip(".,;:!?)"))
    return " ".join(words), without


def shingles(norm: str) -> list[str]:
    words = norm.split()
    if len(words) < 3:
        return words
    return [f"{a} {b}" for a, b in itertools.pairwise(words)]


@dataclass(frozen=True, slots=True)
class Signature:
    exact: int
    minhash: tuple[int, ...]
    words: int
    bands: tuple[int, ...] = field(default=(), compare=False)
    """The LSH band keys (worked out once, in ``signature``)."""

    def similarity(self, other: Signature) -> float:
        if self.exact == other.exact:
            return 1.0
        if len(self.minhash) != len(other.minhash):
            raise ValueError("signatures of different lengths")
        return float(sum(map(operator.eq, self.minhash, other.minhash))) / N_HASHES

    def band_keys(self) -> tuple[int, ...]:
        return self.bands or _band_keys(self.minhash)


def _band_keys(m: tuple[int, ...]) -> tuple[int, ...]:
    if BANDS == 8 and ROWS == 2:  # unrolled: the same keys as the loop below
        return (
            hash((0, m[0], m[1])),
            hash((1, m[2], m[3])),
            hash((2, m[4], m[5])),
            hash((3, m[6], m[7])),
            hash((4, m[8], m[9])),
            hash((5, m[10], m[11])),
            hash((6, m[12], m[13])),
            hash((7, m[14], m[15])),
        )
    return tuple(hash((i, m[i * ROWS], m[i * ROWS + 1])) for i in range(BANDS))


def _h64(s: str) -> int:
    return int.from_bytes(blake2b(s.encode(), digest_size=8).digest(), "little")


def _row(s: str) -> tuple[int, ...]:
    return _UNPACK(blake2b(s.encode(), digest_size=64).digest())


_ROWS: dict[str, tuple[int, ...]] = {}
_ROWS_CAP = 8192
"""Recent shingles' hash rows: common word pairs recur across posts (about 0.7 kB an entry)."""


def _cached_row(s: str) -> tuple[int, ...]:
    row = _ROWS.get(s)
    if row is None:
        row = _row(s)
        if len(_ROWS) >= _ROWS_CAP:
            _ROWS.clear()
        _ROWS[s] = row
    return row


MAX_SHINGLES = 2048
"""Distinct shingles hashed for one signature. A longer text's are sampled by their content
(the ``MAX_SHINGLES`` with the smallest CRC-32), so two copies of a long message keep nearly
the same sample wherever its words are shifted, and the work per post stays bounded."""


def _sample(items: list[str]) -> list[str]:
    crcs = list(map(zlib.crc32, map(str.encode, items)))
    cut = sorted(crcs)[MAX_SHINGLES - 1]
    return [s for s, c in zip(items, crcs, strict=True) if c <= cut]


def signature(text: str) -> Signature:
    norm = normalise(text)
    words = norm.split()
    items = [f"{a} {b}" for a, b in itertools.pairwise(words)] if len(words) >= 3 else (words or [""])
    if len(items) > MAX_SHINGLES:
        # a set's MinHash: a repeated pair changes no minimum, so a long text's are hashed once
        items = list(dict.fromkeys(items))
        if len(items) > MAX_SHINGLES:
            items = _sample(items)
    rows = list(map(_cached_row, items))
    # each of the N_HASHES values: its minimum over the shingles (min of one row's value is itself)
    mins = tuple(map(min, *rows)) if len(rows) > 1 else rows[0]
    return Signature(exact=_h64(norm), minhash=mins, words=len(words), bands=_band_keys(mins))


def text_key(text: str) -> int:
    """A key for the words of ``text`` without its links (to compare gate and published text)."""
    return _h64(normalise(text, keep_links=False))
