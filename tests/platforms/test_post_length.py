"""Each platform's documented maximum post length, and how Sentinel counts a text against it:
never more than the platform itself counts, so a post the platform would take is never
refused (the documented shapes: X's weighted count, Bluesky's graphemes and bytes on the real
PDS, Mastodon's links and remote mentions, the publish request that carries the text whole)."""

from __future__ import annotations

import httpx
import pytest

from sentinel.platforms import Capability, PlatformRejected, capabilities_for, create_adapter, platforms
from sentinel.platforms.post_length import CHUNK, TextLimit, min_graphemes
from sentinel.platforms.registry import text_limit
from tests.pds_fixture import Pds
from tests.platforms.mockapi import MockApi, body, no_sleep

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
DOCUMENTED = {
    # platform: (maximum, unit, max_bytes, link_length)
    "bluesky": (300, "graphemes", 3_000, None),
    "facebook": (63_206, "characters", None, None),
    "instagram": (2_200, "characters", None, None),
    "linkedin": (3_000, "characters", None, None),
    "mastodon": (100_000, "characters", None, 23),
    "sandbox": (5_000, "characters", None, None),
    "threads": (500, "characters", None, None),
    "tiktok": (4_000, "characters", None, None),
    "x": (25_000, "characters", None, 23),
    "youtube": (10_000, "characters", None, None),
}


def test_every_platform_declares_its_documented_maximum_and_where_it_is_documented() -> None:
    assert set(DOCUMENTED) == set(platforms())
    for platform, (maximum, unit, max_bytes, link_length) in DOCUMENTED.items():
        limit = capabilities_for(platform).text_limit
        assert (limit.maximum, limit.unit, limit.max_bytes, limit.link_length) == (
            maximum,
            unit,
            max_bytes,
            link_length,
        ), platform
        assert limit.source.startswith(("https://", "sentinel/")), platform
        assert capabilities_for(platform).to_dict()["text_limit"]["maximum"] == maximum
    assert text_limit("no-such-platform").maximum == 100_000  # the API's own bound
    own = text_limit("x", 280)  # an account without Premium, as the inventory says
    assert (own.maximum, own.link_length) == (280, 23) and text_limit("x", None) == text_limit("x")


@pytest.mark.parametrize(
    ("text", "graphemes"),
    [
        ("plain text", 10),
        ("cafe\u0301", 4),  # a combining accent joins its letter
        (FAMILY, 1),  # four emoji and three zero-width joiners
        ("\U0001f44d\U0001f3fd", 1),  # a skin tone modifier
        ("\u2764\ufe0f", 1),  # a variation selector
        ("\U0001f1f8\U0001f1ea\U0001f1eb\U0001f1f7", 2),  # two flags
        ("\u0915\u094d\u0937", 1),  # a Devanagari conjunct
        ("\u1100\u1161\u11a8", 1),  # Hangul jamo
        ("\ud55c\uad6d\uc5b4", 3),  # Hangul syllables
        ("a\r\nb", 3),
        ("\u65e5\u672c\u8a9e", 3),
    ],
)
def test_graphemes_are_counted_as_a_reader_sees_them(text: str, graphemes: int) -> None:
    assert min_graphemes(text) == graphemes


def test_a_long_text_is_counted_in_pieces_never_above_its_graphemes() -> None:
    text = ("e\u0301" + FAMILY + " ") * CHUNK  # ten code points, three graphemes
    assert len(text) == 10 * CHUNK
    exact = 3 * CHUNK
    assert exact - len(text) // CHUNK - 1 <= min_graphemes(text) <= exact


def test_x_counts_a_link_as_23_and_an_emoji_sequence_as_no_more_than_x_does() -> None:
    """docs.x.com, Counting characters: every URL counts 23, an emoji 2 however many code points."""
    x = text_limit("x")
    long_link = "https://example.com/very/long/path/" + "p" * 200
    assert x.length(f"read {long_link} now") == len("read ") + 23 + len(" now")
    assert x.length(FAMILY * 10) <= 2 * 10
    at_limit = "a" * (25_000 - 24) + " " + long_link
    assert len(at_limit) > 25_000 and x.excess(at_limit) == ""
    assert "25000 characters" in x.excess("a" * 25_001)


def test_mastodon_counts_links_as_23_and_a_remote_mention_without_its_domain() -> None:
    m = text_limit("mastodon")
    assert m.length("hi @alice@social.example.org") == len("hi @alice")
    assert m.length("see https://example.org/" + "x" * 100) == len("see ") + 23


def test_threads_and_the_others_count_an_emoji_once() -> None:
    threads = text_limit("threads")
    assert threads.excess(FAMILY * 500) == ""
    assert threads.excess(FAMILY * 501) != ""


def test_a_limit_without_link_rules_counts_every_character() -> None:
    limit = TextLimit(10, "characters", "https://example.org")
    assert limit.excess("https://a.example/" + "b" * 10) != ""
    assert limit.excess("0123456789") == ""


async def test_x_publishes_a_text_at_its_limit_whole() -> None:
    """POST /2/tweets carries the text as given: Sentinel never shortens what it lets through."""
    api = MockApi()
    api.on("POST", "https://api.x.com/2/tweets", httpx.Response(201, json={"data": {"id": "1", "text": "t"}}))
    text = "a" * 25_000
    assert text_limit("x").excess(text) == ""
    creds = {"access_token": "tok", "client_id": "cid"}
    async with create_adapter("x", "x1", creds, transport=api.transport, sleep=no_sleep) as x:
        await x.publish(text)
    assert body(api.last("POST", "https://api.x.com/2/tweets")) == {"text": text}


@pytest.mark.pds
async def test_bluesky_takes_exactly_what_sentinel_lets_through(pds: Pds) -> None:
    """The real PDS checks app.bsky.feed.post against its lexicon: 300 graphemes of emoji
    (2,100 code points) are taken, one more grapheme is refused, and so are 3,001 bytes."""
    limit = text_limit("bluesky")
    longest = "\U0001f44d\U0001f3fd" * 300  # 300 graphemes, 600 code points, 2,400 bytes
    too_many = longest + "a"
    too_big = "\u00e9" * 1_500 + "a"  # 1,501 graphemes would be refused anyway; bytes first
    assert limit.excess(longest) == ""
    assert "graphemes" in limit.excess(too_many)
    assert "bytes" in limit.excess(too_big)
    assert Capability.PUBLISH in capabilities_for("bluesky").capabilities
    async with create_adapter("bluesky", "acct-bsky", pds.create_account(), base_url=pds.url) as bsky:
        posted = await bsky.publish(longest)
        assert posted.post_id
        for refused in (too_many, too_big):
            with pytest.raises(PlatformRejected):
                await bsky.publish(refused)


def test_the_sandbox_platform_refuses_what_its_adapter_declares() -> None:
    from sentinel.platforms import sandbox_server

    assert text_limit("sandbox").maximum == sandbox_server.MAX_TEXT
