"""A takeover on Bluesky seen before any post: real OpenBao, the real PDS and PLC, the
daemon's services. The attacker (holding the phished main password) adds an app password
to keep access and renames the account; the account-state snapshot reports both changes;
the freeze revokes the attacker's app password and notes that as Sentinel's own change.
Sentinel logs in by DID, so the rename does not lock it out of the account it must freeze."""

from __future__ import annotations

from typing import Any

import pytest

from sentinel.creds.service import RotationService
from sentinel.guard import Guard
from sentinel.response.service import ResponseService
from sentinel.watcher.takeover_sources import TakeoverSources
from tests.conftest import Deployment
from tests.response.pds_account import protected_app, xrpc
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
    for s in services:
        await s.start(app)
    try:
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
    finally:
        for s in reversed(services):
            await s.stop()
        p.close()
