"""Lures written in look-alike letters, sent through the real gate and broker with the shipped
rules, against real OpenBao and the sandbox platform.

A red team wrote scam posts with Cyrillic, Greek, fullwidth and mathematical letters that look
Latin ("сlаim your frее NFT", "𝐯𝐞𝐫𝐢𝐟𝐲 your account", "ＡＩＲＤＲＯＰ"): no content rule's pattern
matched the text as written, so the gate allowed them. Now the content rules read them as the
Latin words they imitate, and words that mix scripts are a finding of their own: the gate
holds them (blocks the one with the most evidence) and the broker publishes nothing. Posts really written in Russian or Greek pass.
"""

from __future__ import annotations

import pytest

from sentinel.engine import context
from sentinel.engine.confusables import Reading
from tests.api.conftest import Harness

LURES = {
    # Cyrillic С, а, е inside Latin words
    "\u0421l\u0430im your fr\u0435\u0435 NFT before midnight": (
        "hold",
        {"content.prize-lure", "content.lure-phrases", "content.mixed-script-lure"},
    ),
    # mathematical bold
    "\U0001d42f\U0001d41e\U0001d42b\U0001d422\U0001d41f\U0001d432 your account within 24 hours": (
        "hold",
        {"content.credential-lure"},
    ),
    # fullwidth capitals, and a Cyrillic о in "connect"
    "\uff21\uff29\uff32\uff24\uff32\uff2f\uff30 for everyone who claims: c\u043ennect your wallet": (
        "block",
        {"content.prize-lure", "content.credential-lure", "content.mixed-script-lure"},
    ),
}
LEGITIMATE = (
    # Russian: words of look-alike letters alone (СОСО, ВТС) stay Russian
    "\u041e\u0442\u043a\u0440\u044b\u043b\u0438 \u043d\u043e\u0432\u044b\u0439 \u043c\u0430\u0433\u0430\u0437\u0438\u043d: "
    "\u0421\u041e\u0421\u041e \u0438 \u0412\u0422\u0421 \u0442\u043e\u0436\u0435 \u0442\u0443\u0442",
    # Greek: GIVEAWAY ... ΕΤΗ ("years") would read as a crypto giveaway if ΕΤΗ were folded to ETH
    "GIVEAWAY \u03b3\u03b9\u03b1 \u03c4\u03b1 10 \u0395\u03a4\u0397 \u03c4\u03b7\u03c2 "
    "\u03b5\u03c4\u03b1\u03b9\u03c1\u03b5\u03af\u03b1\u03c2 \u03bc\u03b1\u03c2! "
    "\u039a\u03b5\u03c1\u03b4\u03af\u03c3\u03c4\u03b5 \u03b4\u03ce\u03c1\u03b1",
)


@pytest.mark.parametrize("text", sorted(LURES))
async def test_the_gate_allowed_each_lure_when_it_read_the_text_as_written(
    shipped: Harness, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine as it was: the content rules matched the text as it was sent."""
    monkeypatch.setattr(context, "read", Reading)
    h = shipped
    answer = await h.client.post(
        "/v1/check", json={"account": "acct-a", "text": text}, headers=h.auth("op-pub")
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["verdict"] == "allow", answer.json()


@pytest.mark.parametrize("text", sorted(LURES))
async def test_the_gate_holds_a_lure_in_look_alike_letters(shipped: Harness, text: str) -> None:
    h = shipped
    answer = await h.client.post(
        "/v1/check", json={"account": "acct-a", "text": text}, headers=h.auth("op-pub")
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    verdict, rules = LURES[text]
    assert body["verdict"] == verdict, body
    assert {f["rule"] for f in body["findings"]} >= rules
    held = [p.id for p in h.deps.held.list(None, "acct-a", 10)]
    assert held == ([body["held_id"]] if verdict == "hold" else [])


async def test_the_broker_publishes_nothing_of_such_a_lure(shipped: Harness) -> None:
    h = shipped
    posts = len(h.world.posts("acct-a"))
    text = "\u0421l\u0430im your fr\u0435\u0435 NFT before midnight"
    answer = await h.client.post("/v1/accounts/acct-a/posts", json={"text": text}, headers=h.auth("op-pub"))
    assert answer.json()["held"]["id"], answer.text
    assert len(h.world.posts("acct-a")) == posts


@pytest.mark.parametrize("text", LEGITIMATE)
async def test_a_post_written_in_another_script_passes(shipped: Harness, text: str) -> None:
    h = shipped
    answer = await h.client.post(
        "/v1/check", json={"account": "acct-a", "text": text}, headers=h.auth("op-pub")
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["verdict"] == "allow" and answer.json()["findings"] == [], answer.json()
