"""The KV layout's metadata values, against the real OpenBao (which refuses unprintable or
over-long custom_metadata values)."""

from __future__ import annotations

import pytest

from sentinel.errors import VaultError
from sentinel.vault import layout as L
from sentinel.vault.client import VaultClient

NASTY = [
    "op-all: requested through the API: \x01~i\u00e5\u0091 \udb97\udcce bell\x07",
    "\u00e9" * 400,  # 800 bytes of UTF-8
    "tab\tand\nnewline",
]


@pytest.mark.parametrize("text", NASTY)
def test_metadata_values_are_what_vault_accepts(daemon_client: VaultClient, text: str) -> None:
    path = "accounts/acct-x/password"
    daemon_client.kv_write(path, {"value": "pw-layout-test-1"}, cas=0)
    with pytest.raises(VaultError):  # what happened before: Vault refuses the raw text
        daemon_client.kv_patch_metadata(path, {L.CHANGED_BY: text[: L.METADATA_VALUE_MAX]})
    value = L.metadata_value(text)
    daemon_client.kv_patch_metadata(path, {L.CHANGED_BY: value})
    stored = daemon_client.kv_metadata(path).custom_metadata[L.CHANGED_BY]
    assert stored == value and len(stored.encode()) <= L.METADATA_VALUE_MAX
    assert stored.startswith(text[:3]) and all(c.isprintable() for c in stored)


def test_printable_text_is_kept_as_it_is() -> None:
    assert (
        L.metadata_value("op-lee: a contractor left (ticket SEC-12)")
        == "op-lee: a contractor left (ticket SEC-12)"
    )
