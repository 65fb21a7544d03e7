"""A token given Sentinel's display name is not Sentinel: the daemon knows its own lines in
Vault's audit log by its token accessor as the audit device writes it (an HMAC the daemon asks
the device for at start), so an insider who creates a token called ``sentinel-daemon`` and
reads credentials with it is watched like anyone else. Performed against real OpenBao with a
file audit device."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from sentinel.config import Config, load_config
from sentinel.files import write_private
from sentinel.post_guard import Guard
from sentinel.vault.bootstrap import issue_daemon_token
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import AUDIT_DEVICE, DevVault
from sentinel.watcher.takeover_sources import TakeoverSources
from tests.audited_deployment import audited_deployment
from tests.conftest import running_app
from tests.waiting import wait_for


async def test_a_token_named_like_sentinel_is_not_sentinel_and_a_reissued_daemon_token_is(
    audited_bao: DevVault, tmp_path: Path
) -> None:
    accounts = [f"brand-{i}" for i in range(3)]
    d = audited_deployment(audited_bao, tmp_path, "imp", accounts)
    settings, admin, first_token = d.settings, d.admin, d.token
    assert settings.audit_device == AUDIT_DEVICE
    config = load_config(d.config, env={})
    for a in accounts:
        admin.kv_write(f"accounts/{a}/password", {"value": f"pw-{secrets.token_hex(8)}"}, cas=0)

    def as_logged(token: str) -> str:
        """The identity the audit log shows for a token without an entity."""
        info = admin.request("POST", "auth/token/lookup", json={"token": token})["data"]
        assert not info["entity_id"] and info["display_name"] == "token-sentinel-daemon"
        return f"accessor:{admin.audit_hash(AUDIT_DEVICE, info['accessor'])}"

    async def reads_seen(guard: Guard, token: str) -> None:
        """``token`` reads every account's credential and the guard has judged the reads."""
        seen = guard.takeover_events.get("vault", 0)
        with httpx.Client(base_url=audited_bao.addr, headers={"X-Vault-Token": token}) as c:
            for a in accounts:
                assert c.get(f"/v1/{settings.kv_mount}/data/accounts/{a}/password").status_code == 200
        await wait_for(lambda: guard.takeover_events.get("vault", 0) >= seen + 2 * len(accounts))

    # Sentinel runs a while with its first token, then restarts with a re-issued one
    first = await _run(config, lambda guard: reads_seen(guard, first_token))
    assert as_logged(first_token) not in first
    second_token, _ = issue_daemon_token(admin, settings, ttl="10m")
    write_private(tmp_path / "vault-token", second_token)
    # an insider creates a token with Sentinel's display name and reads with it
    reader = f"{settings.policy_prefix}-reader"
    admin.policy_write(reader, f'path "{settings.kv_mount}/data/accounts/*" {{ capabilities = ["read"] }}\n')
    fake, _ = admin.create_token(policies=[reader], ttl="10m", display_name="sentinel-daemon", no_parent=True)

    async def both_read(guard: Guard) -> None:
        await reads_seen(guard, second_token)
        await reads_seen(guard, fake)

    watched = await _run(config, both_read)
    # Sentinel's re-issued token is still Sentinel: nothing is learnt about it as a person ...
    assert as_logged(second_token) not in watched
    # ... and the insider's token, named like Sentinel, is watched like anyone else
    assert as_logged(fake) in watched
    admin.close()


async def _run(config: Config, story: Callable[[Guard], Awaitable[None]]) -> set[str]:
    """Start the guard and the takeover sources (the daemon's own token from ``config``), play
    ``story``, stop; return the identities the intake has learnt."""
    vault = VaultClient.from_settings(config.vault, env={})
    app = running_app(config, vault)
    guard, sources = Guard(), TakeoverSources()
    await guard.start(app)
    await sources.start(app)
    try:
        await wait_for(lambda: sources.tailer is not None and sources.tailer.status()["offset"] is not None)
        await story(guard)
        assert guard.intake is not None
        return set(guard.intake.identities)
    finally:
        await sources.stop()
        await guard.stop()
        vault.close()
        app.store.close()
