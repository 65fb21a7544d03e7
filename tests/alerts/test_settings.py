from __future__ import annotations

import pytest

from sentinel.alerts.settings import ReceiverSettings
from sentinel.config import parse_config
from sentinel.errors import ConfigError


def test_alerts_section_in_the_config_file() -> None:
    cfg = parse_config(
        {
            "alerts": {
                "group_wait": "30s",
                "repeat_interval": 0,
                "receivers": {
                    "chat": {"type": "slack", "url_env": "SLACK_URL"},
                    "pager": {"type": "pagerduty", "token_file": "/run/credentials/sentinel/pd"},
                },
                "routes": [
                    {"receivers": ["pager"], "min_severity": "critical", "stop": True},
                    {"receivers": ["chat"]},
                ],
            }
        }
    )
    a = cfg.alerts
    assert a.group_wait == 30 and a.repeat_interval == 0
    assert a.receivers["chat"].effective_group_by == ("kind", "rule")
    assert a.receivers["pager"].effective_group_by == ("dedup_key",)
    assert a.receivers["chat"].effective_min_interval == 1.0
    assert a.routes[0].stop and a.routes[0].min_severity == "critical"


def test_env_override() -> None:
    cfg = parse_config({}, env={"SENTINEL_ALERTS_DEAD_AFTER": "2h"})
    assert cfg.alerts.dead_after == 7200


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"receivers": {"x": {"type": "sms", "url": "u"}}}, "alerts.receivers.x.type"),
        ({"routes": [{"receivers": []}]}, "at least one receiver"),
        ({"backoff_initial": "10s", "backoff_max": "1s"}, "backoff_max"),
        ({"dead_after": 0}, "dead_after"),
        ({"receivers": {"x": {"type": "slack", "url": "u", "colour": "red"}}}, "colour"),
    ],
)
def test_invalid_settings_name_the_key(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"alerts": raw})


def test_defaults() -> None:
    r = ReceiverSettings(type="webhook", url="https://x", token="t")
    assert r.needs_token and r.needs_url and r.send_resolved and r.effective_min_interval == 0.0
