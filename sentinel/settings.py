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
from pathlib import Path
from typing import Any, Literal, NewType, TypeVar, get_args, get_origin, get_type_hints

from sentinel.durations import parse_duration
from sentinel.errors import ConfigError

Duration = NewType("Duration", float)
"""Seconds; written in TOML as a number of seconds or a string like ``"15m"``."""

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _describe(tp: Any) -> str:
    if tp is Duration:
        return "a duration such as 30s, 15m, 12h or 90d"
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if tp is bool:
        return "true or false"
    if tp is int:
        return "a whole number"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    if tp is Path:
        return "a file or directory path"
    if get_origin(tp) is tuple:
        return f"a list of {_describe(get_args(tp)[0])}s"
    if get_origin(tp) is dict:
        return "a table"
    return str(tp)


def convert(value: Any, tp: Any, key: str, from_env: bool = False) -> Any:
    """Convert ``value`` to ``tp`` or raise ``ConfigError`` naming ``key``."""
    bad = ConfigError(f"config key {key!r}: got {_show(value)}, expected {_describe(tp)}")
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if value is None or (from_env and value == ""):
            return None
        return convert(value, args[0], key, from_env)
    if tp is Duration:
        try:
            return Duration(parse_duration(value))
        except (ValueError, TypeError):
            raise ConfigError(f"config key {key!r}: got {_show(value)}, expected {_describe(tp)}") from None
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise bad
    if tp is bool:
        if isinstance(value, bool):
            return value
        if from_env and isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise bad
    if tp is int:
        if from_env and isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                raise bad from None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad
    if tp is float:
        if from_env and isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise bad from None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad
    if tp is Path:
        if isinstance(value, str) and value:
            return Path(value)
        raise bad
    if origin is tuple:
        if from_env and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise bad
        inner = get_args(tp)[0]
        return tuple(convert(v, inner, f"{key}[{i}]", from_env) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        inner = get_args(tp)[1]
        return {str(k): convert(v, inner, f"{key}.{k}", from_env) for k, v in value.items()}
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
