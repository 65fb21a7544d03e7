from __future__ import annotations

from collections.abc import Iterator

import pytest

from sentinel.platforms.sandbox_server import SandboxServer
from tests.pds_fixture import pds  # noqa: F401


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server
