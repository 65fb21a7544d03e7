from __future__ import annotations

import io
import json
import logging

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
