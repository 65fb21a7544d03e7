"""A hijack on Bluesky, end to end: real OpenBao, the real PDS, the daemon's services.

The attacker holds the account's main password (phished), mints an app password of their
own and keeps a logged-in session. They post out of band. The watcher sees the post, the
engine freezes the account, and the responder cuts the attacker off at the PDS: the app
password no longer logs in and the access token they already hold can no longer post.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from sentinel.config import load_config
from sentinel.creds.service import RotationService
from sentinel.creds.store import CredentialStore
from sentinel.errors import SentinelError, VaultPermissionDenied
from sentinel.post_guard import Guard
from sentinel.response.containment import freeze_policy_name
from sentinel.response.service import ResponseService
from sentinel.response.store import ResponseStore
from sentinel.vault.client import VaultClient
from sentinel.watcher.service import WatcherService
from tests.conftest import Deployment, running_app
from tests.response.pds_account import protect, xrpc
from tests.waiting import wait_for

SCAM = "We are giving back! Send 0.1 BTC to bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh, get 0.2 back https://claim-example.com"

pytestmark = pytest.mark.pds


async def test_out_of_band_post_on_bluesky_is_frozen_and_the_attacker_cut_off(
    deployment: Deployment, pds: Any
) -> None:
    acct = pds.create_account()
    handle, did, main_password = acct["handle"], acct["did"], acct["password"]
    protect(deployment, handle)
    cfg = deployment.config.read_text() + "[watcher]\nintervals = { bluesky = 1 }\n"
    deployment.config.write_text(cfg)
    config = load_config(deployment.config, env={})
    vault = VaultClient.from_settings(config.vault, env={})
    # Sentinel's own app password (what the broker and the watcher use), and the main password.
    session = xrpc(pds, "com.atproto.server.createSession", identifier=handle, password=main_password).json()
    ours = xrpc(pds, "com.atproto.server.createAppPassword", session["accessJwt"], name="sentinel").json()
    base = {"service": pds.url, "identifier": handle, "did": did}
    vault.kv_write("accounts/brand-bsky/password", {"value": main_password, **base}, cas=0)
    vault.kv_write(
        "accounts/brand-bsky/app_password", {"value": ours["password"], "name": "sentinel", **base}, cas=0
    )

    # The attacker: their own app password and an open session made with it.
    theirs = xrpc(pds, "com.atproto.server.createAppPassword", session["accessJwt"], name="phone").json()
    stolen = xrpc(
        pds, "com.atproto.server.createSession", identifier=handle, password=theirs["password"]
    ).json()

    # The usual operator can read the account's credentials (before the freeze).
    prefix = deployment.settings.policy_prefix
    deployment.admin.policy_write(
        f"{prefix}-role-social",
        f'path "{deployment.settings.kv_mount}/data/accounts/*" {{ capabilities = ["read"] }}',
    )
    deployment.admin.policy_write(
        freeze_policy_name(deployment.settings), 'path "x/none" { capabilities = ["deny"] }'
    )
    op_token, _ = deployment.admin.create_token(
        policies=[f"{prefix}-role-social", freeze_policy_name(deployment.settings)], ttl="30m"
    )
    operator = deployment.admin.with_token(op_token)
    assert operator.kv_read("accounts/brand-bsky/password").data

    app = running_app(config, vault)
    store = app.store
    alerts: list[dict[str, Any]] = []
    app.alert = lambda **kw: alerts.append(kw)
    watching = WatcherService()
    services = [Guard(), RotationService(), ResponseService(), watching]
    for s in services:
        await s.start(app)
    try:

        def polled() -> bool:  # the watcher's first poll: where to start from
            state = watching.watcher.state.get("brand-bsky") if watching.watcher else None
            return state is not None and state.polls > 0

        await wait_for(polled, timeout=30, what="the watcher's first poll")
        posted = xrpc(
            pds,
            "com.atproto.repo.createRecord",
            stolen["accessJwt"],
            repo=did,
            collection="app.bsky.feed.post",
            record={
                "$type": "app.bsky.feed.post",
                "text": SCAM,
                "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            },
        )
        assert posted.status_code == 200
        rs = ResponseStore(store)

        def settled() -> Any:
            rec = rs.get("brand-bsky")
            return rec if rec is not None and rec.settled else None

        rec = await wait_for(settled, timeout=60, what="the freeze to settle")
        assert rec.frozen and rec.automatic and rec.settled
        steps = {s.step: s.status for s in rec.steps}
        assert steps["gate"] == steps["vault"] == steps["sessions"] == steps["lock"] == "done", rec.steps
        # The app password is rotated; Bluesky has no API to change the main password,
        # so that is left to a person, and said so.
        rotate = next(s for s in rec.steps if s.step == "rotate")
        assert rotate.status == "todo" and "1 credential(s) rotated" in rotate.detail, rotate
        assert "password" in rotate.detail.split("by hand at the platform:")[1]
        creds = CredentialStore(vault)
        _, fresh = creds.current("brand-bsky", "app_password")
        assert fresh["value"] != ours["password"] and fresh["name"] != "sentinel"  # a new app password

        # The attacker's app password no longer logs in ...
        again = xrpc(pds, "com.atproto.server.createSession", identifier=handle, password=theirs["password"])
        assert again.status_code == 401
        # ... and the access token they already hold can no longer post (the account is deactivated).
        after = xrpc(
            pds,
            "com.atproto.repo.createRecord",
            stolen["accessJwt"],
            repo=did,
            collection="app.bsky.feed.post",
            record={
                "$type": "app.bsky.feed.post",
                "text": "still here?",
                "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            },
        )
        assert after.status_code in (400, 401, 403), after.text
        # Vault denies the account's secrets to its usual operators.
        with pytest.raises(VaultPermissionDenied):
            operator.kv_read("accounts/brand-bsky/password")
        # The evidence is in the incident, and an alert went out.
        incident = rs.incident(rec.incident or 0)
        assert incident is not None
        assert any(e["kind"] == "post" and e["data"]["text"] == SCAM for e in incident["events"])
        assert any(a["kind"] == "freeze" and a["accounts"] == ["brand-bsky"] for a in alerts)
        # Unfreezing needs the step-up (checked by the CLI) and someone allowed.
        responder = app.extras["responder"]
        with pytest.raises(SentinelError, match="TOTP"):
            await responder.unfreeze("brand-bsky", "cleaned up", "op-lee", verified_step_up=False)
        await responder.unfreeze("brand-bsky", "cleaned up", "op-lee", verified_step_up=True)
        assert operator.kv_read("accounts/brand-bsky/password").data
        # After the unfreeze (one more rotation) the credential Vault holds as current works.
        _, now_current = creds.current("brand-bsky", "app_password")
        assert now_current["value"] != fresh["value"]
        relogin = xrpc(
            pds, "com.atproto.server.createSession", identifier=handle, password=now_current["value"]
        )
        assert relogin.status_code == 200 and relogin.json().get("active", True) is not False
        old_one = xrpc(pds, "com.atproto.server.createSession", identifier=handle, password=fresh["value"])
        assert old_one.status_code == 401
    finally:
        for s in reversed(services):
            await s.stop()
        store.close()
        vault.close()
