"""The rotation service in the daemon's lifecycle: resume at start, scheduled rotations,
forced rotations for the responder, reload, status, stop."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from sentinel.config import Config
from sentinel.creds.service import RotationService
from sentinel.creds.settings import RotationSettings
from sentinel.daemon import App
from sentinel.sdnotify import Notifier
from sentinel.store import Store
from sentinel.vault.layout import credential_path
from tests.creds.conftest import CredsEnv, _no_sleep, sandbox_accepts
from tests.creds.test_rotator import Abort, abort_at
from tests.waiting import wait_for

SETTINGS = RotationSettings(attempts=2, backoff=0.01, backoff_max=0.02, jitter=0, grace=0, scan_interval=0.05)


def app_for(env: CredsEnv, tmp_path: Path, settings: RotationSettings = SETTINGS) -> App:
    config = Config(vault=env.settings, rotation=settings)
    app = App(
        config=config, inventory=env.inventory, store=Store(tmp_path / "s.sqlite3"), notifier=Notifier({})
    )
    app.vault, app.vault_ok = env.vault, True
    return app


async def test_resumes_pending_at_start_rotates_due_and_serves_force_rotate(
    env: CredsEnv, tmp_path: Path
) -> None:
    pending, _ = env.sandbox_account(("password",))
    due, _ = env.sandbox_account(("password",), rotation=86400)
    idle, first_idle = env.sandbox_account(("password",), rotation=86400)
    with pytest.raises(Abort):
        await env.rotator(checkpoint=abort_at("applied")).rotate_account(pending.id, force=True)
    env.vault.kv_patch_metadata(credential_path(due.id, "password"), {"rotated": "2020-01-01T00:00:00Z"})
    app = app_for(env, tmp_path)
    service = RotationService({"base_url": env.sandbox_url, "sleep": _no_sleep})
    await service.start(app)
    try:
        assert app.extras["rotator"] is service

        def phase(acct: str) -> tuple[str, int]:
            st = env.store.state(acct, "password")
            assert st is not None
            return st.phase, st.current

        await wait_for(lambda: len(service.status()["last"]) == 2)
        assert phase(pending.id) == ("idle", 2) and phase(due.id) == ("idle", 2)
        assert phase(idle.id) == ("idle", 1)  # not due
        status = service.status()
        assert status["passes"] >= 1 and status["last"][f"{due.id}/password"]["status"] == "rotated"
        assert status["last"][f"{pending.id}/password"]["status"] == "resumed"
        # The responder's entry point, and a reload that changes the inventory.
        [r] = await service.force_rotate(idle.id, "freeze: test")
        assert r.status == "rotated" and not sandbox_accepts(
            env.sandbox_url, idle.handle, first_idle["password"]
        )
        extra, _ = env.sandbox_account(("password",))
        app.inventory = env.inventory
        await service.reload(app)
        [r] = await service.force_rotate(extra.id, "unfreeze: test")
        assert r.status == "rotated"
    finally:
        await service.stop()
        app.store.close()


async def test_a_session_keeps_one_vault_pool_across_forced_rotations(env: CredsEnv, tmp_path: Path) -> None:
    accounts = [env.sandbox_account(("password",))[0] for _ in range(2)]
    app = app_for(env, tmp_path)
    service = RotationService({"base_url": env.sandbox_url, "sleep": _no_sleep})
    await service.start(app)
    try:
        async with service.session():
            pool = env.vault._pool()
            assert pool is not None
            for account in accounts:
                [r] = await service.force_rotate(account.id, "freeze: test")
                assert r.status == "rotated" and env.vault._pool() is pool
        await wait_for(lambda: env.vault._pool() is None)  # closed once the scheduler's own pass is done too
    finally:
        await service.stop()
        app.store.close()


async def test_parked_rotation_raises_one_alert_and_is_not_retried_by_the_schedule(
    env: CredsEnv, tmp_path: Path
) -> None:
    from tests.creds.test_rotator import fault

    acct, _ = env.sandbox_account(("password",), rotation=86400)
    env.vault.kv_patch_metadata(credential_path(acct.id, "password"), {"rotated": "2020-01-01T00:00:00Z"})
    app = app_for(env, tmp_path)
    alerts: list[dict[str, Any]] = []
    app.alert = lambda **kw: alerts.append(kw)
    service = RotationService({"base_url": env.sandbox_url, "sleep": _no_sleep})
    fault(env, acct.handle, count=1000, status=500)
    await service.start(app)
    try:
        await wait_for(lambda: bool(alerts))
        passes = service.passes
        await wait_for(lambda: service.passes >= passes + 3)
        assert len(alerts) == 1 and alerts[0]["kind"] == "rotation_failed"
        st = env.store.state(acct.id, "password")
        assert st is not None and st.phase == "parked"
        assert service.status()["plan"] == {"parked": 1}
    finally:
        fault(env, acct.handle, count=0)
        await service.stop()
        app.store.close()


async def test_no_scheduled_rotation_when_disabled_or_vault_down(env: CredsEnv, tmp_path: Path) -> None:
    acct, _ = env.sandbox_account(("password",), rotation=86400)
    env.vault.kv_patch_metadata(credential_path(acct.id, "password"), {"rotated": "2020-01-01T00:00:00Z"})
    app = app_for(env, tmp_path, dataclasses.replace(SETTINGS, enabled=False))
    service = RotationService({"base_url": env.sandbox_url})
    await service.start(app)
    try:
        await wait_for(lambda: service.passes >= 3)
        assert service.status()["plan"] == {"due": 1}
        app.vault_ok = False
        assert await service.run_pass() == []
    finally:
        await service.stop()
        app.store.close()
    st = env.store.state(acct.id, "password")
    assert st is not None and st.current == 1
