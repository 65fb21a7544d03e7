"""Content detectors: what the post says, whoever posts it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from hashlib import sha256
from typing import Any, Generic, TypeVar

from sentinel.engine.context import Context
from sentinel.engine.detectors.base import Hit, Param, detector, quote
from sentinel.engine.prefilter import PatternSet

_T = TypeVar("_T")

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_INDEX = {c: i for i, c in enumerate(_BECH32)}

_WALLET_SHAPES = (
    ("Bitcoin (bech32)", r"(?i:(?:bc1|tb1)[ac-hj-np-z02-9]{11,87})"),
    ("Bitcoin", r"[13][1-9A-HJ-NP-Za-km-z]{25,34}"),
    ("Ethereum/EVM", r"0x[0-9a-fA-F]{40}"),
    ("Tron", r"T[1-9A-HJ-NP-Za-km-z]{33}"),
    ("Litecoin", r"(?:ltc1[ac-hj-np-z02-9]{11,87}|[LM][1-9A-HJ-NP-Za-km-z]{26,33})"),
    ("Monero", r"4[0-9AB][1-9A-HJ-NP-Za-km-z]{93}"),
)
"""Each kind's address shape. An address is a whole word (no word character on either side),
so the text is scanned once for any shape and each word found is then matched per kind."""
_WALLETS = tuple((kind, re.compile(shape)) for kind, shape in _WALLET_SHAPES)
_ANY_WALLET = re.compile(r"(?<!\w)(?:" + "|".join(shape for _, shape in _WALLET_SHAPES) + r")(?!\w)")


def _base58check(s: str) -> bool:
    n = 0
    for c in s:
        n = n * 58 + _B58_INDEX[c]
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    raw = b"\x00" * (len(s) - len(s.lstrip("1"))) + raw
    if len(raw) < 5:
        return False
    body, check = raw[:-4], raw[-4:]
    return sha256(sha256(body).digest()).digest()[:4] == check


def _bech32_ok(s: str) -> bool:
    s = s.lower()
    hrp, _, data = s.rpartition("1")
    if not hrp or len(data) < 6:
        return False
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    values = [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp] + [_BECH32_INDEX[c] for c in data]
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk in (1, 0x2BC830A3)  # bech32, bech32m


def _verified(kind: str, addr: str) -> bool:
    try:
        if kind.endswith("(bech32)") or addr.lower().startswith("ltc1"):
            return _bech32_ok(addr)
        if kind in ("Bitcoin", "Tron", "Litecoin"):
            return _base58check(addr)
    except KeyError:
        return False
    return kind == "Ethereum/EVM" and addr[2:] not in (addr[2:].lower(), addr[2:].upper())


MAX_WALLETS = 16
"""Distinct address-shaped strings whose checksum the engine verifies in one post: past it,
the rest count as verified (a post with that many is no accident), and the work stays bounded."""


def find_wallets(text: str, limit: int | None = None) -> list[tuple[str, str, bool]]:
    """(kind, address, checksum verified) for every cryptocurrency address shape in ``text``,
    kind by kind, each in text order; with ``limit``, each distinct address once, and past
    ``limit`` of them unverified ones are taken as verified without the checksum's cost."""
    seen: set[str] = set()
    found: list[tuple[int, int, str, str]] = []
    for m in _ANY_WALLET.finditer(text):
        addr = m.group(0)
        if limit is not None:
            if addr in seen:
                continue
            seen.add(addr)
        for i, (kind, shape) in enumerate(_WALLETS):
            if shape.fullmatch(addr):
                found.append((i, m.start(), kind, addr))
    found.sort()
    return [
        (kind, addr, (limit is not None and n >= limit) or _verified(kind, addr))
        for n, (_, _, kind, addr) in enumerate(found)
    ]


