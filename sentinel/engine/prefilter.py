"""Exact-literal prefilter for rule regexes: skip a pattern whose required text is absent.

For each pattern, ``required_literals`` works out (once, from the parsed pattern) a set of
lower-case ASCII strings at least one of which occurs in every match, or ``None`` when no
such set can be shown. Only what is provably required counts: a run of plain characters in
sequence, a group or a repeat with a minimum of at least one, an alternation when every
branch gives a set (one set per branch, united). Character classes, ``.``, anchors,
lookarounds, back-references, optional parts and non-ASCII characters contribute nothing.

Texts are compared after ``fold``, which maps every character that a case-insensitive
pattern treats as equal to an ASCII character onto that character's lower case, so the
check holds whether or not a pattern ignores case. The engine folds the text the content
rules match (``Context.content``: look-alike letters already read as Latin), so the prefilter
and the patterns see the same words.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

Literals = frozenset[str]

# Non-ASCII characters that case-insensitive matching treats as equal to an ASCII letter;
# ``str.lower`` alone maps U+0130 to two characters and leaves U+0131 and U+017F as they are.
_TO_ASCII = {0x130: "i", 0x131: "i", 0x17F: "s", 0x212A: "k"}


def fold(text: str) -> str:
    """``text`` with every character a case-insensitive match equates with an ASCII one lowered."""
    if text.isascii():
        return text.lower()
    return text.translate(_TO_ASCII).lower()


def _strength(lits: Literals) -> tuple[int, int]:
    return min(len(s) for s in lits), -len(lits)


def _clauses(items: Sequence[tuple[Any, Any]]) -> list[Literals]:
    """Sets of strings such that every match of the sequence ``items`` contains one string of
    each set: its runs of plain characters, and what each group, repeat or alternation in it
    provably requires (its strongest single set)."""
    found: list[Literals] = []
    run: list[str] = []
    for op, av in items:
        if op is _c.LITERAL and av < 128:
            run.append(chr(av).lower())
            continue
        if run:
            found.append(frozenset(("".join(run),)))
            run = []
        sub: Literals | None = None
        if op is _c.SUBPATTERN:
            sub = _required(av[3])
        elif op is _c.ATOMIC_GROUP:
            sub = _required(av)
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            if av[0] >= 1:
                sub = _required(av[2])
        elif op is _c.BRANCH:
            branches = [_required(b) for b in av[1]]
            if branches and all(b is not None for b in branches):
                sub = frozenset().union(*(b for b in branches if b is not None))
        if sub:
            found.append(sub)
    if run:
        found.append(frozenset(("".join(run),)))
    return found


def _required(items: Sequence[tuple[Any, Any]]) -> Literals | None:
    """A set of strings one of which every match of the sequence ``items`` contains, or None."""
    return max(_clauses(items), key=_strength, default=None)


def required_literals(pattern: re.Pattern[str]) -> Literals | None:
    """Lower-case strings one of which occurs in the folded text of every match; None: no prefilter."""
    try:
        tree = _parser.parse(pattern.pattern, pattern.flags)
    except Exception:  # a pattern ``re`` compiled parses again; if not, no prefilter
        return None
    return _required(list(tree))


Requirement = tuple[tuple[Literals, ...], ...]
"""Alternatives, each a conjunction of sets: a text can match only if, for one alternative, it
holds a string of every set."""


def required_any(pattern: re.Pattern[str]) -> Requirement | None:
    """What the folded text of every match of ``pattern`` holds, per top-level alternative
    (``free\\s+gift|act\\s+now``: both ``free`` and ``gift``, or both ``act`` and ``now``);
    None: no requirement can be shown for some alternative."""
    try:
        tree = list(_parser.parse(pattern.pattern, pattern.flags))
    except Exception:  # a pattern ``re`` compiled parses again; if not, no prefilter
        return None
    alternatives = _alternatives(tree)
    if not all(alternatives):
        return None
    return tuple(tuple(alt) for alt in alternatives)


def _alternatives(items: Sequence[tuple[Any, Any]]) -> list[list[Literals]]:
    """The clauses of each alternative of the first top-level alternation in ``items`` (the
    parts before and after it belong to every alternative); one list without one."""
    for i, (op, av) in enumerate(items):
        if op is _c.BRANCH:
            head, tail = _clauses(items[:i]), _clauses(items[i + 1 :])
            return [head + _clauses(list(branch)) + tail for branch in av[1]]
    return [_clauses(items)]


def _either(requirements: Iterable[Requirement | None]) -> Requirement | None:
    """What a text meets when it meets one of ``requirements`` (None if one is unknown)."""
    out: list[tuple[Literals, ...]] = []
    for r in requirements:
        if r is None:
            return None
        out.extend(r)
    return tuple(out)


def satisfied(requirement: Requirement, present: set[str] | frozenset[str]) -> bool:
    """Whether the strings ``present`` in a text meet one alternative of ``requirement``."""
    return any(all(not clause.isdisjoint(present) for clause in alt) for alt in requirement)


def _has_group_reference(items: Sequence[tuple[Any, Any]]) -> bool:
    for op, av in items:
        if op in (_c.GROUPREF, _c.GROUPREF_EXISTS, _c.GROUPREF_IGNORE, _c.GROUPREF_UNI_IGNORE):
            return True
        if op is _c.SUBPATTERN:
            nested: list[Any] = [av[3]]
        elif op is _c.BRANCH:
            nested = list(av[1])
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            nested = [av[2]]
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            nested = [av[1]]
        elif op is _c.ATOMIC_GROUP:
            nested = [av]
        else:
            continue
        if any(_has_group_reference(list(n)) for n in nested):
            return True
    return False


def _references_groups(pattern: re.Pattern[str]) -> bool:
    try:
        return _has_group_reference(list(_parser.parse(pattern.pattern, pattern.flags)))
    except Exception:
        return True


Combine = Callable[[tuple[re.Pattern[str], ...]], re.Pattern[str]]


class PatternSet:
    """A rule's patterns with their prefilters and its single-scan gate.

    ``select(text)`` gives the patterns that may match (in order) and the gate to scan first
    (None: no scan needed). The gate answers exactly as ``combine(patterns)`` would: patterns
    left out cannot match, and when no pattern refers to a group by number or name, an
    alternation of the rest matches exactly when one of them does.
    """

    def __init__(self, patterns: tuple[re.Pattern[str], ...], combine: Combine) -> None:
        self.patterns = patterns
        self._combine = combine
        self.full = combine(patterns)
        self.literals = tuple(required_literals(p) for p in patterns)
        self.requirement = _either(required_any(p) for p in patterns)
        """What every text any pattern matches holds (see ``required_any``; None: unknown)."""
        self._checks = tuple(
            (i, tuple(sorted(lits, key=len, reverse=True)) if lits is not None else None)
            for i, lits in enumerate(self.literals)
        )
        self._subsets = len(patterns) <= 12 and not any(_references_groups(p) for p in patterns)
        self._gates: dict[tuple[int, ...], re.Pattern[str]] = {}
        every = [s for lits in self.literals if lits is not None for s in lits]
        self._any = (
            re.compile("|".join(re.escape(s) for s in sorted(set(every), key=len, reverse=True)))
            if patterns and all(lits is not None for lits in self.literals)
            else None
        )
        """One scan for any required text of any pattern: most posts hold none, so no pattern is live."""

    def live(self, text: str) -> tuple[int, ...]:
        """Indexes of the patterns whose required text occurs in ``text`` (or that have no prefilter)."""
        folded = fold(text)
        if self._any is not None and self._any.search(folded) is None:
            return ()
        live = []
        for i, lits in self._checks:
            if lits is None:
                live.append(i)
                continue
            for s in lits:
                if s in folded:
                    live.append(i)
                    break
        return tuple(live)

    def select(self, text: str) -> tuple[re.Pattern[str] | None, tuple[re.Pattern[str], ...]]:
        live = self.live(text)
        if not live:
            return None, ()
        chosen = tuple(self.patterns[i] for i in live)
        if len(live) == len(self.patterns) or not self._subsets:
            return self.full, chosen
        if len(live) == 1:
            return None, chosen
        gate = self._gates.get(live)
        if gate is None:
            gate = self._gates[live] = self._combine(chosen)
        return gate, chosen


def _trie_pattern(words: Iterable[str]) -> str:
    """A regular expression matching any of ``words``, longest first, as a trie of their letters."""
    root: dict[str, Any] = {}
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def branch(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + branch(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return branch(root)


class LiteralIndex:
    """Which of several requirements (``required_any``) a folded text meets, in one scan.

    Built from ``(bits, requirement)`` pairs; ``hits(folded)`` is the union of the bits of every
    requirement the text meets. Each alternative of a requirement is triggered by its strongest
    set of strings: one scan finds the triggers present (looking ahead at every position for
    the longest trigger starting there; a shorter one found at that position is a prefix of it,
    so each trigger stands for its prefixes too), and only the alternatives triggered are then
    checked in full.
    """

    def __init__(self, requirements: Iterable[tuple[int, Requirement]]) -> None:
        alternatives: list[tuple[int, tuple[Literals, ...]]] = []
        triggered: dict[str, set[int]] = {}
        for bits, req in requirements:
            for alt in req:
                for s in max(alt, key=_strength):
                    triggered.setdefault(s, set()).add(len(alternatives))
                alternatives.append((bits, alt))
        self._alternatives = tuple(alternatives)
        self._candidates = {s: _with_prefixes(s, triggered) for s in triggered}
        """Each trigger: the alternatives it or one of its prefixes triggers, in order."""
        trie = _trie_pattern(triggered)
        self._any = re.compile(trie) if triggered else None
        self._at = re.compile(f"(?=({trie}))") if triggered else None

    def hits(self, folded: str) -> int:
        if self._any is None or self._at is None:
            return 0
        m = self._any.search(folded)
        if m is None:
            return 0
        got = 0
        for s in set(self._at.findall(folded, m.start())):
            for i in self._candidates[s]:
                bits, alt = self._alternatives[i]
                if not got & bits and all(any(x in folded for x in clause) for clause in alt):
                    got |= bits
        return got


def _with_prefixes(s: str, triggered: dict[str, set[int]]) -> tuple[int, ...]:
    return tuple(sorted({i for p, alts in triggered.items() if s.startswith(p) for i in alts}))
