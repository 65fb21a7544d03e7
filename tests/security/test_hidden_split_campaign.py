"""One scam sent from three accounts, each copy split differently by invisible characters,
through the real gate with the shipped rules, against real OpenBao and the sandbox platform.

Each copy linked a fresh domain and had its words split by other characters Unicode draws as
nothing (zero-width space and non-joiner in one, the invisible separator and a tag character in
another, a word joiner, a Mongolian vowel separator and a bidirectional override in the third):
people read one message, but the campaign matching compared words with the invisible characters
still in them and saw three unrelated posts. Now the similarity drops invisible characters that
can only be hiding something, and the split copies are one campaign, as plain copies are.
"""

from __future__ import annotations

import pytest

from sentinel.engine import similarity
from tests.api.conftest import Harness
from tests.security.campaign_posts import ONE_CAMPAIGN, PLAIN, UNRELATED, campaign_answers

SPLIT = (
    "Excl\u200busive dr\u200cop for fol\u200blowers only, gr\u200cab yours now",
    "Exclusi\u2063ve drop f\u2063or followers on\U000e0020ly, grab yo\u2063urs now",
    "Ex\u2060clusive drop for follow\u180eers only, \u202egrab\u202c yours n\u200d\u2063ow",
)


async def test_split_copies_compared_as_written_were_three_unrelated_posts(
    shipped: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The similarity as it was: invisible characters left in the words."""
    monkeypatch.setattr(similarity, "unhide", lambda text: text)
    similarity._normalised.cache_clear()
    found = await campaign_answers(shipped, SPLIT)
    similarity._normalised.cache_clear()
    assert found == UNRELATED


async def test_copies_split_differently_are_one_campaign(shipped: Harness) -> None:
    assert await campaign_answers(shipped, SPLIT) == ONE_CAMPAIGN


async def test_a_split_copy_joins_plain_ones(shipped: Harness) -> None:
    assert await campaign_answers(shipped, (PLAIN, PLAIN, SPLIT[2])) == ONE_CAMPAIGN
