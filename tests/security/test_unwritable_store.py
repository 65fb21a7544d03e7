"""The state database unwritable (a full ``/var``, another process holding its write lock).

A hijack meanwhile must still be contained: the attacker (or bad luck) makes the store unwritable — a full ``/var``, another process
holding the database's write lock — and then posts a scam with a stolen token. The gate
blocks the account at once from memory; the freeze must then be recorded and its steps
(deny secrets, revoke sessions, rotate, lock) run once the store can be written again, or
a restart would hand the account back to the attacker with nothing contained. And a request
that cannot be completed gets a clear answer saying why, never an internal error.
"""

from __future__ import annotations

import secrets
import sqlite3

from sentinel.daemon import STORE_BUSY_SECONDS
from sentinel.response.store import ResponseStore
from tests.api.conftest import Harness
from tests.conftest import Deployment, person_token
from tests.security.test_identity import Daemon, daemon, lure, publisher
from tests.waiting import wait_for

__all__ = ["daemon"]


def lock_store(path: object) -> sqlite3.Connection:
    """Another process's connection holding the database's write lock (ROLLBACK releases it)."""
    locker = sqlite3.connect(str(path), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    return locker


def moderator(deployment: Deployment) -> tuple[str, dict[str, str]]:
    """A person who may publish on and moderate lure-1: their name and request headers."""
    name = f"mod-{secrets.token_hex(3)}"
    policy = f"{deployment.settings.policy_prefix}-{name}"
    deployment.admin.policy_write(
        policy,
        'path "sentinel/accounts/lure-1/publish" { capabilities = ["update"] }\n'
        'path "sentinel/accounts/lure-1/moderate" { capabilities = ["update"] }',
    )
    token, _ = person_token(deployment.admin, name, [policy])
    return name, {"Authorization": f"Bearer {token}"}


async def test_a_freeze_made_while_the_store_is_locked_is_recorded_and_contained_after(
    daemon: Daemon, deployment: Deployment
) -> None:
    name = f"thief-{secrets.token_hex(3)}"
    token = publisher(deployment, name, assert_author=False)
    rs = ResponseStore(daemon.app.store)
    daemon.app.store.execute(f"PRAGMA busy_timeout = {int(STORE_BUSY_SECONDS * 1000)}")  # the daemon's
    locker = lock_store(daemon.app.store.path)
    try:
        resp = await lure(daemon, token, "lure-1", name)
        assert resp.status_code == 200 and resp.json()["verdict"] == "block" and resp.json()["frozen"]
        await wait_for(lambda: not daemon.guard._tasks, what="the freeze's first attempt")
        assert rs.frozen() == []  # nothing could be recorded yet
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert daemon.guard.engine is not None and daemon.guard.engine.frozen("lure-1") is not None

    await wait_for(lambda: rs.frozen() == ["lure-1"], timeout=15, what="the freeze recorded")
    await wait_for(lambda: not daemon.guard._tasks, timeout=30, what="the freeze's steps")
    record = rs.get("lure-1")
    assert record is not None and record.automatic and record.actor == "sentinel"
    assert record.settled, record.steps  # every step ran, as on any freeze
    daemon.guard.sync_freezes()  # the store and the gate agree: still blocked
    assert daemon.guard.engine.frozen("lure-1") is not None


async def test_a_request_the_store_cannot_record_is_answered_503_store_unavailable(harness: Harness) -> None:
    harness.store.execute(f"PRAGMA busy_timeout = {int(STORE_BUSY_SECONDS * 1000)}")
    locker = lock_store(harness.store.path)
    try:  # a held post must be recorded to exist: the tool is told to hold it and retry
        resp = await harness.client.post(
            "/v1/check", json={"account": "acct-a", "text": "HOLDME please"}, headers=harness.auth("op-pub")
        )
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert resp.status_code == 503, resp.text
    error = resp.json()["error"]
    assert error["code"] == "store_unavailable" and "sqlite" not in error["message"]
    assert str(harness.store.path) not in resp.text
    again = await harness.client.post(
        "/v1/check", json={"account": "acct-a", "text": "HOLDME please"}, headers=harness.auth("op-pub")
    )
    assert again.status_code == 200 and again.json()["verdict"] == "hold"


async def test_a_post_deleted_while_the_store_is_locked_is_still_audited(
    daemon: Daemon, deployment: Deployment
) -> None:
    # the thief of a moderator's token blinds the audit trail (fills the disk, or holds the
    # database's lock) and deletes the brand's posts: the deletion must still be audited
    name, auth = moderator(deployment)
    published = await daemon.client.post(
        "/v1/accounts/lure-1/posts", json={"text": "Opening hours"}, headers=auth
    )
    assert published.status_code == 201, published.text
    post_id = published.json()["post"]["post_id"]
    daemon.app.store.execute(f"PRAGMA busy_timeout = {int(STORE_BUSY_SECONDS * 1000)}")
    locker = lock_store(daemon.app.store.path)
    try:
        deleted = await daemon.client.delete(f"/v1/accounts/lure-1/posts/{post_id}", headers=auth)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert deleted.status_code == 200, deleted.text  # gone from the platform
    again = await daemon.client.post("/v1/accounts/lure-1/posts", json={"text": "Back at 9"}, headers=auth)
    assert again.status_code == 201, again.text
    assert daemon.app.audit is not None
    entries = [(e.actor, e.action, e.details.get("post_id")) for e in daemon.app.audit.entries()]
    published_again = again.json()["post"]["post_id"]
    assert entries[-3:] == [
        (name, "post.publish", post_id),
        (name, "post.delete", post_id),  # written once the store could take it, before the next
        (name, "post.publish", published_again),
    ]
    [held] = [e for e in daemon.app.audit.entries() if e.action == "post.delete"]
    assert held.details["happened_at"] <= held.ts


async def test_actions_cannot_push_a_held_audit_entry_out_of_the_trail(
    daemon: Daemon, deployment: Deployment
) -> None:
    # the thief of a moderator's token blinds the store, deletes the brand's post, then acts
    # on and on so that the deletion's entry, held in memory, is pushed out of the bounded
    # backlog before the store can take it: the trail would never show the deletion
    _, auth = moderator(deployment)
    assert daemon.app.audit is not None
    daemon.app.audit.backlog.limit = 3  # the bound under attack (1,000 in the daemon), kept small
    posts = []
    for n in range(5):
        published = await daemon.client.post(
            "/v1/accounts/lure-1/posts", json={"text": f"Hours {n}"}, headers=auth
        )
        assert published.status_code == 201, published.text
        posts.append(published.json()["post"]["post_id"])
    daemon.app.store.execute(f"PRAGMA busy_timeout = {int(STORE_BUSY_SECONDS * 1000)}")
    locker = lock_store(daemon.app.store.path)
    try:
        answers = [await daemon.client.delete(f"/v1/accounts/lure-1/posts/{p}", headers=auth) for p in posts]
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert [a.status_code for a in answers] == [200, 200, 200, 503, 503], [a.text for a in answers]
    refused = answers[3].json()["error"]
    assert refused["code"] == "store_unavailable" and "audit trail" in refused["message"]
    assert daemon.app.audit.flush_held()
    deleted = [e.details.get("post_id") for e in daemon.app.audit.entries() if e.action == "post.delete"]
    assert deleted == posts[:3]  # every deletion done is in the trail, the first one included
    again = await daemon.client.delete(f"/v1/accounts/lure-1/posts/{posts[3]}", headers=auth)
    assert again.status_code == 200, again.text  # refused only while nothing more could be held
