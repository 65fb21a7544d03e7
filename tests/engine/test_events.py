from __future__ import annotations

import pytest

from sentinel.engine.events import EventError, parse_event

OK = {
    "id": "e1",
    "ts": "2026-03-01T22:10:00Z",
    "account": "a",
    "via": "gate",
    "text": "t",
    "client": "c",
    "post_id": "p",
}


def test_parse() -> None:
    e = parse_event(OK)
    assert e.iso == "2026-03-01T22:10:00Z" and e.ts == 1772403000.0 and e.author == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"via": "posted"}, "'via'"),
        ({"ts": "yesterday"}, "'ts'"),
        ({"text": 5}, "'text'"),
        ({"id": ""}, "'id'"),
    ],
)
def test_errors_name_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(EventError, match=message):
        parse_event({**OK, **change})
    with pytest.raises(EventError, match="post_id"):
        parse_event({k: v for k, v in OK.items() if k != "post_id"})
