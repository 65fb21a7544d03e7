"""Each type a configuration section may declare converts, or is refused naming the key."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

import pytest

from sentinel.errors import ConfigError
from sentinel.settings import Duration, build_section, convert


@pytest.mark.parametrize(
    ("value", "tp", "from_env", "expected"),
    [
        ("90d", Duration, False, 90 * 86400.0),
        (45, Duration, False, 45.0),
        (True, bool, False, True),
        ("Off", bool, True, False),
        ("yes", bool, True, True),
        (3, int, False, 3),
        ("3", int, True, 3),
        (2, float, False, 2.0),
        ("2.5", float, True, 2.5),
        ("x", str, False, "x"),
        ("a/b", Path, False, Path("a/b")),
        ("b", Literal["a", "b"], False, "b"),
        (None, int | None, False, None),
        ("", int | None, True, None),
        ("7", int | None, True, 7),
        (["1m", 30], tuple[Duration, ...], False, (60.0, 30.0)),
        (" a, b ,,c", tuple[str, ...], True, ("a", "b", "c")),
        ({"k": 1}, dict[str, int], False, {"k": 1}),
        ({"any": [1]}, Any, False, {"any": [1]}),
    ],
)
def test_values_convert_to_the_declared_type(value: Any, tp: Any, from_env: bool, expected: Any) -> None:
    assert convert(value, tp, "s.k", from_env) == expected


@pytest.mark.parametrize(
    ("value", "tp", "from_env", "message"),
    [
        ("soon", Duration, False, "'s.k': got 'soon', expected a duration such as 30s"),
        ("true", bool, False, "'s.k': got 'true', expected true or false"),
        ("maybe", bool, True, "expected true or false"),
        (True, int, False, "'s.k': got True, expected a whole number"),
        ("3", int, False, "expected a whole number"),
        ("three", int, True, "'s.k': got 'three', expected a whole number"),
        (False, float, False, "expected a number"),
        ("1,5", float, True, "expected a number"),
        (1, str, False, "expected a string"),
        ("", Path, False, "expected a file or directory path"),
        ("c", Literal["a", "b"], False, "expected one of 'a', 'b'"),
        ("x", int | None, True, "'s.k': got 'x', expected a whole number"),
        ("a", tuple[int, ...], False, "expected a list of a whole numbers"),
        (["1", 2], tuple[int, ...], False, "'s.k[0]': got '1', expected a whole number"),
        ([], dict[str, int], False, "expected a table"),
        ({"n": "1"}, dict[str, int], False, "'s.k.n': got '1', expected a whole number"),
        ("x" * 80, int, False, "got '" + "x" * 56 + "...,"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(
    value: Any, tp: Any, from_env: bool, message: str
) -> None:
    with pytest.raises(ConfigError) as e:
        convert(value, tp, "s.k", from_env)
    assert message in e.value.message


@dataclasses.dataclass(frozen=True)
class _Inner:
    every: Duration = Duration(60.0)


@dataclasses.dataclass(frozen=True)
class _Outer:
    name: str = ""
    inner: _Inner = _Inner()


def test_nested_sections_build_and_name_their_dotted_keys() -> None:
    assert build_section(_Outer, {"inner": {"every": "2m"}}, "top") == _Outer("", _Inner(120.0))
    with pytest.raises(ConfigError, match=r"'top\.inner\.every': got 'often'"):
        build_section(_Outer, {"inner": {"every": "often"}}, "top")
    with pytest.raises(ConfigError, match=r"'top\.inner': expected a table"):
        build_section(_Outer, {"inner": 3}, "top")
    with pytest.raises(ConfigError, match=r"'top.inner.when' is unknown; allowed in \[top.inner\]: every"):
        build_section(_Outer, {"inner": {"when": 1}}, "top")


def test_an_undeclarable_type_is_a_programming_error() -> None:
    with pytest.raises(ConfigError, match="unsupported type"):
        convert(1, set[int], "s.k")
