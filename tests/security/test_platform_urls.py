"""Ids from requests and platforms never change which platform endpoint is called.

Before, post and comment ids went into Meta and Mastodon URLs unencoded: a ``reply_to`` of
``1234/feed?x=`` made a reply on Facebook a POST to the page's own feed. Every adapter now
builds paths through ``sentinel.platforms.http.api_path``. For each adapter and each call
that takes an id, the calls made for a hostile id are exactly the calls made for a plain
one, with the id in the same places, whole (as one path segment, or one query or body value).
The platforms themselves cannot run here: their documented shapes answer through
``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel.errors import PlatformError
from sentinel.platforms import create_adapter
from sentinel.platforms.base import PlatformAdapter
from tests.platforms.mockapi import no_sleep

PLAIN = "98765432123"
"""A plain id; a YouTube id of 11 characters is a video (``reply`` starts a thread on it),
every hostile one is a comment id there, so YouTube's plain id is a comment's."""
PLAIN_YOUTUBE = "UgzPlainComment123"
OAUTH = {"refresh_token": "r-123456", "client_id": "cid", "client_secret": "csecret-123456"}
PLATFORMS: dict[str, dict[str, str]] = {
    "facebook": {"access_token": "page-token-123456", "page_id": "1234"},
    "instagram": {"access_token": "ig-token-123456", "ig_user_id": "17841400000000000"},
    "threads": {"access_token": "th-token-123456", "user_id": "77"},
    "x": {"access_token": "x-access-123456", **OAUTH},
    "mastodon": {"service": "https://social.example", "access_token": "masto-token-abcdef", **OAUTH},
    "youtube": {"access_token": "ya29.token-123456", **OAUTH},
    "linkedin": {"access_token": "li-token-123456", "author": "urn:li:organization:5515715", **OAUTH},
}
Call = Callable[[PlatformAdapter, str], Awaitable[Any]]
CALLS: dict[str, Call] = {
    "reply": lambda a, i: a.reply(i, "thanks!"),
    "list_comments": lambda a, i: a.list_comments(i),
    "hide_comment": lambda a, i: a.hide_comment(i),
    "delete_comment": lambda a, i: a.delete_comment(i),
    "delete_post": lambda a, i: a.delete_post(i),
}
HOSTILE = ["1234/feed?x=", "..", ".", "a#b", "x&y=z", "?", "%2F", "é/ü ✓", "../../me", "1;2", "a\\b"]
Seen = tuple[str, tuple[str, ...], tuple[tuple[str, str], ...], str]


def answer(request: httpx.Request) -> httpx.Response:
    # One plausible answer for everything: an object with an id, the owner's id, and no pages.
    return httpx.Response(
        200,
        json={"id": "99", "data": [], "items": [], "elements": [], "descendants": [], "account": {"id": "5"}},
    )


def seen(request: httpx.Request) -> Seen:
    path, _, query = request.url.raw_path.decode("ascii").partition("?")
    segments = tuple(unquote(s) for s in path.split("/"))
    return request.method, segments, tuple(parse_qsl(query)), request.content.decode()


async def calls_for(platform: str, call: str, target: str) -> list[Seen]:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return answer(request)

    transport = httpx.MockTransport(handler)
    async with create_adapter(
        platform, "acct", dict(PLATFORMS[platform]), transport=transport, sleep=no_sleep
    ) as adapter:
        try:
            await CALLS[call](adapter, target)
        except (PlatformError, LookupError, TypeError, ValueError):
            pass  # not offered, or the canned answer is not enough: the calls made so far count
    return [seen(r) for r in requests]


def substitute(calls: list[Seen], target: str, plain: str) -> list[Seen]:
    """The plain run's calls with the plain id, wherever it appears whole, replaced by ``target``."""

    def one(value: str) -> str:
        return target if value == plain else value

    out = []
    for method, segments, query, body in calls:
        text = (
            json.dumps(json.loads(body)).replace(json.dumps(plain), json.dumps(target))
            if body.startswith("{")
            else "&".join(f"{k}={one(v)}" for k, v in parse_qsl(body))
        )
        out.append((method, tuple(one(s) for s in segments), tuple((k, one(v)) for k, v in query), text))
    return out


def normalised(calls: list[Seen]) -> list[Seen]:
    out = []
    for method, segments, query, body in calls:
        text = (
            json.dumps(json.loads(body))
            if body.startswith("{")
            else "&".join(f"{k}={v}" for k, v in parse_qsl(body))
        )
        out.append((method, segments, query, text))
    return out


def plain_id(platform: str) -> str:
    return PLAIN_YOUTUBE if platform == "youtube" else PLAIN


def assert_same_calls(platform: str, call: str, target: str) -> None:
    plain = asyncio.run(calls_for(platform, call, plain_id(platform)))
    hostile = asyncio.run(calls_for(platform, call, target))
    if hostile or target.isdigit():  # an adapter may refuse an id that cannot be one, before any call
        assert normalised(hostile) == substitute(plain, target, plain_id(platform))


CASES = [
    (platform, call)
    for platform in PLATFORMS
    for call in CALLS
    if not (platform == "linkedin" and call in ("hide_comment", "delete_comment"))  # URNs: below
]


@pytest.mark.parametrize("target", HOSTILE)
@pytest.mark.parametrize(("platform", "call"), CASES, ids=[f"{p}-{c}" for p, c in CASES])
def test_a_hostile_id_is_one_whole_segment_or_value(platform: str, call: str, target: str) -> None:
    assert_same_calls(platform, call, target)


def test_the_reported_attack_posts_a_comment_not_to_the_page_feed() -> None:
    calls = asyncio.run(calls_for("facebook", "reply", "1234/feed?x="))
    assert [(m, s) for m, s, _, _ in calls] == [("POST", ("", "v21.0", "1234/feed?x=", "comments"))]


def test_the_plain_runs_use_the_id() -> None:
    """The comparison above is not empty: every offered call puts the plain id in a request."""
    for platform, call in CASES:
        calls = asyncio.run(calls_for(platform, call, plain_id(platform)))
        if calls:
            assert any(plain_id(platform) in json.dumps(c) for c in calls), (platform, call, calls)


def test_linkedin_comment_urn_parts_are_each_one_segment() -> None:
    urn = "urn:li:comment:(urn:li:activity:1/2?x=,9#..)"
    calls = asyncio.run(calls_for("linkedin", "delete_comment", urn))
    assert [(m, s) for m, s, _, _ in calls] == [
        ("DELETE", ("", "rest", "socialActions", "urn:li:activity:1/2?x=", "comments", "9#.."))
    ]


IDS = st.text(
    alphabet=st.one_of(st.sampled_from("/?#&=.%;+ \\"), st.characters(exclude_categories=("Cs",))),
    min_size=1,
    max_size=20,
)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(target=IDS, case=st.sampled_from(CASES))
def test_any_id_keeps_the_calls_the_same(target: str, case: tuple[str, str]) -> None:
    assert_same_calls(*case, target)
