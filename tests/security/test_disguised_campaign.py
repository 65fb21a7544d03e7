"""One scam sent from three accounts, each copy disguised with other look-alike letters, through
the real gate with the shipped rules, against real OpenBao and the sandbox platform.

A red team posted one template from three accounts, each copy linking a fresh domain and each
written with different look-alikes (Cyrillic in one, Greek in another, Armenian and Cherokee in
the third) so that no two copies had the same words as written: the campaign rules compared the
raw text and saw three unrelated posts. Now the similarity reads look-alikes as the content rules
do, and the disguised copies are one campaign, as plain copies are.
"""

from __future__ import annotations

import unicodedata

import pytest

from sentinel.engine import confusables, similarity
from sentinel.engine.confusables import Reading
from tests.api.conftest import Harness
from tests.security.campaign_posts import ONE_CAMPAIGN, PLAIN, UNRELATED, campaign_answers

DISGUISED = (
    # Cyrillic е, о, у
    "Exclusiv\u0435 dr\u043ep f\u043er f\u043ell\u043ew\u0435rs only, grab \u0443ours now",
    # Greek ν, ο and Cyrillic а
    "Exclusi\u03bde drop for f\u03bfllowers \u03bfnly, gr\u0430b yours n\u03bfw",
    # Armenian օ, ո, ց and Cherokee ꮪ (s), ꮃ (w)
    "Exclu\uabaaive dr\u0585p for followers \u0585\u0578ly, \u0581rab your\uabaa no\uab83",
)


async def test_plain_copies_are_one_campaign(shipped: Harness) -> None:
    assert await campaign_answers(shipped, (PLAIN,) * 3) == ONE_CAMPAIGN


async def test_copies_read_as_written_were_three_unrelated_posts(
    shipped: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The similarity as it was: NFKC only, look-alikes compared as written."""
    monkeypatch.setattr(confusables, "read", lambda text: Reading(unicodedata.normalize("NFKC", text)))
    similarity._normalised.cache_clear()
    found = await campaign_answers(shipped, DISGUISED)
    similarity._normalised.cache_clear()
    assert found == UNRELATED


async def test_copies_disguised_differently_are_one_campaign(shipped: Harness) -> None:
    assert await campaign_answers(shipped, DISGUISED) == ONE_CAMPAIGN


async def test_a_disguised_copy_joins_plain_ones(shipped: Harness) -> None:
    assert await campaign_answers(shipped, (PLAIN, PLAIN, DISGUISED[2])) == ONE_CAMPAIGN
