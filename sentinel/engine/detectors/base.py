"""The detector registry: what a rule file's ``detector:`` names and which parameters it takes.

A detector is a pure function ``(context, params) -> Hit | None``. A hit is a readable
detail and a factor (usually 1.0) that scales the rule's score, so one detector can say
"strongly" or "weakly" without a second rule. ``phase="after"`` detectors run once the
others have scored (``context.partial_score``); ``on_matched`` detectors also run for an
observed post that an allowed gate check already covered.

``requires`` names the event facts (``sentinel.engine.facts``) without which the detector
finds nothing, and ``literals`` the text one of whose strings a rule's post must hold: the
engine skips a rule whose requirements an event does not meet (the decision is the same).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast, get_args

from sentinel.durations import parse_duration
from sentinel.engine.context import Context
from sentinel.engine.facts import requirement
from sentinel.engine.prefilter import Requirement
from sentinel.engine.state import WINDOWS

Hit = tuple[str, float]
Check = Callable[[Context, Mapping[str, Any]], Hit | None]
Requires = frozenset[str] | Callable[[Mapping[str, Any]], frozenset[str]]
"""Event facts a detector needs: fixed, or worked out from a rule's parameters."""
TextLiterals = Callable[[Mapping[str, Any]], tuple[bool, Requirement | None]]
"""For a rule's parameters: (whether links count as text, what the case-folded text must hold
for a finding (``sentinel.engine.prefilter.required_any``), None when that is unknown)."""
Subject = Literal["post", "account", "vault"]
"""What a detector judges: a post, an account event or a Vault request (each has its context)."""
_C = TypeVar("_C")
Kind = Literal[
    "int", "float", "bool", "str", "duration", "window", "choice", "str_list", "domain_list", "regex_list"
]


@dataclass(frozen=True)
class Param:
    kind: Kind
    default: Any
    doc: str = ""
    choices: tuple[str, ...] = ()

    def compile(self, value: Any) -> Any:
        """Check and convert a value from a rule file; ``ValueError`` says what is allowed."""
        return _CONVERTERS[self.kind](self, value)


def _bool(_: Param, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _int(_: Param, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {value!r}")
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _float(_: Param, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _str(_: Param, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _choice(p: Param, value: Any) -> Any:
    if value not in p.choices:
        raise ValueError(f"expected one of {', '.join(p.choices)}, got {value!r}")
    return value


def _duration(_: Param, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a duration such as 30m, got {value!r}")
    return parse_duration(value)


def _window(p: Param, value: Any) -> int:
    seconds = int(_duration(p, value))
    if seconds not in WINDOWS:
        allowed = ", ".join(f"{w // 60}m" for w in WINDOWS)
        raise ValueError(f"rate windows are {allowed}, got {value!r}")
    return seconds


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("expected a list of non-empty strings")
    return value


def _str_list(_: Param, value: Any) -> tuple[str, ...]:
    return tuple(_strings(value))


def _domain_list(_: Param, value: Any) -> frozenset[str]:
    return frozenset(v.strip().lower().strip(".") for v in _strings(value))


def _regex_list(_: Param, value: Any) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for i, v in enumerate(_strings(value)):
        try:
            compiled.append(re.compile(v, re.IGNORECASE))
        except re.error as e:
            raise ValueError(f"item {i}: invalid regular expression {v!r}: {e}") from None
    return tuple(compiled)


_CONVERTERS: dict[str, Callable[[Param, Any], Any]] = {
    "bool": _bool,
    "int": _int,
    "float": _float,
    "str": _str,
    "choice": _choice,
    "duration": _duration,
    "window": _window,
    "str_list": _str_list,
    "domain_list": _domain_list,
    "regex_list": _regex_list,
}
"""One converter per ``Kind``: a rule file's value checked and converted."""
assert set(_CONVERTERS) == set(get_args(Kind)), "a parameter kind without a converter"


@dataclass(frozen=True)
class DetectorSpec:
    name: str
    check: Check
    params: Mapping[str, Param]
    doc: str
    phase: Literal["main", "after"] = "main"
    on_matched: bool = False
    defaults: Mapping[str, Any] = field(default_factory=dict)
    subject: Subject = "post"
    requires: Requires = frozenset()
    literals: TextLiterals | None = None

    def need(self, params: Mapping[str, Any]) -> int:
        """The fact bits a rule with these parameters needs before it can find anything."""
        names = self.requires(params) if callable(self.requires) else self.requires
        return requirement(names)

    def compile_params(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``raw``, each checked; ``KeyError``/``ValueError`` name the problem."""
        out = {
            name: p.compile(p.default) if p.default is not None else None for name, p in self.params.items()
        }
        for key, value in raw.items():
            if key not in self.params:
                raise KeyError(key)
            out[key] = self.params[key].compile(value)
        return out


DETECTORS: dict[str, DetectorSpec] = {}


def detector(
    name: str,
    doc: str,
    params: Mapping[str, Param] | None = None,
    phase: Literal["main", "after"] = "main",
    on_matched: bool = False,
    subject: Subject = "post",
    requires: Requires = frozenset(),
    literals: TextLiterals | None = None,
) -> Callable[[Callable[[_C, Mapping[str, Any]], Hit | None]], Callable[[_C, Mapping[str, Any]], Hit | None]]:
    if not callable(requires):
        requirement(requires)  # an unknown fact fails at import, not on the first event

    def register(
        fn: Callable[[_C, Mapping[str, Any]], Hit | None],
    ) -> Callable[[_C, Mapping[str, Any]], Hit | None]:
        if name in DETECTORS:
            raise RuntimeError(f"detector {name!r} registered twice")
        DETECTORS[name] = DetectorSpec(
            name=name,
            check=cast(Check, fn),
            params=dict(params or {}),
            doc=doc,
            phase=phase,
            on_matched=on_matched,
            subject=subject,
            requires=requires,
            literals=literals,
        )
        return fn

    return register


def quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
