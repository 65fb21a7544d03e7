"""Vault ACL policies read the way Vault reads them: parse the text, merge, match a path.

Pure functions, no I/O. ``parse_policy(name, text)`` understands what Vault accepts for an
ACL policy: HCL (``path "..." { capabilities = [...] }``, the legacy ``policy = "write"``,
``#``, ``//`` and ``/* */`` comments, parameter constraints and wrapping TTLs, which are
skipped) and the JSON form (``{"path": {"...": {"capabilities": [...]}}}``). Whatever it
cannot read raises ``PolicyParseError`` naming the policy and the line, so a caller never
silently under-counts what a policy grants.

``Acl`` merges the rules of every policy a token would carry and answers, for one request
path, the capabilities Vault would apply, following Vault's rules:

- the same path in several policies: capabilities are united, and ``deny`` anywhere wins;
- an exact path beats any glob; otherwise among the globs (``*`` at the end: a prefix,
  ``+``: exactly one segment) the one whose first wildcard comes later wins, then a
  non-prefix path over a prefix path, then fewer ``+`` segments, then the longer path, then
  the lexicographically greater one. Only the winning rule counts: a broad grant in one
  policy does not add to a narrower rule that matches the same path in another.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sentinel.errors import SentinelError

CAPABILITIES = frozenset(
    {"create", "read", "update", "patch", "delete", "list", "sudo", "deny", "subscribe", "recover", "scan"}
)
LEGACY = {
    "deny": frozenset({"deny"}),
    "read": frozenset({"read", "list"}),
    "write": frozenset({"create", "read", "update", "patch", "delete", "list"}),
    "sudo": frozenset({"create", "read", "update", "patch", "delete", "list", "sudo"}),
}
_TOP_KEYS = {"path", "name"}


class PolicyParseError(SentinelError):
    """A policy's text cannot be understood (names the policy and the line)."""


@dataclass(frozen=True)
class PathRule:
    """One ``path`` block: where, and the capabilities it lists (``deny`` alone when denied)."""

    path: str
    capabilities: frozenset[str]
    policy: str = ""
    line: int = 0


# -- tokens ------------------------------------------------------------------------------------
_PUNCT = "{}[]=,:"
_WORD = re.compile(r"[A-Za-z0-9_.\-]+")
_HEREDOC = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_]*)[ \t]*\n")


@dataclass(frozen=True)
class _Tok:
    kind: str  # "str", "word", or one punctuation character
    value: str
    line: int


def _tokens(name: str, text: str) -> Iterator[_Tok]:
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r\ufeff":
            i += 1
        elif c == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise PolicyParseError(f"policy {name!r} line {line}: comment '/*' is never closed")
            line += text.count("\n", i, end)
            i = end + 2
        elif c == '"':
            value, i, line = _string(name, text, i, line)
            yield _Tok("str", value, line)
        elif text.startswith("<<", i):
            m = _HEREDOC.match(text, i)
            if not m:
                raise PolicyParseError(f"policy {name!r} line {line}: malformed heredoc")
            start, marker, indent = line, m.group(2), bool(m.group(1))
            i, line = m.end(), line + 1
            body: list[str] = []
            while True:
                nl = text.find("\n", i)
                row = text[i:] if nl < 0 else text[i:nl]
                if row.strip() == marker:
                    i = n if nl < 0 else nl
                    break
                if nl < 0:
                    raise PolicyParseError(f"policy {name!r} line {start}: heredoc {marker} is never closed")
                body.append(row.lstrip() if indent else row)
                i, line = nl + 1, line + 1
            yield _Tok("str", "\n".join(body), start)
        elif c in _PUNCT:
            yield _Tok(c, c, line)
            i += 1
        else:
            m = _WORD.match(text, i)
            if not m:
                raise PolicyParseError(f"policy {name!r} line {line}: unexpected character {c!r}")
            yield _Tok("word", m.group(0), line)
            i = m.end()


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "/": "/"}


def _string(name: str, text: str, i: int, line: int) -> tuple[str, int, int]:
    out: list[str] = []
    start = line
    i += 1
    while True:
        if i >= len(text) or text[i] == "\n":
            raise PolicyParseError(f"policy {name!r} line {start}: string is never closed")
        c = text[i]
        if c == '"':
            return "".join(out), i + 1, line
        if c == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            raise PolicyParseError(f"policy {name!r} line {line}: unknown escape '\\{nxt}' in a string")
        out.append(c)
        i += 1


# -- HCL structure -----------------------------------------------------------------------------
@dataclass
class _Item:
    keys: list[str]
    value: Any  # str | list[Any] | list[_Item] (an object)
    line: int
    is_object: bool = False


