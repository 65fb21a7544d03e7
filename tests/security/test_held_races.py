"""Held posts approved by two people at the same moment, against real OpenBao and the
sandbox platform: exactly one approval publishes, the other is told it came second, and
the post appears on the platform once."""

from __future__ import annotations

import asyncio

from tests.api.conftest import Harness, harness, world

__all__ = ["harness", "world"]


async def test_two_approvals_at_once_publish_once(harness: Harness) -> None:
    h = harness
    text = "HOLDME two approvers race for this one"
    held = await h.client.post("/v1/accounts/acct-a/posts", json={"text": text}, headers=h.auth("op-editor"))
    assert held.status_code == 202, held.text
    held_id = held.json()["held"]["id"]
    answers = await asyncio.gather(
        *(
            h.client.post(f"/v1/held/{held_id}/{verb}", json={}, headers=h.auth(person))
            for person, verb in (("op-all", "approve"), ("op-approver", "approve"), ("op-approver", "reject"))
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409, 409], [a.text for a in answers]
    assert all(a.json()["error"]["code"] == "conflict" for a in answers if a.status_code == 409)
    final = h.deps.held.get(held_id)
    assert final is not None and final.status in ("published", "rejected")
    published = [p for p in h.world.posts("acct-a") if p["text"] == text]
    assert len(published) == (1 if final.status == "published" else 0)
