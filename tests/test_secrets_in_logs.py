"""A secret read from Vault never shows up in a log line, even when everything around it fails."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from sentinel import logs
from sentinel.errors import VaultError
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import DevVault


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    logs.configure(level="debug", fmt="json", stream=buf)
    yield buf  # tests/conftest.py's restore_logging puts logging back afterwards


def test_secret_from_vault_never_logged(bao: DevVault, captured: io.StringIO) -> None:
    admin = VaultClient(bao.addr, bao.root_token, kv_mount="logtest")
    admin.enable_kv2("logtest")
    admin.kv_write("accounts/acme/password", {"value": "Zq8-platform-password-!x"}, cas=0)

    fresh = VaultClient(bao.addr, bao.root_token, kv_mount="logtest")  # a new process would start clean
    secret = fresh.kv_read("accounts/acme/password").data["value"]
    log = logs.get_logger("sentinel.test")
    log.info("credential.loaded", account="acme", value=secret)
    log.warning("platform.login_failed", detail=f"login with {secret} rejected", password=secret)
    try:
        raise RuntimeError(f"adapter crashed holding {secret}")
    except RuntimeError:
        log.exception("adapter.crashed")
    logging.getLogger("httpx").error("request body: password=%s", secret)
    try:
        fresh.kv_write("accounts/acme/password", {"value": secret}, cas=0)  # conflicts
    except VaultError as e:
        log.error("vault.write_failed", error=str(e))
        assert secret not in str(e)
    try:
        VaultClient("http://127.0.0.1:9", secret, timeout=0.5).kv_read("x")  # the secret as a token
    except VaultError as e:
        log.error("vault.unreachable", error=str(e), token=secret)
        assert secret not in str(e)

    text = captured.getvalue()
    assert len(text.splitlines()) == 6
    assert secret not in text
    assert "[REDACTED]" in text
