"""A takeover on Bluesky seen before any post: real OpenBao, the real PDS and PLC, the
daemon's services. The attacker (holding the phished main password) adds an app password
to keep access and renames the account; the account-state snapshot reports both changes;
the freeze revokes the attacker's app password and notes that as Sentinel's own change.
Sentinel logs in by DID, so the rename does not lock it out of the account it must freeze.

The second test runs the daemon's path with no hand on it: the PDS's event stream starts the
snapshot, the guard's intake judges its account events and the engine's freeze reaches the
responder. (The test PDS accepts ``emailAuthFactor`` in ``updateEmail`` but never shows or
applies it, so turning e-mail two-factor off cannot be part of the attack here.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sentinel.creds.service import RotationService
from sentinel.post_guard import Guard
from sentinel.response.service import ResponseService
from sentinel.watcher.service import WatcherService
from sentinel.watcher.takeover_sources import TakeoverSources
from tests.conftest import Deployment
from tests.response.pds_account import STREAM_ONLY, protected_app, xrpc
from tests.waiting import wait_for

pytestmark = pytest.mark.pds


async def test_takeover_changes_are_reported_and_the_freeze_revokes_the_app_password(
    deployment: Deployment, pds: Any
) -> None:
    p = protected_app(
        deployment,
        pds,
        '[watcher]\nintervals = { bluesky = 3600 }\naccount_state_interval = "1h"\naccount_state_jitter = 0\n',
    )
    app, session, handle = p.app, p.session, p.acct["handle"]
    guard, sources = Guard(), TakeoverSources()
    services = [guard, RotationService(), ResponseService(), sources]
    async with p.running(*services):
        assert sources.accounts is not None
        watcher = sources.accounts
        await wait_for(lambda: watcher.status()["brand-bsky"]["snapshots"] == 1, timeout=30)
        # the attacker: an app password of their own, then a new handle
        theirs = xrpc(pds, "com.atproto.server.createAppPassword", session["accessJwt"], name="keep").json()
        renamed = "x" + handle
        assert (
            xrpc(pds, "com.atproto.identity.updateHandle", session["accessJwt"], handle=renamed).status_code
            == 200
        )
        events = await watcher.snapshot("brand-bsky")
        assert [(e["field"], e["old"], e["new"], e.get("client")) for e in events] == [
            ("handle", handle, renamed, None),
            ("app_password", None, "keep", None),
        ]
        assert guard.takeover_events["account"] == 2
        # the freeze (what the engine asks for on these events once their rules are connected)
        responder = app.extras["responder"]
        await responder.lock(
            ["brand-bsky"], "account takeover: new app password and handle", "sentinel", automatic=True
        )
        rec = responder.store.get("brand-bsky")
        steps = {s.step: (s.status, s.detail) for s in rec.steps}
        assert steps["sessions"][0] == "done" and "app password keep revoked" in steps["sessions"][1], steps
        again = xrpc(pds, "com.atproto.server.createSession", identifier=renamed, password=theirs["password"])
        assert again.status_code == 401
        # the revocation was noted first: once the account is unlocked, the snapshot that shows
        # "keep" gone marks it Sentinel's own change, not another takeover sign
        assert watcher.own.claim("brand-bsky", "app_password", "keep")


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def night_zone(hour: int = 3) -> str:
    """A fixed-offset timezone in which it is now about ``hour`` o'clock."""
    offset = (hour - datetime.now(UTC).hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-7 is seven hours ahead of UTC


async def test_the_engine_freezes_a_hijacked_account_before_the_first_post_and_revokes_its_app_password(
    deployment: Deployment, pds: Any
) -> None:
    # The account as a deployment knows it: its business hours in the inventory. The hijacker
    # (holding the phished main password) strikes at night, the account's local time.
    p = protected_app(
        deployment,
        pds,
        STREAM_ONLY,
        f'timezone = "{night_zone()}"\nbusiness_hours = "mon-fri 08:00-18:00"\n',
    )
    app, session, handle = p.app, p.session, p.acct["handle"]
    guard, watcher, sources = Guard(), WatcherService(), TakeoverSources()
    services = [guard, RotationService(), ResponseService(), watcher, sources]
    async with p.running(*services):
        assert sources.accounts is not None and watcher.push is not None and guard.engine is not None
        stream = next(iter(watcher.push.bluesky.values()))
        await wait_for(
            lambda: (
                sources.accounts is not None and sources.accounts.status()["brand-bsky"]["snapshots"] == 1
            ),
            timeout=30,
        )
        await wait_for(lambda: stream.live, timeout=20)
        # the attacker's session: an app password to keep access, a new handle and display name
        jwt = session["accessJwt"]
        theirs = xrpc(pds, "com.atproto.server.createAppPassword", jwt, name="keep").json()
        renamed = "x" + handle
        assert xrpc(pds, "com.atproto.identity.updateHandle", jwt, handle=renamed).status_code == 200
        profile = {"$type": "app.bsky.actor.profile", "displayName": "Northwind Giveaway"}
        put = xrpc(
            pds,
            "com.atproto.repo.putRecord",
            jwt,
            repo=p.acct["did"],
            collection="app.bsky.actor.profile",
            rkey="self",
            record=profile,
        )
        assert put.status_code == 200, put.text
        # only the stream can start the snapshot in time (schedule and polls are an hour away)
        await wait_for(
            lambda: guard.engine is not None and guard.engine.frozen("brand-bsky") is not None, timeout=20
        )
        responder = app.extras["responder"]
        await wait_for(
            lambda: (rec := responder.store.get("brand-bsky")) is not None and rec.settled, timeout=30
        )
        rec = responder.store.get("brand-bsky")
        assert rec.automatic and rec.actor == "sentinel"
        # the engine decided from the changes together: a way back in beside a new handle, three fields
        for rule in ("account.access-and-identity", "account.many-changes", "account.app-added"):
            assert rule in rec.reason
        steps = {s.step: (s.status, s.detail) for s in rec.steps}
        assert steps["sessions"][0] == "done" and "app password keep revoked" in steps["sessions"][1], steps
        assert steps["lock"][0] == "done", steps
        again = xrpc(pds, "com.atproto.server.createSession", identifier=renamed, password=theirs["password"])
        assert again.status_code == 401
        # the attacker's first post, with the session they still hold, comes too late
        post = xrpc(
            pds,
            "com.atproto.repo.createRecord",
            jwt,
            repo=p.acct["did"],
            collection="app.bsky.feed.post",
            record={"$type": "app.bsky.feed.post", "text": "Claim your airdrop", "createdAt": now()},
        )
        assert post.status_code == 401 and post.json()["error"] == "AccountDeactivated"
        assert guard.takeover_events == {"account": 3}
