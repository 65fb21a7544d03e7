from __future__ import annotations

import pytest

from sentinel.config import parse_config
from sentinel.errors import ConfigError


def test_engine_section_from_toml() -> None:
    cfg = parse_config(
        {"engine": {"policy": {"freeze_score": 9, "freeze_duration": "30m"}, "learning": {"min_days": "7d"}}}
    )
    assert cfg.engine.policy.freeze_score == 9.0 and cfg.engine.policy.freeze_duration == 1800.0
    assert cfg.engine.learning.min_days == 7 * 86400


def test_invalid_policy_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"engine\.policy\.block_score"):
        parse_config({"engine": {"policy": {"hold_score": 5, "block_score": 3}}})