class _Parser:
    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.toks = list(_tokens(name, text))
        self.pos = 0

    def fail(self, what: str, tok: _Tok | None = None) -> PolicyParseError:
        tok = tok or self.peek()
        where = f"line {tok.line}" if tok else "end of text"
        return PolicyParseError(f"policy {self.name!r} {where}: {what}")

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise self.fail("unexpected end of the policy")
        self.pos += 1
        return tok

    def body(self, closing: str | None) -> list[_Item]:
        items: list[_Item] = []
        while True:
            tok = self.peek()
            if tok is None:
                if closing is not None:
                    raise self.fail(f"'{{' is never closed (expected '{closing}')")
                return items
            if closing is not None and tok.kind == closing:
                self.pos += 1
                return items
            if tok.kind == ",":
                self.pos += 1
                continue
            items.append(self.item())

    def item(self) -> _Item:
        first = self.take()
        if first.kind not in ("str", "word"):
            raise self.fail(f"expected a key, found {first.value!r}", first)
        keys = [first.value]
        while True:
            tok = self.take()
            if tok.kind in ("str", "word"):
                keys.append(tok.value)
            elif tok.kind in ("=", ":"):
                nxt = self.peek()
                if nxt is not None and nxt.kind == "{":
                    self.pos += 1
                    return _Item(keys, self.body("}"), first.line, is_object=True)
                return _Item(keys, self.value(), first.line)
            elif tok.kind == "{":
                return _Item(keys, self.body("}"), first.line, is_object=True)
            else:
                raise self.fail(f"expected '=' or '{{' after {keys[-1]!r}, found {tok.value!r}", tok)

    def value(self) -> Any:
        tok = self.take()
        if tok.kind in ("str", "word"):
            return tok.value
        if tok.kind == "{":
            return self.body("}")
        if tok.kind == "[":
            out: list[Any] = []
            while True:
                nxt = self.peek()
                if nxt is None:
                    raise self.fail("'[' is never closed", tok)
                if nxt.kind == "]":
                    self.pos += 1
                    return out
                if nxt.kind == ",":
                    self.pos += 1
                    continue
                out.append(self.value())
        raise self.fail(f"expected a value, found {tok.value!r}", tok)


def _rule_from_items(name: str, path: str, items: list[_Item], line: int) -> PathRule:
    caps: set[str] = set()
    for it in items:
        key = it.keys[0]
        if len(it.keys) != 1 and key in ("capabilities", "policy"):
            raise PolicyParseError(f"policy {name!r} line {it.line}: path {path!r}: malformed {key!r}")
        if key == "capabilities":
            if (
                not isinstance(it.value, list)
                or it.is_object
                or not all(isinstance(v, str) for v in it.value)
            ):
                raise PolicyParseError(
                    f"policy {name!r} line {it.line}: path {path!r}: 'capabilities' must be a list of strings"
                )
            caps.update(_capabilities(name, path, it.value, it.line))
        elif key == "policy":
            caps.update(_legacy(name, path, it.value, it.line))
        # Anything else (parameter constraints, wrapping TTLs, control groups, MFA) only narrows
        # a grant; reading it as a plain grant can only over-count, never under-count.
    return _rule(name, path, caps, line)


def _capabilities(name: str, path: str, values: Iterable[Any], line: int) -> set[str]:
    caps = set()
    for v in values:
        if not isinstance(v, str) or v not in CAPABILITIES:
            raise PolicyParseError(f"policy {name!r} line {line}: path {path!r}: unknown capability {v!r}")
        caps.add(v)
    return caps


def _legacy(name: str, path: str, value: Any, line: int) -> frozenset[str]:
    if not isinstance(value, str) or value not in LEGACY:
        raise PolicyParseError(
            f"policy {name!r} line {line}: path {path!r}: 'policy' is {value!r}; Vault knows deny, read, write, sudo"
        )
    return LEGACY[value]


def _rule(name: str, path: str, caps: set[str] | frozenset[str], line: int) -> PathRule:
    # Like Vault: a '*' anywhere but at the end is a literal character, not a glob.
    path = path.removeprefix("/")
    return PathRule(path, frozenset({"deny"}) if "deny" in caps else frozenset(caps), name, line)


def parse_policy(name: str, text: str) -> list[PathRule]:
    """The path rules of one ACL policy (HCL or JSON). Raises ``PolicyParseError`` naming ``name``."""
    if text.lstrip().startswith("{"):
        return _parse_json(name, text)
    items = _Parser(name, text).body(None)
    rules: list[PathRule] = []
    for it in items:
        key = it.keys[0]
        if key not in _TOP_KEYS:
            raise PolicyParseError(f"policy {name!r} line {it.line}: unknown top-level key {key!r}")
        if key == "name":
            continue
        if len(it.keys) == 2 and it.is_object:
            rules.append(_rule_from_items(name, it.keys[1], it.value, it.line))
        elif len(it.keys) == 1 and it.is_object:  # path = { "a/b" = { ... } }
            for inner in it.value:
                if len(inner.keys) != 1 or not inner.is_object:
                    raise PolicyParseError(f"policy {name!r} line {inner.line}: malformed path entry")
                rules.append(_rule_from_items(name, inner.keys[0], inner.value, inner.line))
        else:
            raise PolicyParseError(f'policy {name!r} line {it.line}: expected path "..." {{ ... }}')
    return rules


