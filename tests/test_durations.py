from __future__ import annotations

import pytest

from sentinel.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90d", 90 * 86400),
        ("12h", 43200),
        ("1h30m", 5400),
        ("45s", 45),
        ("2w", 14 * 86400),
        (30, 30),
        ("1.5h", 5400),
    ],
)
def test_parse(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "soon", "10x", "5d3", -1, True])
def test_parse_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)  # type: ignore[arg-type]


def test_format() -> None:
    assert format_duration(0) == "0s"
    assert format_duration(93784) == "1d2h"
    assert format_duration(59) == "59s"
