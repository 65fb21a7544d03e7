"""Typed, frozen configuration sections built from TOML tables.

A section is a frozen dataclass whose field annotations say what is allowed: ``str``,
``int``, ``float``, ``bool``, ``Path``, ``Duration`` (seconds, written ``"90d"``, ``"30s"``),
``Literal[...]``, ``tuple[str, ...]``, ``tuple[int, ...]``, ``dict[str, Any]`` and ``Any``
(passed through for the section to check in its ``validate`` method), and nested section
dataclasses. ``build_section`` turns a TOML table into the object, naming the dotted key
and what is allowed on the first bad value. Components define their own section in their
own package and ``sentinel.config.Config`` holds one of each.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, NewType, TypeVar, get_args, get_origin, get_type_hints

from sentinel.durations import parse_duration
from sentinel.errors import ConfigError

Duration = NewType("Duration", float)
"""Seconds; written in TOML as a number of seconds or a string like ``"15m"``."""

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class _Bad(ValueError):
    """The value does not fit the type (``convert`` names the key and what is allowed)."""


def _to_bool(value: Any, from_env: bool) -> bool:
    if isinstance(value, bool):
        return value
    if from_env and isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise _Bad


def _to_int(value: Any, from_env: bool) -> int:
    if from_env and isinstance(value, str):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _Bad


def _to_float(value: Any, from_env: bool) -> float:
    if from_env and isinstance(value, str):
        return float(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise _Bad


def _to_str(value: Any, from_env: bool) -> str:
    if isinstance(value, str):
        return value
    raise _Bad


def _to_path(value: Any, from_env: bool) -> Path:
    if isinstance(value, str) and value:
        return Path(value)
    raise _Bad


def _to_duration(value: Any, from_env: bool) -> Duration:
    return Duration(parse_duration(value))


_SCALARS: dict[Any, tuple[str, Callable[[Any, bool], Any]]] = {
    Duration: ("a duration such as 30s, 15m, 12h or 90d", _to_duration),
    bool: ("true or false", _to_bool),
    int: ("a whole number", _to_int),
    float: ("a number", _to_float),
    str: ("a string", _to_str),
    Path: ("a file or directory path", _to_path),
}
"""Each plain type a section may declare: what is allowed, in words, and its converter
(which raises ``ValueError`` or ``TypeError`` on a value that does not fit)."""


def _describe(tp: Any) -> str:
    if tp in _SCALARS:
        return _SCALARS[tp][0]
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin is tuple:
        return f"a list of {_describe(get_args(tp)[0])}s"
    if origin is dict:
        return "a table"
    return str(tp)


def _to_optional(value: Any, tp: Any, key: str, from_env: bool) -> Any:
    if value is None or (from_env and value == ""):
        return None
    return convert(value, next(a for a in get_args(tp) if a is not type(None)), key, from_env)


def _to_literal(value: Any, tp: Any, key: str, from_env: bool) -> Any:
    if value in get_args(tp):
        return value
    raise _Bad


def _to_tuple(value: Any, tp: Any, key: str, from_env: bool) -> tuple[Any, ...]:
    if from_env and isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple):
        raise _Bad
    inner = get_args(tp)[0]
    return tuple(convert(v, inner, f"{key}[{i}]", from_env) for i, v in enumerate(value))


def _to_dict(value: Any, tp: Any, key: str, from_env: bool) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad
    inner = get_args(tp)[1]
    return {str(k): convert(v, inner, f"{key}.{k}", from_env) for k, v in value.items()}


_GENERICS: dict[Any, Callable[[Any, Any, str, bool], Any]] = {
    typing.Union: _to_optional,
    types.UnionType: _to_optional,
    Literal: _to_literal,
    tuple: _to_tuple,
    dict: _to_dict,
}
"""Converters of parametrised types, by origin (``X | None``, ``Literal[...]``,
``tuple[X, ...]``, ``dict[str, X]``); elements convert under their own dotted key."""


def convert(value: Any, tp: Any, key: str, from_env: bool = False) -> Any:
    """Convert ``value`` to ``tp`` or raise ``ConfigError`` naming ``key``."""
    if tp is Any:
        return value
    try:
        if tp in _SCALARS:
            return _SCALARS[tp][1](value, from_env)
        generic = _GENERICS.get(get_origin(tp))
        if generic is not None:
            return generic(value, tp, key, from_env)
    except (ValueError, TypeError):
        raise ConfigError(f"config key {key!r}: got {_show(value)}, expected {_describe(tp)}") from None
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r}: expected a table")
        return build_section(tp, value, key)
    raise ConfigError(f"config key {key!r}: unsupported type {tp!r}")  # a programming error


def build_section(cls: type[T], raw: dict[str, Any], prefix: str) -> T:
    """Build the dataclass ``cls`` from the TOML table ``raw`` found at ``prefix``."""
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(
            f"config key {_join(prefix, unknown[0])!r} is unknown; allowed in [{prefix}]: "
            + ", ".join(sorted(fields))
        )
    kwargs = {name: convert(raw[name], hints[name], _join(prefix, name)) for name in fields if name in raw}
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate(prefix)
    return obj


def section_fields(cls: type[Any]) -> dict[str, Any]:
    return get_type_hints(cls)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _show(value: Any) -> str:
    s = repr(value)
    return s if len(s) <= 60 else s[:57] + "..."
