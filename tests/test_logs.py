from __future__ import annotations

import io
import json
import logging

import structlog

from sentinel import logs
from sentinel.redact import register_secret


def test_json_lines_with_secrets_scrubbed_including_exceptions() -> None:
    buf = io.StringIO()
    logs.configure(level="info", fmt="json", stream=buf)
    register_secret("pw-0123456789")
    log = logs.get_logger("t")
    log.info("login.attempt", user="alice", detail="using pw-0123456789", password="unregistered-but-keyed")
    try:
        raise RuntimeError("failed with pw-0123456789")
    except RuntimeError:
        log.exception("login.failed")
    logging.getLogger("httpx").warning("library said pw-0123456789")
    text = buf.getvalue()
    assert "pw-0123456789" not in text and "unregistered-but-keyed" not in text
    lines = [json.loads(x) for x in text.splitlines()]
    assert lines[0]["event"] == "login.attempt" and lines[0]["user"] == "alice"
    assert lines[0]["level"] == "info" and lines[0]["timestamp"].endswith("Z")
    assert "RuntimeError" in lines[1]["exception"] and "[REDACTED]" in lines[1]["exception"]
    assert lines[2]["logger"] == "httpx"


def test_console_format_and_level_filter() -> None:
    buf = io.StringIO()
    logs.configure(level="warning", fmt="console", stream=buf)
    log = logs.get_logger("t")
    log.info("hidden")
    log.warning("shown", n=1)
    out = buf.getvalue()
    assert "hidden" not in out and "shown" in out and "n=1" in out


def test_a_recurring_failure_is_its_start_changes_summaries_and_end() -> None:
    now = [0.0]
    with structlog.testing.capture_logs() as lines:
        failing = logs.Recurring(
            logs.get_logger("t"), "thing.failed", "thing.recovered", every=60.0, clock=lambda: now[0]
        )
        assert failing.ok() is False  # nothing to recover from
        written = []
        for _ in range(30):  # every 2 s for a minute: the first line, the rest counted
            written.append(failing.failed("Vault unreachable"))
            now[0] += 2.0
        assert written == [True] + [False] * 29
        assert failing.failed("Vault unreachable") is True  # a minute on: the summary
        assert failing.failed("Vault unreachable") is False
        assert failing.failed("Vault sealed") is True  # a change is said at once
        now[0] += 1.0
        assert failing.ok(extra=1) is True and failing.ok() is False
    assert [(x["event"], x["log_level"]) for x in lines] == [
        ("thing.failed", "warning"),
        ("thing.failed", "warning"),
        ("thing.failed", "warning"),
        ("thing.recovered", "info"),
    ]
    first, summary, change, end = lines
    assert first["error"] == "Vault unreachable" and "repeated" not in first
    assert summary["repeated"] == 29 and summary["failing_for"] == 60.0
    assert change["error"] == "Vault sealed" and change["previous"] == "Vault unreachable"
    assert change["repeated"] == 1
    assert end["failures"] == 33 and end["error"] == "Vault sealed" and end["failing_for"] == 61.0
    assert end["extra"] == 1
