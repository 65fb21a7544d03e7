"""Near-duplicate text: normalisation and MinHash signatures with LSH band keys.

Two posts are "the same message" when their normalised word shingles overlap a lot
(Jaccard similarity). ``signature(text)`` returns an exact key for the normalised text and
a 16-value MinHash; ``band_keys`` splits it into 8 bands of 2 values, so any pair whose
similarity is around 0.5 or more shares a band with high probability (the candidates are
then compared on the signature). Hashes are BLAKE2b, so signatures are stable across
processes and can be persisted.
"""

from __future__ import annotations

import itertools
import operator
import re
import struct
import unicodedata
from dataclasses import dataclass, field
from hashlib import blake2b

N_HASHES = 16
BANDS = 8
ROWS = N_HASHES // BANDS
_UNPACK = struct.Struct(f"<{N_HASHES}I").unpack
_URL = re.compile(r"(?i)\b(?:https?|hxxps?|ftp)://\S+")
_MENTION = re.compile(r"(?<!\w)[@#][\w.]+")
_NON_WORD = re.compile(r"[^\w]+")
_DIGITS = re.compile(r"\d+")


def normalise(text: str, keep_links: bool = True) -> str:
    """Lower-case words without punctuation, mentions, hashtags or digits; links kept as host/path."""
    t = text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).lower()
    links = _URL.findall(t) if keep_links else []
    t = _URL.sub(" ", t)
    t = _MENTION.sub(" ", t)
    t = _DIGITS.sub("0", t)
    words = _NON_WORD.sub(" ", t).split()
    for link in links:
        words.append(link.split("://", 1)[-1].rstrip(".,;:!?)"))
    return " ".join(words)


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
    return tuple(hash((i, m[i * ROWS], m[i * ROWS + 1])) for i in range(BANDS))


def _h64(s: str) -> int:
    return int.from_bytes(blake2b(s.encode(), digest_size=8).digest(), "little")


def _row(s: str) -> tuple[int, ...]:
    return _UNPACK(blake2b(s.encode(), digest_size=64).digest())


def signature(text: str) -> Signature:
    norm = normalise(text)
    items = shingles(norm)
    if not items:
        items = [""]
    rows = list(map(_row, items))
    mins = tuple(map(min, zip(*rows, strict=True)))
    return Signature(exact=_h64(norm), minhash=mins, words=len(norm.split()), bands=_band_keys(mins))


def text_key(text: str) -> int:
    """A key for the words of ``text`` without its links (to compare gate and published text)."""
    return _h64(normalise(text, keep_links=False))
