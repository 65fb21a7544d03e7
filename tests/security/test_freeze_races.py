"""Freezes racing unfreezes, against a real OpenBao and the sandbox platform: the hijacker
posts again while a responder's unfreeze is still rotating, and the engine freezes the
account anew. The new freeze must stay in force: the unfreeze finishing afterwards lifts
only the freeze it was allowed to lift."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sentinel.errors import VaultPermissionDenied
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.response.containment import VaultContainment
from sentinel.response.responder import Responder
from sentinel.vault.devserver import DevVault
from tests.response.test_responder import World


@pytest.fixture
def world(bao: DevVault, sandbox: SandboxServer, tmp_path: Path) -> Iterator[World]:
    w = World(bao, sandbox, tmp_path)
    yield w
    w.store.close()


class RefrozenWhileRotating:
    """The unfreeze's rotation, during which the engine freezes the account again."""

    def __init__(self) -> None:
        self.responder: Responder | None = None
        self.refrozen: list[str] = []

    async def force_rotate(self, account: str, reason: str) -> list[object]:
        if reason.startswith("unfreeze:") and self.responder is not None:
            report = await self.responder.lock(
                [account], "out-of-band post: the hijacker still holds a session", "sentinel", automatic=True
            )
            self.refrozen += [r.account for r in report.accounts if r.frozen]
        return []


async def test_a_freeze_made_during_an_unfreeze_keeps_the_gate_blocked(world: World) -> None:
    rotation = RefrozenWhileRotating()
    responder = Responder(
        world.inventory,
        world.rstore,
        world.gate,
        VaultContainment(world.daemon, world.settings, world.rstore),
        world.adapter,
        rotation=rotation,
    )
    rotation.responder = responder
    await responder.lock(["acct-1"], "phished manager", "op-bea")
    await responder.unfreeze("acct-1", "cleaned up", "op-cat", verified_step_up=True)
    assert rotation.refrozen == ["acct-1"]
    rec = world.rstore.get("acct-1")
    assert rec is not None and rec.frozen and rec.automatic
    assert "acct-1" in world.gate.blocked  # the gate follows the new freeze, not the finished unfreeze
    assert world.rstore.frozen() == ["acct-1"]
    with pytest.raises(VaultPermissionDenied):  # and Vault denies it to its operators again
        world.operator.kv_read("accounts/acct-1/password")
