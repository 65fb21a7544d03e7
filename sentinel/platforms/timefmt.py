"""Timestamps as Sentinel's events carry them: UTC, ``YYYY-MM-DDTHH:MM:SSZ``."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_z(moment: datetime | float) -> str:
    """Format a datetime (naive means UTC) or epoch seconds as ``YYYY-MM-DDTHH:MM:SSZ``."""
    if isinstance(moment, int | float):
        moment = datetime.fromtimestamp(moment, tz=UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime | None:
    """Parse an ISO 8601 timestamp (``Z`` or offset; X's ``+0000`` form too); ``None`` if not one."""
    raw = text.strip()
    if not raw:
        return None
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    elif len(raw) > 5 and raw[-5] in "+-" and raw[-4:].isdigit() and raw[-3] != ":":
        raw = raw[:-2] + ":" + raw[-2:]
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def normalise_time(text: str) -> str:
    """A platform timestamp as ``YYYY-MM-DDTHH:MM:SSZ`` (unparseable text is kept as is)."""
    parsed = parse_time(text)
    return utc_z(parsed) if parsed else text


def now_z() -> str:
    return utc_z(datetime.now(tz=UTC))
