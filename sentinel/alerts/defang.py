"""Make links in attacker-controlled text unclickable: ``https://evil.com`` -> ``hxxps://evil[.]com``.

Post excerpts and findings quote what an attacker wrote; chat clients turn URLs and bare
domains into links and previews, so every one is defanged before it reaches a receiver.
Control characters (a terminal's escape sequences, a carriage return that overwrites the
line) and the bidirectional overrides that reorder what is shown are written out as
``\x1b`` / ``\u202e``, so quoted text can neither drive the terminal of a person running the
CLI nor pass for something it is not.
"""

from __future__ import annotations

import re

_SCHEME = re.compile(r"\b(h)tt(ps?)(?=://)", re.IGNORECASE)
_FTP = re.compile(r"\b(s?f)tp(?=://)", re.IGNORECASE)
# A host name: labels separated by dots, ending in a letter-only TLD.
_DOMAIN = re.compile(
    r"(?<![\w\[.-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})(?![\w\]-])", re.IGNORECASE
)
_MENTION = re.compile(r"([@!])(channel|here|all|everyone|room)\b", re.IGNORECASE)
_IPV4 = re.compile(r"\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def defang(text: str) -> str:
    """Defang every URL scheme, domain and dotted IPv4 address in ``text``."""
    text = _SCHEME.sub(lambda m: f"{m.group(1)}xx{m.group(2)}", text)
    text = _FTP.sub(lambda m: f"{m.group(1)}xp", text)
    text = _DOMAIN.sub(lambda m: m.group(1).replace(".", "[.]"), text)
    return _IPV4.sub(lambda m: "[.]".join(m.groups()), text)


def neutralise_mentions(text: str) -> str:
    """Stop ``@channel``, ``@here``, ``@everyone``, ``@room`` from pinging a whole room."""
    return _MENTION.sub(lambda m: f"{m.group(1)}\u200b{m.group(2)}", text)


def neutralise_controls(text: str) -> str:
    """Write control characters (but tab and newline) and bidirectional controls out as escapes."""
    return _CONTROL.sub(lambda m: _escape(ord(m.group())), text.replace("\r\n", "\n"))


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def defuse(text: str) -> str:
    """Everything attacker-written goes through this: defanged links, no mass mentions, no
    control characters."""
    return neutralise_controls(neutralise_mentions(defang(text)))
