"""Parse and format human durations such as ``90d``, ``12h``, ``30m``, ``45s`` or ``1h30m``."""

from __future__ import annotations

import re

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")


def parse_duration(text: str | int | float) -> float:
    """Return seconds for ``text``; a bare number counts as seconds.

    Raises ``ValueError`` with a message saying what is allowed.
    """
    if isinstance(text, bool):
        raise ValueError("expected a duration such as 90d, 12h, 30m or 45s")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return float(text)
    s = text.strip().lower().replace(" ", "")
    if not s:
        raise ValueError("expected a duration such as 90d, 12h, 30m or 45s")
    pos = 0
    total = 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s):
        raise ValueError(f"{text!r} is not a duration; use a number with w, d, h, m or s, e.g. 90d or 1h30m")
    return total


def format_duration(seconds: float) -> str:
    """Format seconds as the largest whole units, e.g. ``3d4h`` or ``45s``."""
    sec = round(seconds)
    if sec == 0:
        return "0s"
    sign = "-" if sec < 0 else ""
    sec = abs(sec)
    out = []
    for unit in ("d", "h", "m", "s"):
        size = _UNITS[unit]
        if sec >= size:
            out.append(f"{sec // size}{unit}")
            sec %= size
    return sign + "".join(out[:2])