@detector(
    "crypto_wallet",
    "A cryptocurrency wallet address in the post. Addresses whose checksum verifies, and segwit "
    "addresses of the standard lengths, count fully; other address-shaped strings count "
    "``unverified_factor``.",
    {"unverified_factor": Param("float", 0.6, "share of the score for an address-shaped string")},
)
def crypto_wallet(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    text = ctx.event.text
    if len(text) >= 26 and not text.isascii():
        text = ctx.content()  # an address split by invisible characters or look-alike letters reads as one
    if len(text) < 26:
        return None
    found = find_wallets(text, MAX_WALLETS)
    if not found:
        return None
    best = 0.0
    shown = ""
    for kind, addr, ok in found:
        standard = kind.endswith("(bech32)") and len(addr) in (42, 62)
        factor = 1.0 if ok or standard or kind == "Ethereum/EVM" else p["unverified_factor"]
        if factor > best:
            best, shown = (
                factor,
                f"{kind} address {addr[:10]}…{addr[-4:]}" + ("" if ok else " (checksum not verified)"),
            )
    return shown, best


@detector(
    "mixed_script",
    'Words that mix Latin letters with look-alike letters of another script ("сlаim" with a '
    "Cyrillic с and а): nobody writes a word so but to slip it past the content rules. Counts "
    "words that read as Latin words once folded; a post in Russian or Greek has none.",
    {"min_words": Param("int", 1, "how many such words the post must hold")},
    requires=frozenset({"non_ascii"}),
)
def mixed_script(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    words = ctx.reading.disguised
    if len(words) < max(1, p["min_words"]):
        return None
    shown = ", ".join(repr(quote(w, 40)) for w in dict.fromkeys(words))
    return f"spells {shown} with look-alike letters of another script", 1.0


@detector(
    "text_pattern",
    "The text matches regular expressions (case-insensitive); rule files hold the phrases.",
    {
        "patterns": Param("regex_list", [], "regular expressions; any match counts"),
        "min_matches": Param("int", 1, "how many different patterns must match"),
        "include_links": Param("bool", False, "also search inside links"),
    },
    literals=lambda p: (p["include_links"], _rule_patterns(p["patterns"]).requirement),
)
def text_pattern(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    text = ctx.content(p["include_links"])
    gate, candidates = _rule_patterns(p["patterns"]).select(text)
    if not candidates or (gate is not None and not gate.search(text)):
        return None
    hits = []
    for pattern in candidates:
        m = pattern.search(text)
        if m:
            hits.append(m.group(0))
            if len(hits) >= p["min_matches"]:
                break
    if not hits or len(hits) < max(1, p["min_matches"]):
        return None
    return "says " + ", ".join(repr(quote(h, 40)) for h in hits), 1.0


@lru_cache(maxsize=256)
def _combined(patterns: tuple[re.Pattern[str], ...]) -> re.Pattern[str]:
    """One alternation of all patterns: a single scan tells whether any matches."""
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE)


class _ByIdentity(Generic[_T]):
    """``build(patterns)`` remembered per rule's own patterns tuple, looked up by identity.

    Hashing a tuple of compiled patterns hashes each one's whole compiled program, which costs
    more than the scan it guards; a rule's parameters are built once, so identity is enough.
    """

    def __init__(self, build: Callable[[tuple[re.Pattern[str], ...]], _T]) -> None:
        self._build = build
        self._memo: dict[int, tuple[tuple[re.Pattern[str], ...], _T]] = {}

    def __call__(self, patterns: tuple[re.Pattern[str], ...]) -> _T:
        got = self._memo.get(id(patterns))
        if got is not None and got[0] is patterns:
            return got[1]
        combined = self._build(patterns)
        if len(self._memo) >= 1024:
            self._memo.clear()
        self._memo[id(patterns)] = (patterns, combined)  # holding the tuple keeps its id unique
        return combined


_rule_patterns: _ByIdentity[PatternSet] = _ByIdentity(lambda patterns: PatternSet(patterns, _combined))
"""Each rule's patterns with their literal prefilters, worked out once per rule set."""


_INJECTION = tuple(
    re.compile(x, re.IGNORECASE)
    for x in (
        r"<\s*script\b",
        r"<\s*/\s*script\s*>",
        r"<\s*(?:iframe|object|embed|svg|math|base|meta|link|form)\b[^>]*>",
        r"<\s*[a-z]+[^>]*\son[a-z]+\s*=",
        r"\bjavascript\s*:",
        r"\bvbscript\s*:",
        r"\bdata\s*:\s*text/html",
        r"document\s*\.\s*(?:cookie|write|location)",
        r"\beval\s*\(",
        r"\$\(\s*['\"][^'\"]+['\"]\s*\)\s*\.",
        r"\{\{.*\}\}|\$\{[^}]*\}",
    )
)


_injection_combined: _ByIdentity[re.Pattern[str]] = _ByIdentity(
    lambda extra: _combined((*_INJECTION, *extra))
)
_injection_patterns: _ByIdentity[PatternSet] = _ByIdentity(
    lambda extra: PatternSet((*_INJECTION, *extra), _combined)
)


@detector(
    "html_injection",
    "Script or HTML injection markup (script tags, event handlers, javascript: URLs, template injection).",
    {"patterns": Param("regex_list", [], "extra patterns on top of the built-in ones")},
    literals=lambda p: (True, _injection_patterns(p["patterns"]).requirement),
)
def html_injection(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    text = ctx.event.text
    if "<" not in text and ":" not in text and "(" not in text and "{" not in text:
        return None
    if not _injection_combined(p["patterns"]).search(text):
        return None
    for pattern in (*_INJECTION, *p["patterns"]):
        m = pattern.search(text)
        if m:
            return f"injection markup {quote(m.group(0), 40)!r}", 1.0
    return None
