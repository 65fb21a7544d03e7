"""The rotation protocol against the real OpenBao and the sandbox platform over HTTP."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sentinel.creds.rotator import Rotator
from sentinel.creds.settings import RotationSettings
from sentinel.errors import SentinelError, VaultNotFound
from sentinel.inventory import Account, CredentialSpec, Inventory
from sentinel.platforms import create_adapter
from sentinel.vault.layout import credential_path
from tests.creds.conftest import FAST, CredsEnv, sandbox_accepts, sandbox_api, sandbox_app_passwords


class Abort(BaseException):
    """Stops a rotation dead at a checkpoint, like a crash (not an error the rotator handles)."""


def abort_at(step: str) -> Any:
    def checkpoint(name: str) -> None:
        if name == step:
            raise Abort(step)

    return checkpoint


def fault(env: CredsEnv, handle: str, count: int, status: int = 503) -> None:
    sandbox_api(
        env.sandbox_url, "POST", "/api/_faults", json={"handle": handle, "status": status, "count": count}
    )


async def test_password_rotation_in_four_round_trips(env: CredsEnv) -> None:
    account, first = env.sandbox_account(("password",))
    rotator = env.rotator()
    env.vault.round_trips = 0
    [result] = await rotator.rotate_account(account.id, force=True, reason="test")
    assert (result.status, result.version, result.previous) == ("rotated", 2, 1)
    assert env.vault.round_trips == 4  # read, generate, write pending, finish patch
    st, data = env.store.current(account.id, "password")
    assert st.phase == "idle" and st.current == 2 and st.previous == 1
    assert st.metadata["changed_by"] == "sentinel: test"
    assert sandbox_accepts(env.sandbox_url, account.handle, data["value"])
    assert not sandbox_accepts(env.sandbox_url, account.handle, first["password"])
    assert data["value"] != first["password"] and len(data["value"]) == 32  # the password policy's length


async def test_app_password_rotation_revokes_the_old_one(env: CredsEnv) -> None:
    account, first = env.sandbox_account(("password", "app_password"))
    results = await env.rotator().rotate_account(account.id, force=True)
    assert [r.status for r in results] == ["rotated", "rotated"]
    _, pw = env.store.current(account.id, "password")
    _, app = env.store.current(account.id, "app_password")
    assert sandbox_accepts(env.sandbox_url, account.handle, app["value"])
    assert not sandbox_accepts(env.sandbox_url, account.handle, first["app_password"])
    assert sandbox_app_passwords(env.sandbox_url, account.handle, pw["value"]) == [app["name"]]
    assert app["name"] == "sentinel-app_password-2"


async def test_concurrent_change_is_reported_never_overwritten(env: CredsEnv) -> None:
    account, _ = env.sandbox_account(("password",))
    path = credential_path(account.id, "password")

    def someone_else_writes(name: str) -> None:
        if name == "created":  # after our read, before our write
            env.admin.kv_write(path, {"value": "set-by-a-person-123"}, cas=1)

    [result] = await env.rotator(checkpoint=someone_else_writes).rotate_account(account.id, force=True)
    assert result.status == "conflict" and "concurrent change" in result.detail
    newest = env.admin.kv_read(path)
    assert newest.version == 2 and newest.data == {"value": "set-by-a-person-123"}


async def test_a_crash_after_storing_resumes_with_the_same_pending_version(env: CredsEnv) -> None:
    account, first = env.sandbox_account(("password",))
    with pytest.raises(Abort):
        await env.rotator(checkpoint=abort_at("stored")).rotate_account(account.id, force=True)
    st = env.store.state(account.id, "password")
    assert st is not None and st.phase == "pending" and st.pending == 2 and st.current == 1
    pending = env.store.read_version(account.id, "password", 2)["value"]
    # The platform has not heard of it yet: the current password still works.
    assert sandbox_accepts(env.sandbox_url, account.handle, first["password"])
    [result] = await env.rotator().rotate_account(account.id, force=True)
    assert (result.status, result.version) == ("resumed", 2)
    st, data = env.store.current(account.id, "password")
    assert st.newest == 2 and data["value"] == pending
    assert sandbox_accepts(env.sandbox_url, account.handle, pending)


async def test_a_crash_after_the_platform_took_it_resumes_without_changing_again(env: CredsEnv) -> None:
    account, first = env.sandbox_account(("password",))
    with pytest.raises(Abort):
        await env.rotator(checkpoint=abort_at("applied")).rotate_account(account.id, force=True)
    pending = env.store.read_version(account.id, "password", 2)["value"]
    assert sandbox_accepts(env.sandbox_url, account.handle, pending)
    assert not sandbox_accepts(env.sandbox_url, account.handle, first["password"])
    steps: list[str] = []
    [result] = await env.rotator(checkpoint=steps.append).rotate_account(account.id, force=True)
    assert result.status == "resumed" and "set.call" not in steps  # probed, not changed again


async def test_failures_back_off_then_park_and_alert_with_the_current_password_intact(env: CredsEnv) -> None:
    account, first = env.sandbox_account(("password",))
    alerts: list[dict[str, Any]] = []
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    settings = dataclasses.replace(FAST, attempts=4, backoff=1.0, backoff_max=3.0)
    rotator = env.rotator(settings, on_alert=lambda **kw: alerts.append(kw), sleep=sleep)
    fault(env, account.handle, count=50)
    [result] = await rotator.rotate_account(account.id, force=True)
    fault(env, account.handle, count=0)
    assert result.status == "parked" and result.attempts == 4 and result.version == 2
    # Exponential with jitter, bounded: [0.5,1], [1,2], [1.5,3].
    assert len(slept) == 3 and 0.5 <= slept[0] <= 1 and 1 <= slept[1] <= 2 and 1.5 <= slept[2] <= 3
    [alert] = alerts
    assert alert["kind"] == "rotation_failed" and alert["accounts"] == (account.id,)
    assert (
        "parked" in alert["summary"]
        and alert["details"]["cancel"] == f"sentinel rotate --cancel {account.id}"
    )
    st = env.store.state(account.id, "password")
    assert st is not None and st.phase == "parked" and "503" in st.parked_reason
    assert sandbox_accepts(env.sandbox_url, account.handle, first["password"])
    _, current = env.store.current(account.id, "password")
    assert current["value"] == first["password"]
    # A person resumes it once the platform is back: the same pending version is finished.
    [again] = await env.rotator().rotate_account(account.id, force=True)
    assert (again.status, again.version) == ("resumed", 2)
    st = env.store.state(account.id, "password")
    assert st is not None and st.phase == "idle" and not st.parked_reason


async def test_cancel_destroys_the_pending_version_and_keeps_current(env: CredsEnv) -> None:
    account, first = env.sandbox_account(("password", "app_password"))
    with pytest.raises(Abort):
        await env.rotator(checkpoint=abort_at("stored")).rotate_account(account.id, force=True)
    [cancelled, nothing] = await env.rotator().cancel(account.id, "op-ann")
    assert cancelled.status == "cancelled" and cancelled.version == 3
    assert nothing.status == "nothing_pending"
    path = credential_path(account.id, "password")
    meta = env.admin.kv_metadata(path)
    assert meta.versions[2]["destroyed"] is True
    assert meta.custom_metadata["current_version"] == "3" and meta.custom_metadata["cancelled_version"] == "2"
    assert env.admin.kv_read(path).data == {"value": first["password"]}
    assert sandbox_accepts(env.sandbox_url, account.handle, first["password"])


async def test_cancel_of_an_app_password_revokes_it_at_the_platform(env: CredsEnv) -> None:
    account, first = env.sandbox_account(("password", "app_password"))
    with pytest.raises(Abort):
        await env.rotator(checkpoint=abort_at("stored")).rotate_account(
            account.id, force=True, credentials=["app_password"]
        )
    names = sandbox_app_passwords(env.sandbox_url, account.handle, first["password"])
    assert sorted(names) == ["seed-app", "sentinel-app_password-2"]
    [r] = await env.rotator().cancel(account.id, "op-ann", ["app_password"])
    assert r.status == "cancelled"
    assert sandbox_app_passwords(env.sandbox_url, account.handle, first["password"]) == ["seed-app"]


async def test_cancel_is_refused_once_the_platform_uses_the_pending_secret(env: CredsEnv) -> None:
    account, _ = env.sandbox_account(("password",))
    with pytest.raises(Abort):
        await env.rotator(checkpoint=abort_at("applied")).rotate_account(account.id, force=True)
    [r] = await env.rotator().cancel(account.id, "op-ann")
    assert r.status == "failed" and f"sentinel rotate {account.id}" in r.detail
    st = env.store.state(account.id, "password")
    assert st is not None and st.phase == "pending"


async def test_an_orphaned_app_password_from_a_crash_is_revoked(env: CredsEnv) -> None:
    account, first = env.sandbox_account(("password", "app_password"))
    # Killed after the platform made the app password, before Vault stored it.
    with pytest.raises(Abort):
        await env.rotator(checkpoint=abort_at("created")).rotate_account(
            account.id, force=True, credentials=["app_password"]
        )
    assert env.store.state(account.id, "app_password").phase == "idle"  # type: ignore[union-attr]
    assert "sentinel-app_password-2" in sandbox_app_passwords(
        env.sandbox_url, account.handle, first["password"]
    )
    steps: list[str] = []
    [r] = await env.rotator(checkpoint=steps.append).rotate_account(
        account.id, force=True, credentials=["app_password"]
    )
    assert r.status == "rotated" and "create.orphan" in steps
    _, app = env.store.current(account.id, "app_password")
    assert sandbox_app_passwords(env.sandbox_url, account.handle, first["password"]) == [app["name"]]


async def test_versions_older_than_previous_are_pruned_only_after_the_grace_period(env: CredsEnv) -> None:
    account, _ = env.sandbox_account(("password",))
    path = credential_path(account.id, "password")
    clock = [datetime.now(UTC)]
    rotator = env.rotator(dataclasses.replace(FAST, grace=3600.0), clock=lambda: clock[0])
    for _ in range(3):
        await rotator.rotate_account(account.id, force=True)
    # Within the grace period nothing is pruned.
    assert sorted(env.admin.kv_metadata(path).versions) == [1, 2, 3, 4]
    clock[0] += timedelta(hours=2)
    await rotator.rotate_account(account.id, force=True)  # finish records: below 3 may go
    await rotator.rotate_account(account.id, force=True)  # its pending write prunes them
    versions = env.admin.kv_metadata(path).versions
    assert min(versions) >= 3 and max(versions) == 6
    with pytest.raises(VaultNotFound):
        env.admin.kv_read(path, version=1)
    st = env.store.state(account.id, "password")
    assert st is not None and st.previous == 5 and st.current == 6


async def test_not_due_outside_window_and_manual_kinds(env: CredsEnv) -> None:
    account, _ = env.sandbox_account(("password",), rotation=30 * 86400)
    settings = dataclasses.replace(FAST, windows="mon 00:00-00:01")
    [r] = await env.rotator(settings).rotate_account(account.id)
    assert r.status == "not_due"
    later = datetime.now(UTC) + timedelta(days=31)
    later = later + timedelta(days=(2 - later.weekday()) % 7 or 7)  # a Wednesday: outside the window
    [r] = await env.rotator(settings, clock=lambda: later).rotate_account(account.id)
    assert r.status == "outside_window"
    [r] = await env.rotator(FAST, clock=lambda: later).rotate_account(account.id)
    assert r.status == "rotated"
    key = Account("k", "sandbox", "k", "UTC", "gated", credentials=(CredentialSpec("api_key"),))
    env.accounts.append(key)
    [r] = await env.rotator().rotate_account("k", force=True)
    assert r.status == "manual" and "developer console" in r.detail


async def test_password_on_a_platform_without_a_password_api_is_manual(env: CredsEnv) -> None:
    account = Account("m", "mastodon", "brand", "UTC", "gated", credentials=(CredentialSpec("password"),))
    env.accounts.append(account)
    env.store.replace(
        account, "password", "password", {"value": "mastodon-pass-123"}, "seed", datetime.now(UTC)
    )
    [r] = await env.rotator().rotate_account("m", force=True)
    assert r.status == "manual" and "Preferences > Account > Security" in r.detail


async def test_force_rotate_raises_when_a_credential_could_not_be_rotated(env: CredsEnv) -> None:
    account, _ = env.sandbox_account(("password",))
    fault(env, account.handle, count=50)
    try:
        with pytest.raises(SentinelError, match="did not complete"):
            await env.rotator().force_rotate(account.id, "freeze: test")
    finally:
        fault(env, account.handle, count=0)
    results = await env.rotator().force_rotate(account.id, "unfreeze: test")
    assert [r.status for r in results] == ["resumed"]


async def test_missing_credential_is_reported(env: CredsEnv) -> None:
    env.accounts.append(
        Account("x1", "sandbox", "x1", "UTC", "gated", credentials=(CredentialSpec("password"),))
    )
    [r] = await env.rotator().rotate_account("x1", force=True)
    assert r.status == "missing"


async def test_oauth_refresh_is_stored_and_verified(env: CredsEnv) -> None:
    """X's documented token endpoint (POST /2/oauth2/token) and /2/users/me, served by
    httpx.MockTransport: X cannot run here."""
    issued: list[str] = ["access-0-abcdefgh"]
    revoked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/2/oauth2/token":
            form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
            assert form["grant_type"] == "refresh_token"
            n = len(issued)
            issued.append(f"access-{n}-abcdefgh")
            return httpx.Response(
                200,
                json={
                    "access_token": issued[-1],
                    "refresh_token": f"refresh-{n}-abcdefgh",
                    "expires_in": 7200,
                },
            )
        if request.url.path == "/2/oauth2/revoke":
            form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
            revoked.append(form["token"])
            return httpx.Response(200, json={"revoked": True})
        if request.url.path == "/2/users/me":
            token = request.headers["authorization"].removeprefix("Bearer ")
            if token in issued and token not in revoked:
                return httpx.Response(200, json={"data": {"id": "42", "username": "brand"}})
            return httpx.Response(401, json={"title": "Unauthorized"})
        return httpx.Response(404)

    account = Account("xa", "x", "brand", "UTC", "gated", credentials=(CredentialSpec("oauth_token"),))
    env.accounts.append(account)
    data = {"access_token": "access-0-abcdefgh", "refresh_token": "refresh-0-abcdefgh", "client_id": "cid"}
    env.store.replace(account, "oauth_token", "oauth_token", data, "seed", datetime.now(UTC))

    def adapters(acct: Account, creds: Any) -> Any:
        return create_adapter(acct.platform, acct.id, creds, transport=httpx.MockTransport(handler))

    rotator = Rotator(env.vault, Inventory(tuple(env.accounts)), FAST, env.settings.password_policy, adapters)
    [r] = await rotator.rotate_account("xa", force=True)
    assert r.status == "rotated"
    _, now = env.store.current("xa", "oauth_token")
    assert now["access_token"] == "access-1-abcdefgh" and now["refresh_token"] == "refresh-1-abcdefgh"
    assert now["client_id"] == "cid"
    assert revoked == ["access-0-abcdefgh"]  # X's adapter revokes the old access token itself


def test_default_rotation_periods_per_kind() -> None:
    settings = RotationSettings()
    assert settings.period_for("password") == 90 * 86400 and settings.period_for("app_password") == 30 * 86400
    assert settings.period_for("totp_seed") == 0 and settings.period_for("api_key") == 0


async def test_bad_data_in_vault_fails_that_credential_only(env: CredsEnv) -> None:
    bad, _ = env.sandbox_account(("password",))
    good, _ = env.sandbox_account(("password",))
    env.store.write_pending(bad.id, "password", {"not-a-value": "x"}, cas=1)
    results = await env.rotator().rotate_many(
        [(bad, bad.credentials[0]), (good, good.credentials[0])], force=True
    )
    assert [(r.account, r.status) for r in results] == [(bad.id, "failed"), (good.id, "rotated")]
    assert results[0].detail == "unexpected KeyError (see the logs)"


async def test_a_secret_stored_by_another_tool_is_recorded_once_then_rotated(env: CredsEnv) -> None:
    account, first = env.sandbox_account(("password",))
    path = credential_path(account.id, "password")
    env.admin.kv_delete_all(path)
    env.admin.kv_write(path, {"value": first["password"]}, cas=0)  # no custom_metadata at all
    env.vault.round_trips = 0
    [r] = await env.rotator().rotate_account(account.id, force=True)
    assert (r.status, r.version, r.previous) == ("rotated", 2, 1)
    assert env.vault.round_trips == 5  # one metadata patch to record version 1 as current
    st = env.store.state(account.id, "password")
    assert st is not None and st.metadata["kind"] == "password" and st.metadata["platform"] == "sandbox"
    creds = env.store.account_credentials(account)
    assert creds["identifier"] == account.handle and creds["password"] != first["password"]
