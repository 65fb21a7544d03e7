"""Receiver secrets come from files, environment variables or inline, and never leak."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sentinel import logs
from sentinel.alerts.receivers import build_receiver, build_receivers
from sentinel.errors import ConfigError
from sentinel.files import write_private
from sentinel.redact import scrub
from tests.alerts.conftest import alerts_settings, receiver_settings

SLACK = "https://hooks.slack.com/services/T0FILE/B0FILE/filesecret0123456789"


def test_url_from_a_systemd_credential_file(tmp_path: Path) -> None:
    write_private(tmp_path / "slack", SLACK + "\n")
    r = build_receiver(
        "chat",
        receiver_settings(type="slack", url_file="$CREDENTIALS_DIRECTORY/slack"),
        {"CREDENTIALS_DIRECTORY": str(tmp_path)},
    )
    assert r.url == SLACK
    assert "filesecret0123456789" not in scrub(f"POST {SLACK} failed")
    assert "/services/T0FILE/B0FILE/filesecret0123456789" not in scrub(
        "path /services/T0FILE/B0FILE/filesecret0123456789"
    )


def test_token_from_env_and_missing_env_names_the_key() -> None:
    r = build_receiver(
        "pager", receiver_settings(type="pagerduty", token_env="PD_KEY"), {"PD_KEY": "pdkey-from-env-123"}
    )
    assert r.token == "pdkey-from-env-123"
    assert scrub("key pdkey-from-env-123") == "key [REDACTED]"
    with pytest.raises(ConfigError, match=r"alerts.receivers.pager.token_env.*PD_KEY is not set"):
        build_receiver("pager", receiver_settings(type="pagerduty", token_env="PD_KEY"), {})


def test_unreadable_file_error_names_the_key_not_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"alerts.receivers.chat.url_file"):
        build_receiver("chat", receiver_settings(type="slack", url_file=str(tmp_path / "missing")), {})


def test_settings_validation() -> None:
    with pytest.raises(ConfigError, match="needs url"):
        receiver_settings(type="slack")
    with pytest.raises(ConfigError, match="routing key"):
        receiver_settings(type="pagerduty")
    with pytest.raises(ConfigError, match="only one of url, url_env"):
        receiver_settings(type="slack", url="https://x", url_env="X")
    with pytest.raises(ConfigError, match="room"):
        receiver_settings(type="matrix", url="https://m", token="t", room="alerts")
    with pytest.raises(ConfigError, match="group_by"):
        receiver_settings(type="slack", url="https://x", group_by=["colour"])
    with pytest.raises(ConfigError, match=r"routes\[0\].receivers.*no receiver 'nope'"):
        alerts_settings({"receivers": {}, "routes": [{"receivers": ["nope"]}]})


def test_secrets_never_reach_the_logs(tmp_path: Path) -> None:
    write_private(tmp_path / "hook", "whsec_c2VjcmV0LXNpZ25pbmcta2V5LWZvci1sb2dz")
    settings = alerts_settings(
        {
            "receivers": {
                "hook": {
                    "type": "webhook",
                    "url": "https://soar.example.org/in",
                    "token_file": str(tmp_path / "hook"),
                },
                "chat": {"type": "slack", "url": "https://hooks.slack.com/services/T1/B1/inlinesecret987654"},
            }
        }
    )
    build_receivers(settings, {})
    out = io.StringIO()
    logs.configure(level="info", fmt="json", stream=out)
    try:
        logs.get_logger("test").warning(
            "alert.delivery_failed",
            error="POST https://hooks.slack.com/services/T1/B1/inlinesecret987654 failed",
            detail="signing with whsec_c2VjcmV0LXNpZ25pbmcta2V5LWZvci1sb2dz",
        )
    finally:
        logs.configure(level="info", fmt="console")
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert "inlinesecret987654" not in json.dumps(line)
    assert "whsec_c2VjcmV0" not in json.dumps(line)
