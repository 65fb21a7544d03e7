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
from typing import Any

import pytest

from sentinel.engine import confusables, similarity
from sentinel.engine.confusables import Reading
from tests.api.conftest import Harness

ACCOUNTS = ("acct-a", "acct-b", "acct-c")
PLAIN = "Exclusive drop for followers only, grab yours now"
DISGUISED = (
    # Cyrillic е, о, у
    "Exclusiv\u0435 dr\u043ep f\u043er f\u043ell\u043ew\u0435rs only, grab \u0443ours now",
    # Greek ν, ο and Cyrillic а
    "Exclusi\u03bde drop for f\u03bfllowers \u03bfnly, gr\u0430b yours n\u03bfw",
    # Armenian օ, ո, ց and Cherokee ꮪ (s), ꮃ (w)
    "Exclu\uabaaive dr\u0585p for followers \u0585\u0578ly, \u0581rab your\uabaa no\uab83",
)
LINKS = ("https://hot-drops31.example/x", "https://flash-outlet7.example/y", "https://mega-deal44.example/z")
CAMPAIGN = "campaign.template-fresh-links"


async def send(h: Harness, texts: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each text checked at the gate on its own account, in turn; the gate's answers."""
    answers = []
    for account, text, link in zip(ACCOUNTS, texts, LINKS, strict=True):
        answer = await h.client.post(
            "/v1/check", json={"account": account, "text": f"{text} {link}"}, headers=h.auth("op-all")
        )
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
    return answers


def rules(answer: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in answer["findings"]}


async def test_plain_copies_are_one_campaign(shipped: Harness) -> None:
    *first, third = await send(shipped, (PLAIN,) * 3)
    assert all(CAMPAIGN not in rules(a) for a in first)
    assert CAMPAIGN in rules(third) and third["verdict"] != "allow", third


async def test_copies_read_as_written_were_three_unrelated_posts(
    shipped: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The similarity as it was: NFKC only, look-alikes compared as written."""
    monkeypatch.setattr(confusables, "read", lambda text: Reading(unicodedata.normalize("NFKC", text)))
    similarity._normalised.cache_clear()
    answers = await send(shipped, DISGUISED)
    similarity._normalised.cache_clear()
    assert all(CAMPAIGN not in rules(a) for a in answers), answers


async def test_copies_disguised_differently_are_one_campaign(shipped: Harness) -> None:
    *first, third = await send(shipped, DISGUISED)
    assert all(CAMPAIGN not in rules(a) for a in first)
    assert CAMPAIGN in rules(third) and third["verdict"] != "allow", third
    detail = next(f["detail"] for f in third["findings"] if f["rule"] == CAMPAIGN)
    assert "flash-outlet7.example" in detail and "hot-drops31.example" in detail


async def test_a_disguised_copy_joins_plain_ones(shipped: Harness) -> None:
    *_, third = await send(shipped, (PLAIN, PLAIN, DISGUISED[2]))
    assert CAMPAIGN in rules(third), third
