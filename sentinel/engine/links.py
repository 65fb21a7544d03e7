"""Finding the links in a post, including the ones written to slip past a filter.

``extract_links(text)`` undoes the usual defanging and hiding first: every character
Unicode draws as nothing (zero-width, fillers, tags, variation selectors) and the
bidirectional controls, ``hxxp``, ``[.]``/``(.)``/``[dot]``, ``[:]``, trailing
punctuation, and scheme-less domains (``evil.example/claim``). Each ``Link`` records
its host, registrable domain (public suffix list, offline) and how it was obfuscated, so
the link rules judge the real target.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from hashlib import blake2b
from urllib.parse import parse_qsl, urlencode

from publicsuffixlist import PublicSuffixList

INVISIBLE = (
    "\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200d\u2060-\u2065\u206a-\u206f\u3164"
    "\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e00ff"
    "\U000e01f0-\U000e0fff"
)
"""Unicode's default-ignorable code points (drawn as nothing) other than the bidirectional
controls and the variation selectors, as a character-class body."""
VARIATION = "\u180b-\u180d\u180f\ufe00-\ufe0f\U000e0100-\U000e01ef"
"""Variation selectors: invisible too, but they follow emoji and Mongolian letters as a matter of course."""
BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_HIDDEN_RE = re.compile(f"[{INVISIBLE}{VARIATION}{BIDI}]")
# An invisible character between two letters/digits/dots is hiding something; one between
# emoji (the zero-width joiner in family emoji) is not, nor is a variation selector alone.
_HIDDEN_INSIDE_RE = re.compile(
    f"(?<=[\\w./:-])[{INVISIBLE}{VARIATION}]*[{INVISIBLE}][{INVISIBLE}{VARIATION}]*(?=[\\w./:-])|[{BIDI}]"
)
_DEFANG = (
    (re.compile(r"(?i)\bh(?:xx|\*\*)p(s?)(\[?:\]?)//"), r"http\1://", "hxxp scheme"),
    (re.compile(r"(?i)\bh(?:xx|\*\*)p(s?)\b"), r"http\1", "hxxp scheme"),
    (re.compile(r"\s?[\[\(\{](?:\.|dot)[\]\)\}]\s?", re.IGNORECASE), ".", "bracketed dot"),
    (re.compile(r"(?i)\[:\]"), ":", "bracketed colon"),
    (re.compile(r"(?i)\[/\]"), "/", "bracketed slash"),
)
_SCHEME_URL = re.compile(r"(?i)\b((?:https?|ftp)://)([^\s<>\"'`]+)")
_BARE_HOST = re.compile(
    r"(?i)(?<![\w@/.-])((?:www\.)?(?:[a-z0-9\u00a1-\uffff](?:[a-z0-9\u00a1-\uffff-]{0,61}[a-z0-9\u00a1-\uffff])?\.)+"
    r"(?:[a-z\u00a1-\uffff]{2,63}|xn--[a-z0-9-]{2,59}))((?::\d{1,5})?(?:/[^\s<>\"'`]*)?)"
)
_TRAILING = ".,;:!?)]}>'\"\u2019\u201d\u2026"
# Suffixes that are also common file extensions: a bare "notes.md" is a file, not a link,
# unless it starts with www. or has a path.
_FILEISH = frozenset(
    {"md", "py", "js", "sh", "zip", "exe", "txt", "pdf", "doc", "png", "jpg", "gif", "rs", "go"}
)
SHORTENERS = frozenset(
    {
        "bit.ly",
        "tinyurl.com",
        "t.co",
        "goo.gl",
        "ow.ly",
        "is.gd",
        "buff.ly",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "tiny.cc",
        "rb.gy",
        "t.ly",
        "bl.ink",
        "lnkd.in",
        "s.id",
        "v.gd",
        "qr.ae",
        "x.co",
        "short.io",
        "soo.gd",
        "clck.ru",
        "shorte.st",
        "adf.ly",
        "bitly.com",
        "tiny.one",
        "urlz.fr",
    }
)


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList(accept_unknown=False)


@lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str | None:
    """``www.bbc.co.uk`` -> ``bbc.co.uk``; None for an IP literal or an unknown suffix."""
    host = host.strip(".").lower()
    if not host or is_ip_literal(host):
        return None
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        ascii_host = host
    found = _psl().privatesuffix(ascii_host)
    return str(found) if found else None


@lru_cache(maxsize=65536)
def public_suffix(host: str) -> str:
    suffix = _psl().publicsuffix(host.strip(".").lower())
    return str(suffix) if suffix else ""


@lru_cache(maxsize=65536)
def is_ip_literal(host: str) -> bool:
    h = host.strip("[]")
    try:
        ipaddress.ip_address(h)
        return True
    except ValueError:
        pass
    # Decimal (http://3232235777/) and hex (http://0xC0A80001/) forms browsers still accept.
    return bool(re.fullmatch(r"(?:0x[0-9a-f]{1,8}|\d{8,10})", h, re.IGNORECASE)) or bool(
        re.fullmatch(
            r"(?:(?:0x[0-9a-f]{1,2}|0\d{1,3}|\d{1,3})\.){3}(?:0x[0-9a-f]{1,2}|0\d{1,3}|\d{1,3})", h, re.I
        )
    )


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    host: str
    domain: str | None
    path: str
    scheme: str
    obfuscation: tuple[str, ...] = ()
    userinfo: str = ""

    @property
    def ip_literal(self) -> bool:
        return is_ip_literal(self.host)

    @property
    def idn(self) -> bool:
        return (not self.host.isascii()) or any(label.startswith("xn--") for label in self.host.split("."))

    @property
    def key(self) -> str:
        """What identifies this link target: the domain, or the whole URL for a shortener."""
        if self.domain in SHORTENERS or not self.domain:
            return f"{self.host}{self.path}".rstrip("/")
        return self.domain


@dataclass(frozen=True, slots=True)
class TextLinks:
    links: tuple[Link, ...]
    hidden_chars: int
    defanged: tuple[str, ...]
    clean_text: str
    unexamined: bool = False
    """More distinct links than ``extract_links`` was asked to examine: the rest were not."""


MAX_LINKS = 100
"""Distinct links the engine examines in one post. A post with more is a filter-evasion
attempt in itself (``obfuscated_link`` says so), and examining each costs the event loop:
past this the work per post stays bounded however long an observed post is."""


def _refang(text: str) -> tuple[str, list[str]]:
    kinds: list[str] = []
    for pattern, repl, name in _DEFANG:
        new = pattern.sub(repl, text)
        if new != text:
            if name not in kinds:
                kinds.append(name)
            text = new
    return text, kinds


def _split(rest: str) -> tuple[str, str, str]:
    """``user@host:port/path`` -> (userinfo, host, path)."""
    cut = len(rest)
    for ch in "/?#":
        i = rest.find(ch)
        if i != -1:
            cut = min(cut, i)
    authority, path = rest[:cut], rest[cut:]
    userinfo = ""
    if "@" in authority:
        userinfo, authority = authority.rsplit("@", 1)
    host = authority
    if host.startswith("["):
        end = host.find("]")
        host = host[: end + 1] if end != -1 else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return userinfo, host.lower().strip("."), path


def extract_links(text: str, limit: int | None = None) -> TextLinks:
    """Every link in ``text``, hidden or defanged ones included; with ``limit``, the first
    ``limit`` distinct ones (``unexamined`` says whether there were more)."""
    has_hidden = not text.isascii() and _HIDDEN_RE.search(text) is not None
    hidden = len(_HIDDEN_INSIDE_RE.findall(text)) if has_hidden else 0
    clean = _HIDDEN_RE.sub("", text) if has_hidden else text
    kinds: list[str] = []
    if "xx" in clean.lower() or "[" in clean or "(" in clean or "{" in clean or "**" in clean:
        clean, kinds = _refang(clean)
    found = _Found(limit, tuple(kinds) + (("hidden characters",) if hidden else ()))
    complete = ("://" not in clean or _scheme_links(clean, found)) and (
        "." not in clean or _bare_links(clean, found)
    )
    return TextLinks(tuple(found.links), hidden, tuple(kinds), clean, unexamined=not complete)


class _Found:
    """The links found so far; with ``limit``, only the first ``limit`` distinct ones."""

    def __init__(self, limit: int | None, obfuscation: tuple[str, ...]) -> None:
        self.limit = limit
        self.obfuscation = obfuscation
        """How the whole text was obfuscated (every link's obfuscation starts with it)."""
        self.links: list[Link] = []
        self.seen: set[str] = set()
        self.spans: list[tuple[int, int]] = []
        """Where the links with a scheme are, in text order (they do not overlap)."""
        self.starts: list[int] = []

    def repeat(self, key: str) -> bool:
        """With a limit: ``key`` was examined already."""
        return self.limit is not None and key in self.seen

    def room(self, key: str) -> bool:
        """Whether ``key`` may be examined (then it counts towards the limit)."""
        if self.limit is None:
            return True
        if len(self.seen) == self.limit:
            return False
        self.seen.add(key)
        return True

    def in_scheme_link(self, pos: int) -> bool:
        # only the last span starting at or before ``pos`` can hold it (a bisection)
        i = bisect.bisect_right(self.starts, pos) - 1
        return i >= 0 and self.spans[i][0] <= pos < self.spans[i][1]


def _scheme_links(clean: str, found: _Found) -> bool:
    """The links with a scheme; False when the limit stopped the scan."""
    for m in _SCHEME_URL.finditer(clean):
        rest = m.group(2).rstrip(_TRAILING)
        if not rest:
            continue
        userinfo, host, path = _split(rest)
        if not host:
            continue
        found.spans.append((m.start(), m.start() + len(m.group(1)) + len(rest)))
        found.starts.append(m.start())
        url = m.group(1).lower() + rest
        if found.repeat(url):
            continue
        if not found.room(url):
            return False
        found.links.append(
            Link(
                url=url,
                host=host,
                domain=registrable_domain(host),
                path=path,
                scheme=m.group(1)[:-3].lower(),
                obfuscation=found.obfuscation + (("credentials before host",) if userinfo else ()),
                userinfo=userinfo,
            )
        )
    return True


def _bare_links(clean: str, found: _Found) -> bool:
    """The links written without a scheme (outside the ones with); False when the limit
    stopped the scan."""
    for m in _BARE_HOST.finditer(clean):
        if found.in_scheme_link(m.start()):
            continue
        host = m.group(1).lower().rstrip(".")
        path = m.group(2).rstrip(_TRAILING)
        if found.repeat(host + path):
            continue
        domain = registrable_domain(host)
        if domain is None:
            continue
        tld = host.rsplit(".", 1)[-1]
        if tld in _FILEISH and not host.startswith("www.") and not path:
            continue
        if not found.room(host + path):
            return False
        obf = found.obfuscation
        found.links.append(
            Link(
                url=host + path,
                host=host,
                domain=domain,
                path=path,
                scheme="",
                obfuscation=(*obf, "no scheme") if obf else (),
            )
        )
    return True


TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi"}
)
"""Query parameters that only say where a click came from (``utm_*`` too): never a target."""


def link_identity(link: Link) -> str:
    """Where ``link`` leads, as compared when reconciling a published post with its approval:
    no scheme, host without ``www.``, no trailing slash, tracking parameters dropped and the
    others sorted (the fragment is kept: it is part of the address a reader opens)."""
    host = link.host.removeprefix("www.")
    path, _, fragment = link.path.partition("#")
    path, _, query = path.partition("?")
    params = sorted(
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    )
    out = host + path.rstrip("/")
    if params:
        out += "?" + urlencode(params)
    return out + ("#" + fragment if fragment else "")


@lru_cache(maxsize=4096)
def links_key(text: str) -> int:
    """A key for the set of places ``text`` links to (``link_identity``), whatever its words: a
    post whose words were approved but whose links were not is another post."""
    targets = sorted({link_identity(link) for link in extract_links(text).links})
    return int.from_bytes(blake2b("\n".join(targets).encode(), digest_size=8).digest(), "little")
