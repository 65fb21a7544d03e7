from __future__ import annotations

import pytest

from sentinel.errors import (
    VaultAuthError,
    VaultConflict,
    VaultNotFound,
    VaultPermissionDenied,
    VaultUnavailable,
)
from sentinel.net import free_port
from sentinel.redact import REDACTOR
from sentinel.vault.client import VaultClient


def test_kv_write_read_and_check_and_set(daemon_client: VaultClient) -> None:
    v1 = daemon_client.kv_write("accounts/a/password", {"value": "first-secret-1"}, cas=0)
    assert v1 == 1
    with pytest.raises(VaultConflict, match="concurrent change detected"):
        daemon_client.kv_write("accounts/a/password", {"value": "lost-write-22"}, cas=0)
    v2 = daemon_client.kv_write("accounts/a/password", {"value": "second-secret-2"}, cas=1)
    with pytest.raises(VaultConflict):
        daemon_client.kv_write("accounts/a/password", {"value": "stale-write-33"}, cas=1)
    assert v2 == 2
    assert daemon_client.kv_read("accounts/a/password").data == {"value": "second-secret-2"}
    assert daemon_client.kv_read("accounts/a/password", version=1).data == {"value": "first-secret-1"}
    assert REDACTOR.scrub("second-secret-2") == "[REDACTED]"  # values read are registered


def test_metadata_merge_patch_keeps_other_keys_and_settings(
    admin: VaultClient, daemon_client: VaultClient
) -> None:
    path = "accounts/b/password"
    daemon_client.kv_write(path, {"value": "v-123456"}, cas=0)
    # An operator set delete_version_after; hvac's update_metadata would reset it.
    admin.request("POST", f"{admin.kv_mount}/metadata/{path}", json={"delete_version_after": "720h"})
    daemon_client.kv_patch_metadata(path, {"kind": "password", "state": "current"})
    daemon_client.kv_patch_metadata(path, {"state": "pending", "rotated": "2026-11-28T00:00:00Z"})
    daemon_client.kv_patch_metadata(path, {"rotated": None})
    meta = daemon_client.kv_metadata(path)
    assert meta.custom_metadata == {"kind": "password", "state": "pending"}
    raw = admin.request("GET", f"{admin.kv_mount}/metadata/{path}")
    assert raw["data"]["delete_version_after"] == "720h0m0s"


def test_errors_are_translated(daemon_client: VaultClient, admin: VaultClient) -> None:
    with pytest.raises(VaultNotFound, match="nothing in Vault for reading"):
        daemon_client.kv_read("accounts/none/password")
    with pytest.raises(VaultPermissionDenied, match="permission denied"):
        daemon_client.policy_list()  # the daemon policy does not allow this
    with pytest.raises(VaultPermissionDenied):
        daemon_client.kv_write("elsewhere/x", {"v": "zzzzzzzz"}, cas=0)  # outside accounts/ and system/
    bad = admin.with_token("hvs.not-a-real-token-000000000000")
    with pytest.raises((VaultAuthError, VaultPermissionDenied)) as err:
        bad.kv_read("accounts/a/password")
    assert "not-a-real-token" not in str(err.value)


def test_unreachable_vault_is_vault_unavailable() -> None:
    client = VaultClient(f"http://127.0.0.1:{free_port()}", "tok-unused-123456", timeout=1.0)
    with pytest.raises(VaultUnavailable, match="Vault unreachable while reading"):
        client.kv_read("accounts/a/password")
    with pytest.raises(VaultUnavailable):
        client.health()


def test_password_generation_and_list_and_destroy(daemon_client: VaultClient, settings: object) -> None:
    pw = daemon_client.generate_password(settings.password_policy)  # type: ignore[attr-defined]
    assert len(pw) == 32 and any(c.isdigit() for c in pw) and any(c.isupper() for c in pw)
    assert REDACTOR.scrub(pw) == "[REDACTED]"
    for i in range(3):
        daemon_client.kv_write("accounts/c/app_password", {"value": f"pw-number-{i}"}, cas=i)
    assert daemon_client.kv_list("accounts/c/") == ["app_password"]
    assert daemon_client.kv_list("accounts/none/") == []
    daemon_client.kv_destroy_versions("accounts/c/app_password", [1])
    meta = daemon_client.kv_metadata("accounts/c/app_password")
    assert meta.versions[1]["destroyed"] is True and meta.current_version == 3


