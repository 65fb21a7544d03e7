"""Domains that imitate the organisation's own (or its partners') domains.

``Brand`` holds the protected registrable domains and their labels (``northwind`` for
``northwind.com``). ``lookalike(domain, brand)`` says how a foreign domain imitates one:
the same label under another suffix, a homoglyph or confusable spelling (``n0rthwind``,
``northwlnd``, punycode, the Cyrillic, Greek, Armenian and Cherokee look-alikes that
``confusables`` reads), a one- or two-letter typo, or a protected
domain used as a sub-domain of a foreign one (``northwind.com.evil.io``).
``embeds_brand`` finds the brand inside a longer foreign domain (``northwind-support.com``,
``claim.northwind.io``), which is weaker evidence on its own: organisations register
campaign domains too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from sentinel.engine import confusables

_ASCII = {
    "0": "o",
    "1": "l",
    "i": "l",
    "|": "l",
    "!": "l",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "$": "s",
    "@": "a",
}
"""ASCII characters people (and fonts) confuse, mapped to one representative."""
_MORE = {"ε": "e", "κ": "k", "τ": "t", "χ": "x", "ɡ": "g", "ı": "l", "ɩ": "l"}
"""Look-alikes in domains that Unicode's confusables data pairs with no single ASCII letter."""


@cache
def _fold() -> dict[int, str]:
    """Every confusable character mapped to its representative: the ASCII ones, and each
    look-alike letter of the scripts ``confusables`` reads (Cyrillic, Greek, Armenian,
    Cherokee) through the ASCII letter it imitates (Cyrillic і is i, so l)."""
    out = {ord(k): v for k, v in _ASCII.items()}
    for k, v in [*((chr(c), a) for c, a in confusables.table().items()), *_MORE.items()]:
        out[ord(k)] = _ASCII.get(v.lower(), v.lower())
    for c in confusables.table():
        # A domain is lower case (IDNA folds it): Cherokee's small letters are its capitals'
        # shapes, so they imitate what the capitals do.
        small = ord(chr(c).lower())
        if small != c and small not in out and unicodedata.name(chr(c)).startswith("CHEROKEE"):
            out[small] = out[c]
    return out


_MULTI = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("nn", "m"))


def skeleton(label: str) -> str:
    """A label reduced to what it looks like: confusable characters folded, hyphens dropped."""
    s = label.lower().translate(_fold()).replace("-", "").replace("_", "")
    for a, b in _MULTI:
        s = s.replace(a, b)
    return s


def decode_idn(host: str) -> str:
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna")
            except UnicodeError:
                pass
        labels.append(label)
    return ".".join(labels)


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Damerau-Levenshtein (adjacent transpositions), stopping early past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


@dataclass(frozen=True)
class Brand:
    """The protected domains: registrable domains and their distinctive labels."""

    domains: frozenset[str]
    labels: frozenset[str]

    @classmethod
    def of(cls, domains: Iterable[str]) -> Brand:
        from sentinel.engine.links import registrable_domain

        regs = set()
        for d in domains:
            d = d.strip().lower().strip(".")
            if not d:
                continue
            r = registrable_domain(d) or d
            regs.add(r)
        labels = set()
        for r in regs:
            label = r.split(".", 1)[0]
            if len(label) >= 4:
                labels.add(label)
        return cls(domains=frozenset(regs), labels=frozenset(labels))

    def owns(self, domain: str | None) -> bool:
        return domain is not None and domain in self.domains


@lru_cache(maxsize=16384)
def _lookalike(host: str, domain: str, domains: frozenset[str], labels: frozenset[str]) -> str | None:
    shown = decode_idn(host)
    label = decode_idn(domain).split(".", 1)[0]
    for d in domains:
        if host.startswith(d + ".") or (f".{d}." in f".{host}" and not host.endswith("." + d) and host != d):
            return f"{host} puts {d} in front of the foreign domain {domain}"
    sk = skeleton(label)
    for brand in labels:
        if label == brand:
            return f"{domain} uses the label {brand!r} under another suffix"
        if sk == skeleton(brand):
            return f"{shown} spells {brand!r} with look-alike characters"
        if len(brand) >= 5:
            limit = 1 if len(brand) < 9 else 2
            if edit_distance(sk, skeleton(brand), limit) <= limit:
                return f"{shown} is a near-miss spelling of {brand!r}"
    return None


def lookalike(host: str, domain: str | None, brand: Brand) -> str | None:
    """Why ``host`` imitates a protected domain, or None."""
    if domain is None or domain in brand.domains:
        return None
    return _lookalike(host, domain, brand.domains, brand.labels)


def embeds_brand(host: str, domain: str | None, brand: Brand) -> str | None:
    """The brand label found inside a foreign host (``northwind-help.com``), or None."""
    if domain is None or domain in brand.domains:
        return None
    return _embedded(host, brand.labels)


@lru_cache(maxsize=16384)
def _embedded(host: str, labels: frozenset[str]) -> str | None:
    flat = skeleton(decode_idn(host))
    for label in labels:
        if len(label) >= 5 and skeleton(label) in flat:
            return label
    return None
