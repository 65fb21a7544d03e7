"""Vault over TLS: the session's OpenBao serves a certificate from a CA the tests make
(``bao.tls_addr``, ``bao.ca_path``); the client's synchronous calls (hvac) and its
event-loop pool both verify it and keep their connections alive.

The rest of the Vault client suite (tests/vault), rotation (tests/creds) and the API
(tests/api) reach Vault over TLS too; refusals are in tests/security/test_vault_tls.py.
"""

from __future__ import annotations

import socket
import ssl

import pytest

from sentinel.config import VaultSettings
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import DevVault


def test_the_dev_server_presents_a_certificate_for_its_address_from_the_tests_ca(bao: DevVault) -> None:
    assert bao.ca_path is not None
    ctx = ssl.create_default_context(cafile=str(bao.ca_path))
    with (
        socket.create_connection(("127.0.0.1", bao.tls_port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        cert = tls.getpeercert()
    assert ("IP Address", "127.0.0.1") in cert["subjectAltName"]
    assert dict(x[0] for x in cert["issuer"])["commonName"] == "Sentinel test CA"


async def test_sync_and_event_loop_calls_over_tls(
    daemon_client: VaultClient, settings: VaultSettings
) -> None:
    assert daemon_client.addr.startswith("https://") and settings.ca_cert is not None
    assert daemon_client.health()["sealed"] is False
    v1 = daemon_client.kv_write("accounts/acct-tls/password", {"value": "one"}, cas=0)
    async with daemon_client.session():
        assert (await daemon_client.akv_read("accounts/acct-tls/password")).data == {"value": "one"}
        v2 = await daemon_client.akv_write("accounts/acct-tls/password", {"value": "two"}, cas=v1)
        await daemon_client.akv_patch_metadata("accounts/acct-tls/password", {"state": "current"})
        meta = await daemon_client.akv_metadata("accounts/acct-tls/password")
        password = await daemon_client.agenerate_password(settings.password_policy)
    assert (v1, v2) == (1, 2) and meta.custom_metadata == {"state": "current"} and password
    assert daemon_client.kv_read("accounts/acct-tls/password").data == {"value": "two"}


def test_a_dev_server_started_without_tls_has_no_tls_address() -> None:
    with pytest.raises(ValueError, match="without TLS"):
        _ = DevVault().tls_addr
