from __future__ import annotations

from tests.pds_fixture import pds  # noqa: F401
