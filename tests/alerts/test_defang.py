from __future__ import annotations

import pytest

from sentinel.alerts.defang import defang, defuse, neutralise_mentions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://evil.com", "hxxps://evil[.]com"),
        ("go to http://Sub.Evil.co.uk/path?a=1", "go to hxxp://Sub[.]Evil[.]co[.]uk/path?a=1"),
        ("claim at evil.com now", "claim at evil[.]com now"),
        ("ftp://10.0.0.1/x", "fxp://10[.]0[.]0[.]1/x"),
        ("mail bob@scam.io", "mail bob@scam[.]io"),
        ("version 1.2 is out", "version 1.2 is out"),
        ("hxxps://evil[.]com", "hxxps://evil[.]com"),
    ],
)
def test_defang(text: str, expected: str) -> None:
    assert defang(text) == expected


def test_defang_is_idempotent() -> None:
    once = defang("see https://a.b.example.org/x and c.io")
    assert defang(once) == once


def test_mass_mentions_are_neutralised() -> None:
    out = neutralise_mentions("hey @channel and @here and @everyone, <!channel>, @room; @alice stays")
    for word in ("@channel", "@here", "@everyone", "!channel", "@room"):
        assert word not in out
    assert "@alice" in out
    assert "hxxps://x[.]io" in defuse("@everyone https://x.io")


def test_control_and_bidirectional_characters_are_written_out() -> None:
    # A post that would clear the operator's terminal, retitle it, overwrite a line and
    # show a reversed address, as `sentinel incidents show` would print it.
    text = "Hi\x1b[2J\x1b]0;ok\x07 all\rfine \u202emoc.live\u202c\r\nbye\tnow \x9b31m"
    assert (
        defuse(text) == "Hi\\x1b[2J\\x1b]0;ok\\x07 all\\x0dfine \\u202emoc[.]live\\u202c\nbye\tnow \\x9b31m"
    )
    assert defuse(defuse(text)) == defuse(text)
