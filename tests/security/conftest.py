"""Attacks on Sentinel's trust boundary, performed against the session's real OpenBao.

The API world of ``tests/api`` (role policies rendered from a roles file, people's tokens of
their own Vault identity entities, the sandbox platform) is shared here; ``daemon`` runs the
daemon's own guard, responder and API in-process over the demo-like deployment.
"""

from __future__ import annotations

from tests.api.conftest import harness, world
from tests.creds.conftest import env
from tests.pds_fixture import pds

__all__ = ["env", "harness", "pds", "world"]
