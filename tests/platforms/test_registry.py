from __future__ import annotations

import pytest

from sentinel.errors import ConfigError
from sentinel.inventory import PLATFORMS
from sentinel.platforms import Capability, PlatformAdapter, capabilities_for, capability_table, create_adapter
from sentinel.platforms.base import STATE_FIELDS, Push
from sentinel.platforms.registry import text_limit


def test_every_inventory_platform_has_an_adapter_and_capability_row() -> None:
    rows = {row["platform"]: row for row in capability_table()}
    assert set(rows) == set(PLATFORMS)
    for platform in PLATFORMS:
        info = capabilities_for(platform)
        # Every capability a platform lacks says what a person must do instead.
        for cap in Capability:
            if not info.supports(cap):
                assert info.manual.get(cap), f"{platform}: no manual step for {cap.value}"
        assert set(rows[platform]["capabilities"]) == {c.value for c in Capability}


def test_documented_cleanup_limits_are_recorded() -> None:
    limits = {p: capabilities_for(p).limits.delete for p in ("mastodon", "x", "threads")}
    assert {p: (lim.count, lim.per_seconds) for p, lim in limits.items() if lim} == {
        "mastodon": (30, 1800),
        "x": (50, 900),
        "threads": (100, 86400),
    }


def test_factory_builds_protocol_adapters_and_rejects_unknown() -> None:
    adapter = create_adapter("x", "acct", {"access_token": "t-123456"})
    assert isinstance(adapter, PlatformAdapter)
    with pytest.raises(ConfigError, match="no adapter"):
        create_adapter("myspace", "acct", {})


def test_docs_capability_tables_match_the_adapters() -> None:
    """docs/platforms.md's tables say exactly what each adapter declares, capabilities and
    the fields of its account-state snapshot."""
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "platforms.md").read_text()
    seen: dict[str, set[str]] = {}
    fields: dict[str, set[str]] = {}
    columns: set[str] = set()
    lengths: dict[str, int] = {}
    header: list[str] = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or set(cells[0]) <= {"-"}:
            continue
        if cells[0] == "platform":
            header = cells[1:]
            if "maximum" not in header:
                columns.update(header)
            continue
        if "maximum" in header:  # the post-length table
            limit = text_limit(cells[0])
            row = dict(zip(header, cells[1:], strict=True))
            assert (int(row["maximum"].replace(",", "")), row["unit"]) == (limit.maximum, limit.unit)
            assert limit.source in row["documented at"], cells[0]
            lengths[cells[0]] = limit.maximum
            continue
        shown = {name for name, cell in zip(header, cells[1:], strict=True) if cell == "yes"}
        seen.setdefault(cells[0], set()).update(shown - set(STATE_FIELDS))
        fields.setdefault(cells[0], set()).update(shown & set(STATE_FIELDS))
    assert columns == {c.value for c in Capability} | set(STATE_FIELDS) | {p.value for p in Push}
    assert seen == {
        p: {c.value for c in capabilities_for(p).capabilities} | {h.value for h in capabilities_for(p).push}
        for p in PLATFORMS
    }
    assert fields == {p: set(capabilities_for(p).state_fields) for p in PLATFORMS}
    assert set(lengths) == set(PLATFORMS)