def _parse_json(name: str, text: str) -> list[PathRule]:
    try:
        doc = json.loads(text, object_pairs_hook=_unique(name))
    except json.JSONDecodeError as e:
        raise PolicyParseError(f"policy {name!r} line {e.lineno}: not valid JSON: {e.msg}") from None
    if not isinstance(doc, dict):
        raise PolicyParseError(f"policy {name!r}: a JSON policy must be an object")
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise PolicyParseError(f"policy {name!r}: unknown top-level key {unknown[0]!r}")
    raw = doc.get("path", {})
    blocks = raw if isinstance(raw, list) else [raw]
    rules: list[PathRule] = []
    for block in blocks:
        if not isinstance(block, dict):
            raise PolicyParseError(f"policy {name!r}: 'path' must map paths to objects")
        for path, body in block.items():
            entries = body if isinstance(body, list) else [body]
            caps: set[str] = set()
            for entry in entries:
                if not isinstance(entry, dict):
                    raise PolicyParseError(f"policy {name!r}: path {path!r} must be an object")
                if "capabilities" in entry:
                    if not isinstance(entry["capabilities"], list):
                        raise PolicyParseError(
                            f"policy {name!r}: path {path!r}: 'capabilities' must be a list of strings"
                        )
                    caps.update(_capabilities(name, path, entry["capabilities"], 0))
                if "policy" in entry:
                    caps.update(_legacy(name, path, entry["policy"], 0))
            rules.append(_rule(name, str(path), caps, 0))
    return rules


def _unique(name: str) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """A JSON object hook refusing a key given twice: Vault reads every copy (two ``path``
    objects are two sets of rules) where ``json`` would keep only the last, hiding the rest."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise PolicyParseError(f"policy {name!r}: key {key!r} appears twice in one JSON object")
            out[key] = value
        return out

    return hook


# -- matching ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Match:
    """The rule Vault applies to a path: its (merged) capabilities and the policies behind it."""

    rule: str
    capabilities: frozenset[str]
    policies: tuple[str, ...]


class Acl:
    """The rules of several policies merged as Vault merges them for one token."""

    def __init__(self, rules: Iterable[PathRule]) -> None:
        merged: dict[str, set[str]] = {}
        sources: dict[str, set[str]] = {}
        for r in rules:
            have = merged.get(r.path)
            sources.setdefault(r.path, set()).add(r.policy)
            if have is None:
                merged[r.path] = set(r.capabilities)
            elif "deny" in have:
                continue
            elif "deny" in r.capabilities:
                merged[r.path] = {"deny"}
            else:
                have.update(r.capabilities)
        self._exact: dict[str, Match] = {}
        self._prefix: dict[str, Match] = {}
        self._segments: list[tuple[str, Match]] = []
        for path, caps in merged.items():
            m = Match(path, frozenset(caps), tuple(sorted(sources[path])))
            if "+" in path:
                self._segments.append((path, m))
            elif path.endswith("*"):
                self._prefix[path[:-1]] = m
            else:
                self._exact[path] = m

    def __len__(self) -> int:
        return len(self._exact) + len(self._prefix) + len(self._segments)

    def match(self, path: str) -> Match | None:
        """The rule Vault would apply to ``path``, or ``None`` (nothing matches: denied)."""
        exact = self._exact.get(path)
        if exact is not None:
            return exact
        best: tuple[tuple[int, int, int, int, str], Match] | None = None
        longest = next((path[:n] for n in range(len(path), -1, -1) if path[:n] in self._prefix), None)
        if longest is not None:
            best = ((len(longest), 0, 0, len(longest), longest), self._prefix[longest])
        parts = path.split("/")
        for full, m in self._segments:
            wc = full[:-1] if full.endswith("*") else full
            is_prefix = full.endswith("*")
            acl_parts = wc.split("/")
            if len(parts) < len(acl_parts) or (not is_prefix and len(parts) != len(acl_parts)):
                continue
            wildcards = 0
            for i, part in enumerate(acl_parts):
                if part == "+":
                    wildcards += 1
                elif part == parts[i] or (
                    is_prefix and i == len(acl_parts) - 1 and parts[i].startswith(part)
                ):
                    continue
                else:
                    break
            else:
                key = (full.index("+"), 0 if is_prefix else 1, -wildcards, len(wc), wc)
                if best is None or key > best[0]:
                    best = (key, m)
        return best[1] if best else None

    def capabilities(self, path: str) -> frozenset[str]:
        m = self.match(path)
        return m.capabilities if m else frozenset()
