from __future__ import annotations

import pytest

from sentinel.net import default_hosts, host_entry, parse_host, url_host


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("localhost", ("localhost", None)),
        ("LocalHost:8470", ("localhost", 8470)),
        ("[::1]:8470", ("[::1]", 8470)),
        ("[::1]", ("[::1]", None)),
        ("sentinel_1.internal", ("sentinel_1.internal", None)),
        ("::1", None),
        ("evil.example:80:80", None),
        ("http://evil.example", None),
        ("evil.example/x", None),
        ("", None),
        ("localhost:", None),
        ("a b", None),
    ],
)
def test_parse_host(value: str, parsed: tuple[str, int | None] | None) -> None:
    assert parse_host(value) == parsed


def test_default_hosts_leave_out_wildcard_binds() -> None:
    assert default_hosts("::1") == ("[::1]", "localhost", "127.0.0.1", "[::1]")
    assert default_hosts("0.0.0.0") == default_hosts("::") == ("localhost", "127.0.0.1", "[::1]")
    assert host_entry("10.0.0.5") == "10.0.0.5"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://sentinel.example.com/", "sentinel.example.com"),
        ("https://[2001:db8::1]:8443", "[2001:db8::1]"),
        ("ftp://sentinel.example.com", None),
        ("sentinel.example.com", None),
        ("https://u:p@sentinel.example.com", None),
        ("https://[bad", None),
    ],
)
def test_url_host(url: str, host: str | None) -> None:
    assert url_host(url) == host
