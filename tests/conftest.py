"""Shared fixtures: a real OpenBao dev server for every test that touches Vault."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sentinel.vault.devserver import DevVault


@pytest.fixture(scope="session")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevVault]:
    """One in-memory OpenBao dev server for the session (root token in ``bao.root_token``)."""
    log = tmp_path_factory.mktemp("bao") / "bao.log"
    server = DevVault(log_path=log).start()
    try:
        yield server
    finally:
        server.stop()
