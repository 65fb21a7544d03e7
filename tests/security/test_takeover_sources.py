"""Attacks on how the account-state watcher tells Sentinel's own changes from a hijacker's,
against a real OpenBao (Sentinel's own least-privilege token) and the sandbox platform."""

from __future__ import annotations

from pathlib import Path

from sentinel.platforms import create_adapter
from sentinel.store import Store
from sentinel.watcher.account_state import AccountStateWatcher
from tests.creds.conftest import CredsEnv, sandbox_api, sandbox_login
from tests.watcher.accounts import Sink


async def test_an_app_password_named_like_sentinels_is_still_the_hijackers(
    env: CredsEnv, tmp_path: Path
) -> None:
    account, first = env.sandbox_account(("password", "app_password"))
    other, _ = env.sandbox_account(("password",))
    sink = Sink()
    watcher = AccountStateWatcher(Store(tmp_path / "state.db"), sink)
    creds = {"identifier": account.handle, "password": first["password"]}
    async with create_adapter("sandbox", account.id, creds, base_url=env.sandbox_url) as adapter:
        watcher.add(account.id, adapter)
        assert await watcher.snapshot(account.id) == []
        # Sentinel rotates the app password (real Vault, real platform calls)
        results = await env.rotator(on_own_change=watcher.own.note).rotate_account(account.id, force=True)
        assert [r.status for r in results] == ["rotated", "rotated"]
        _, pw = env.store.current(account.id, "password")
        adapter.credentials["password"] = pw["value"]
        # the hijacker (holding the new password too) names theirs the way Sentinel names its next one
        token = sandbox_login(env.sandbox_url, account.handle, pw["value"])
        sandbox_api(
            env.sandbox_url,
            "POST",
            "/api/app-passwords",
            token=token,
            json={"name": "sentinel-app_password-3"},
        )
        events = await watcher.snapshot(account.id)
    marks = {(e["old"], e["new"]): e.get("client") for e in events}
    assert marks == {
        ("seed-app", None): "Sentinel",  # retired by the rotation
        (None, "sentinel-app_password-2"): "Sentinel",  # created by the rotation
        (None, "sentinel-app_password-3"): None,  # the hijacker's, whatever its name
    }
    # a note for one account never vouches for the same change on another
    watcher.own.note(account.id, "app_password", "shared-name")
    assert not watcher.own.claim(other.id, "app_password", "shared-name")
