"""How long a post a platform takes, and how Sentinel counts a text against it.

Each adapter's ``PlatformInfo.text_limit`` is the platform's documented maximum for a post's
text (``maximum`` in ``unit``: ``characters`` or ``graphemes``; Bluesky also bounds the UTF-8
bytes). The gate, the broker, the held-post approval and ``sentinel rules explain`` refuse a
text past it before the engine sees it: no platform would publish it.

Platforms count differently (X weighs an emoji as 2 and every link as 23, Threads counts an
emoji's UTF-8 bytes, Mastodon counts graphemes with links as 23, others UTF-16 units or code
points), and refusing a post the platform would take is the failure to avoid. So Sentinel
counts every text by one measure that is never more than any of theirs: a lower bound on
its extended grapheme clusters (UAX #29; a code point that could continue the cluster
before it is not counted), in which a word that may be a link (it holds a dot or ``://``)
counts at most ``link_length`` when the platform shortens links, and a Mastodon mention's
``@domain`` not at all. A text can only be *under*-counted, so a limit is never tighter
than the platform's own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

Unit = Literal["characters", "graphemes"]

MAX_LINK = 4096
"""A link-like word longer than this is counted whole: no platform shortens such a word."""
_REMOTE_MENTION = re.compile(r"@[^\s@]+(@[^\s@]+)")
# Code points that join the cluster before them (UAX #29 Extend, ZWJ, SpacingMark; Prepend
# joins the one after): combining marks of every kind and format characters (ZWJ, ZWNJ,
# tags, Arabic number signs) by category, the rest by value.
_JOINING_CATEGORIES = frozenset({"Mn", "Mc", "Me", "Cf"})
_JOINING_VALUES = "\u0e33\u0eb3\uff9e\uff9f\u0d4e"
# Outside the Basic Multilingual Plane, whole blocks that hold combining marks count as
# joining (their letters too: historic scripts, counted low, never high), and the emoji
# skin-tone modifiers. Few ranges, so the scan stays fast.
_ASTRAL_JOINING = (
    "\U00010100-\U00011fff\U00013400-\U000134ff\U00016a00-\U00016fff\U0001bc00-\U0001bcff"
    "\U0001cf00-\U0001cfff\U0001d100-\U0001d2ff\U0001da00-\U0001daff\U0001e000-\U0001e9ff"
    "\U0001f3fb-\U0001f3ff\U000e0000-\U000e0fff"
)
_HANGUL = "\u1100-\u11ff\ua960-\ua97f\uac00-\ud7ff"
_JAMO = "\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff"


@dataclass(frozen=True, slots=True)
class _Patterns:
    joining: re.Pattern[str]
    after_joiner: re.Pattern[str]
    sticky: re.Pattern[str]
    astral_joining: re.Pattern[str] = re.compile(f"[{_ASTRAL_JOINING}]")
    flag_pair: re.Pattern[str] = re.compile("[\U0001f1e6-\U0001f1ff]{2}")
    jamo: re.Pattern[str] = re.compile(f"(?<=[{_HANGUL}])[{_JAMO}]")


@cache
def _long_links(link_length: int) -> re.Pattern[str]:
    """Words longer than ``link_length`` (up to ``MAX_LINK``) that may be links: a dot or a
    colon in them, not a mention. Each match starts at a word's start, so a long word costs
    its length, not its square."""
    return re.compile(f"(?<!\\S)(?!@)(?=\\S*[.:])\\S{{{link_length + 1},{MAX_LINK}}}(?!\\S)")


def _ranges(points: list[int]) -> str:
    """A character-class body for sorted code points, consecutive ones as ranges (a class of
    ranges is matched far faster than one listing thousands of characters)."""
    out, i = [], 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        first, last = re.escape(chr(points[i])), re.escape(chr(points[j]))
        out.append(first if i == j else f"{first}-{last}")
        i = j + 1
    return "".join(out)


@cache
def _patterns() -> _Patterns:
    """Built once, on the first text that is not ASCII (about 10 ms). The classes hold only
    Basic Multilingual Plane code points, which the ``re`` module matches by bitmap."""
    joining: list[int] = []
    viramas: list[int] = []
    for cp in range(0x80, 0x10000):
        ch = chr(cp)
        if unicodedata.category(ch) in _JOINING_CATEGORIES:
            joining.append(cp)
        if unicodedata.combining(ch) == 9:
            viramas.append(cp)
    # a letter after a ZWJ (emoji sequences) or a virama (Indic conjuncts) may continue its
    # cluster: whatever follows one is not counted
    return _Patterns(
        re.compile(f"[{_ranges(joining)}{_JOINING_VALUES}]"),
        re.compile(f"[\u200d{_ranges(viramas)}].", re.DOTALL),
        re.compile(f"[\u200d{_ranges(viramas)}{_HANGUL}\U0001f1e6-\U0001f1ff]"),
    )


CHUNK = 8_192
"""Code points counted per regular-expression call: each call holds the interpreter for a
few milliseconds at most, so a count in a worker thread leaves the event loop its turns."""
_LAST_SPACE = re.compile(r"[^\S\r](?=\S*\Z)")


def _pieces(text: str) -> Iterator[tuple[str, int]]:
    """``text`` in pieces of at most ``CHUNK`` code points, each cut after a space where one
    is within ``MAX_LINK`` of the cut (so no link is split; a longer word is no link), with
    what the cut before it may have counted twice: 1 when the previous piece ends in a code
    point that can join the next one (ZWJ, virama, CR, Hangul, half a flag), else 0."""
    start, slack = 0, 0
    while start < len(text):
        end = min(start + CHUNK, len(text))
        if end < len(text):
            space = _LAST_SPACE.search(text, max(start, end - MAX_LINK), end)
            if space is not None:
                end = space.end()
        yield text[start:end], slack
        last = text[end - 1]
        slack = 1 if last == "\r" or (not last.isascii() and _patterns().sticky.match(last)) else 0
        start = end


def _graphemes(piece: str) -> int:
    """A lower bound on the grapheme clusters of one piece (see ``min_graphemes``)."""
    n = len(piece) - piece.count("\r\n")
    if piece.isascii():
        return n
    p = _patterns()
    patterns = [p.joining, p.after_joiner, p.jamo]
    if max(piece) > "\uffff":
        patterns += (p.astral_joining, p.flag_pair)
    for pattern in patterns:
        n -= pattern.subn("", piece)[1]
    return n


def min_graphemes(text: str) -> int:
    """A lower bound on the extended grapheme clusters of ``text`` (UAX #29): exact for plain
    text, combining marks, emoji ZWJ sequences, modifiers, variation selectors and flags; it
    may count fewer (never more) around Hangul jamo, Indic conjuncts, control characters and
    cuts between pieces. Linear: a few regular-expression scans per piece, no Python loop
    over the text's characters."""
    return max(sum(_graphemes(piece) - slack for piece, slack in _pieces(text)), 0)


@dataclass(frozen=True, slots=True)
class TextLimit:
    """A platform's documented maximum length of a post's text."""

    maximum: int
    unit: Unit
    source: str
    """Where the platform documents it."""
    link_length: int | None = None
    """Every link counts this many (X, Mastodon: 23), however long it is."""
    max_bytes: int | None = None
    """A second bound in UTF-8 bytes (Bluesky: 3,000)."""
    remote_mentions_free: bool = False
    """``@user@domain`` counts as ``@user`` (Mastodon)."""
    note: str = ""
    """What the number does not say (tiers, per-instance settings, what was not verified)."""

    def given_back(self, text: str) -> int:
        """What the platform leaves out of its count: each link-like word past
        ``link_length`` gives back its code points beyond it (no fewer than its graphemes),
        a remote mention its ``@domain``."""
        n = 0
        if self.remote_mentions_free:
            n += sum(map(len, _REMOTE_MENTION.findall(text)))
        if self.link_length is not None:
            links = _long_links(self.link_length).findall(text)
            n += sum(map(len, links)) - self.link_length * len(links)
        return n

    def _counts(self, text: str) -> Iterator[int]:
        for piece, slack in _pieces(text):
            yield _graphemes(piece) - self.given_back(piece) - slack

    def length(self, text: str) -> int:
        """``text``'s length as Sentinel counts it for this platform: never more than the
        platform's own count (see the module's docstring)."""
        return max(sum(self._counts(text)), 0)

    def excess(self, text: str) -> str:
        """Why ``text`` is too long for the platform, or ``""`` when it fits. Linear in the
        text, piece by piece, and it stops at the piece that passes the limit."""
        if len(text) <= self.maximum and (self.max_bytes is None or len(text) * 4 <= self.max_bytes):
            return ""  # no count exceeds the code points, nor the UTF-8 bytes four per code point
        if self.max_bytes is not None:
            size = len(text.encode("utf-8", "surrogatepass"))
            if size > self.max_bytes:
                return f"is {size} bytes of UTF-8, over the {self.max_bytes} the platform takes"
        if len(text) <= self.maximum:
            return ""
        n = 0
        for count in self._counts(text):
            n += count
            if n > self.maximum:
                return f"is longer than the {self.maximum} {self.unit} the platform takes"
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "maximum": self.maximum,
            "unit": self.unit,
            "link_length": self.link_length,
            "max_bytes": self.max_bytes,
            "source": self.source,
            "note": self.note,
        }


UNDECLARED = TextLimit(100_000, "characters", "", note="the platform documents no maximum here")
"""For a platform that declares none: the API's own bound on a text."""
