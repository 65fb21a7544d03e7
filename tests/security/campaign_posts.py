"""One template posted through the real gate from three accounts, each copy linking a fresh
domain: what the campaign attacks send, and the rules the gate's answers found."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Harness

ACCOUNTS = ("acct-a", "acct-b", "acct-c")
PLAIN = "Exclusive drop for followers only, grab yours now"
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


async def campaign_answers(h: Harness, texts: tuple[str, ...]) -> list[set[str]]:
    """The campaign rule in each gate answer to ``texts`` sent in turn: the third copy is the one
    caught, naming the other copies' fresh domains, and its verdict is not allow."""
    answers = await send(h, texts)
    third = answers[2]
    if CAMPAIGN in rules(third):
        assert third["verdict"] != "allow", third
        detail = next(f["detail"] for f in third["findings"] if f["rule"] == CAMPAIGN)
        assert "flash-outlet7.example" in detail and "hot-drops31.example" in detail, detail
    return [rules(a) & {CAMPAIGN} for a in answers]


ONE_CAMPAIGN = [set(), set(), {CAMPAIGN}]
"""``campaign_answers`` of three copies of one campaign."""
UNRELATED: list[set[str]] = [set(), set(), set()]
"""``campaign_answers`` of three posts the campaign rule did not link."""
