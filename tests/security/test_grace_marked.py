"""Every request decided on Vault's remembered answers says so, whatever the route.

An insider whose token Vault revoked during an outage, or a thief of one token, acts through
the grace on more than the gate: publishing through the broker, deleting posts, locking
down, reading incidents. Each such request must be told apart afterwards (in the answer to
the tool that sent it, and in the audit trail), not only gate checks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from sentinel.api.app import create_app
from sentinel.api.caller_access import Authorizer
from sentinel.api.grace import AuthzGrace
from sentinel.store import Store
from tests.api.conftest import World, build_deps

CACHE = 5.0


@dataclass
class Outage:
    client: httpx.AsyncClient
    world: World
    down: list[bool]
    now: list[float]
    audit: list[tuple[str, str, str, dict[str, Any]]]

    def vault_lost(self) -> None:
        """The daemon's probe finds Vault unusable; the cached answers have run out."""
        self.down[0] = True
        self.now[0] += CACHE + 30

    def entries(self, action: str) -> list[tuple[str, str, str, dict[str, Any]]]:
        return [e for e in self.audit if e[1] == action]


@pytest.fixture
async def outage(world: World, tmp_path: Path) -> AsyncIterator[Outage]:
    store = Store(tmp_path / "state.sqlite3")
    down, now = [False], [1000.0]
    audit: list[tuple[str, str, str, dict[str, Any]]] = []
    authz = Authorizer(
        lambda: world.daemon,
        world.acl_prefix,
        CACHE,
        clock=lambda: now[0],
        grace=AuthzGrace(300.0, vault_down=lambda: down[0], clock=lambda: now[0]),
    )
    deps, _, _, _ = build_deps(
        world, store, authorizer=authz, audit=lambda *entry: audit.append((*entry[:3], dict(entry[3])))
    )
    app = create_app(deps)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield Outage(client, world, down, now, audit)
    assert deps.aclose is not None
    await deps.aclose()
    store.close()


def marked(resp: httpx.Response) -> float:
    """How old Vault's answer was, as the answer says (fails when it does not say)."""
    body = resp.json()
    assert body["authz"]["grace"] is True, body
    assert resp.headers["sentinel-authz-grace"] == str(body["authz"]["vault_answered_seconds_ago"])
    return float(body["authz"]["vault_answered_seconds_ago"])


async def test_a_broker_post_published_in_grace_is_marked_in_the_answer_and_the_audit(
    outage: Outage,
) -> None:
    c, auth = outage.client, outage.world.auth("op-pub")
    first = await c.post("/v1/accounts/acct-a/posts", json={"text": "before the outage"}, headers=auth)
    assert first.status_code == 201 and "authz" not in first.json()
    assert "authz" not in outage.entries("post.publish")[0][3]

    outage.vault_lost()
    resp = await c.post("/v1/accounts/acct-a/posts", json={"text": "during the outage"}, headers=auth)
    assert resp.status_code == 201, resp.text  # published on the platform on a remembered answer
    assert marked(resp) >= CACHE + 30
    [_, during] = outage.entries("post.publish")
    assert during[0] == "op-pub" and during[3]["authz"]["grace"] is True


async def test_a_refusal_and_a_read_in_grace_are_marked_and_audited(outage: Outage) -> None:
    c = outage.client
    pub, analyst = outage.world.auth("op-pub"), outage.world.auth("op-analyst")
    assert (await c.post("/v1/accounts/acct-b/posts", json={"text": "x"}, headers=pub)).status_code == 403
    assert (await c.get("/v1/incidents", headers=analyst)).status_code == 200

    outage.vault_lost()
    with structlog.testing.capture_logs() as logs:
        refused = await c.post("/v1/accounts/acct-b/posts", json={"text": "x"}, headers=pub)
    [decision] = [e for e in logs if e["event"] == "authz.decision"]
    assert decision["allowed"] is False and decision["grace"] is True
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "missing_capability"
    marked(refused)
    read = await c.get("/v1/incidents", headers=analyst)
    assert read.status_code == 200, read.text
    marked(read)
    audited = outage.entries("api.request_in_grace")
    assert [(e[2], e[3]["status"]) for e in audited] == [("publish", 403), ("incidents", 200)]
    assert all(e[3]["authz"]["grace"] is True and e[3]["decisions"] for e in audited)