def test_tokens_capabilities_and_revocation(admin: VaultClient, daemon_client: VaultClient) -> None:
    me = daemon_client.lookup_self()
    assert any(p.endswith("-daemon") for p in me.policies) and me.renewable and me.ttl > 0
    caps = admin.capabilities_accessor(me.accessor, [f"{admin.kv_mount}/data/accounts/x", "sys/mounts"])
    assert set(caps[f"{admin.kv_mount}/data/accounts/x"]) == {"create", "read", "update"}
    assert caps["sys/mounts"] == ["deny"]
    token, accessor = admin.create_token(policies=["default"], ttl="10m")
    other = admin.with_token(token)
    assert other.lookup_self().accessor == accessor
    admin.revoke_accessor(accessor)
    with pytest.raises((VaultPermissionDenied, VaultAuthError)):
        other.lookup_self()


async def test_event_loop_calls_match_the_synchronous_ones(
    daemon_client: VaultClient, admin: VaultClient, settings: object
) -> None:
    path = "accounts/aio/password"
    async with daemon_client.session():
        assert daemon_client._pool() is not None
        trips = daemon_client.round_trips
        assert await daemon_client.akv_write(path, {"value": "aio-first-1"}, cas=0) == 1
        with pytest.raises(VaultConflict, match="concurrent change detected while writing"):
            await daemon_client.akv_write(path, {"value": "aio-lost-22"}, cas=0)
        assert await daemon_client.akv_write(path, {"value": "aio-second-2"}, cas=1) == 2
        latest = await daemon_client.akv_read(path)
        assert (latest.version, latest.data) == (2, {"value": "aio-second-2"})
        assert (await daemon_client.akv_read(path, version=1)).data == {"value": "aio-first-1"}
        await daemon_client.akv_patch_metadata(path, {"state": "current", "kind": "password"}, 5)
        await daemon_client.akv_patch_metadata(path, {"kind": None})
        meta = await daemon_client.akv_metadata(path)
        pw = await daemon_client.agenerate_password(settings.password_policy)  # type: ignore[attr-defined]
        assert daemon_client.round_trips - trips == 9
        with pytest.raises(VaultNotFound, match="nothing in Vault for reading"):
            await daemon_client.akv_read("accounts/none/password")
        with pytest.raises(VaultPermissionDenied, match="permission denied"):
            await daemon_client.akv_write("elsewhere/x", {"v": "zzzzzzzz"}, cas=0)
    assert meta.custom_metadata == {"state": "current"}
    assert admin.kv_metadata(path).custom_metadata == {"state": "current"}
    assert admin.request("GET", f"{admin.kv_mount}/metadata/{path}")["data"]["max_versions"] == 5
    assert len(pw) == 32 and REDACTOR.scrub(pw) == "[REDACTED]"
    assert REDACTOR.scrub("aio-second-2") == "[REDACTED]"
    assert daemon_client._pools.active == 0  # the last session closed its pool


async def test_event_loop_calls_outside_a_session_use_a_worker_thread(daemon_client: VaultClient) -> None:
    assert daemon_client._pool() is None
    assert await daemon_client.akv_write("accounts/t/password", {"value": "thread-1"}, cas=0) == 1
    assert (await daemon_client.akv_read("accounts/t/password")).data == {"value": "thread-1"}


async def test_sessions_nest_and_share_one_pool(daemon_client: VaultClient) -> None:
    async with daemon_client.session():
        outer = daemon_client._pool()
        async with daemon_client.session():
            assert daemon_client._pool() is outer
        assert daemon_client._pool() is outer
    assert daemon_client._pool() is None


async def test_an_unreachable_vault_is_vault_unavailable_on_the_loop_too() -> None:
    client = VaultClient(f"http://127.0.0.1:{free_port()}", "tok-unused-123456", timeout=1.0)
    async with client.session():
        with pytest.raises(VaultUnavailable, match="Vault unreachable while reading"):
            await client.akv_read("accounts/a/password")
