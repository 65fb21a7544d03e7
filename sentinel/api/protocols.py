"""What the API calls into, as small protocols, and the adapter to the real responder.

- ``Gate``: the detection engine (``sentinel.engine.Engine`` satisfies it as it is).
- ``Responder``: lockdown and unfreeze. ``ResponderBridge`` adapts
  ``sentinel.response.Responder`` (which takes an already verified step-up) by checking the
  caller's TOTP code with ``sentinel.response.stepup.verify`` first.
- ``AdapterFactory``: the platform adapter for an account, holding the credential from
  Vault (in the daemon: ``sentinel.response.service.VaultAdapters``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from sentinel.errors import SentinelError
from sentinel.inventory import Account
from sentinel.platforms.base import PlatformAdapter

if TYPE_CHECKING:
    from sentinel.engine.events import Decision, Event, Freeze
    from sentinel.post_guard import Guard
    from sentinel.response.responder import Responder as RealResponder
    from sentinel.vault.client import VaultClient


class Gate(Protocol):
    def evaluate(self, event: Event) -> Decision: ...
    def explain(self, event: Event) -> tuple[Decision, dict[str, Any]]:
        """Decide ``event`` as a dry run (nothing learned, held or frozen) and say why."""
        ...

    def frozen(self, account: str) -> Freeze | None: ...


class GuardGate:
    """``Gate`` over the daemon's ``Guard``: it starts the responder on a freeze and keeps the
    published ledger (gate approvals and broker posts) the watcher reconciles with."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    def evaluate(self, event: Event) -> Decision:
        # through ``check``: an allowed gate post is then expected on the platform (reconciled)
        return self.guard.check(event.to_dict())

    def explain(self, event: Event) -> tuple[Decision, dict[str, Any]]:
        engine = self.guard.engine
        if engine is None:
            raise SentinelError("the guard is not running")
        return engine.explain(event)

    def approve(self, account: str, post_id: str, ts: float, text: str, held_ts: float | None = None) -> None:
        """A person approved the held post: its publication is expected, not out of band."""
        self.guard.approve(account, post_id, ts, text, held_ts)

    def published(self, account: str, gate_post_id: str, platform_post_id: str, text: str) -> None:
        """The broker published the post: the watcher will see it under the platform's id."""
        self.guard.published(account, gate_post_id, platform_post_id, text)

    def frozen(self, account: str) -> Freeze | None:
        engine = self.guard.engine
        return engine.frozen(account) if engine is not None else None


class Responder(Protocol):
    async def lock(
        self, accounts: Sequence[str], reason: str, actor: str, operator: str = "", actor_id: str = ""
    ) -> Mapping[str, Any]:
        """Freeze ``accounts`` now (and, with ``operator``, disable that operator's Vault
        entity); return a JSON-able report. ``actor_id`` is the actor's Vault identity key."""
        ...

    async def unfreeze(
        self, account: str, reason: str, actor: str, totp_code: str, actor_id: str = ""
    ) -> Mapping[str, Any]:
        """Lift a freeze after checking ``actor``'s TOTP code. Raises ``StepUpFailed`` for a bad
        code and ``ResponderConflict`` when the account cannot be unfrozen (not frozen,
        two-person rule, by ``actor_id``)."""
        ...


class RotationOutcome(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class Rotator(Protocol):
    """What the API uses of the rotation service."""

    async def force_rotate(self, account: str, reason: str) -> Sequence[RotationOutcome]: ...


class StepUpFailed(SentinelError):
    """The TOTP step-up code is wrong, reused, or the responder has none (``locked``: too many
    wrong codes from this identity; every code is refused for a while)."""

    def __init__(self, message: str, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


class ResponderConflict(SentinelError):
    """The request conflicts with the freeze state (e.g. the account is not frozen)."""


AdapterFactory = Callable[[Account], Awaitable[PlatformAdapter]]


class ResponderBridge:
    """``Responder`` over ``sentinel.response.Responder`` and TOTP seeds in Vault; wrong codes
    are limited per Vault identity in the responder's state database."""

    def __init__(
        self,
        responder: RealResponder,
        vault: Callable[[], VaultClient | None],
        now: Callable[[], float] | None = None,
    ) -> None:
        self.responder = responder
        self.vault = vault
        self.now = now

    async def lock(
        self, accounts: Sequence[str], reason: str, actor: str, operator: str = "", actor_id: str = ""
    ) -> Mapping[str, Any]:
        report = await self.responder.lock(
            list(accounts), reason, actor, operator=operator, actor_id=actor_id
        )
        return report.to_dict()

    async def unfreeze(
        self, account: str, reason: str, actor: str, totp_code: str, actor_id: str = ""
    ) -> Mapping[str, Any]:
        from sentinel.response import stepup

        vault = self.vault()
        if vault is None:
            raise SentinelError("Sentinel is not connected to Vault; the step-up cannot be checked")
        limiter = stepup.StepUpLimiter(self.responder.store.store, self.responder.alert)
        try:
            ok = await asyncio.to_thread(
                stepup.verify_limited,
                vault,
                limiter,
                actor,
                actor_id or actor,
                totp_code,
                self.now() if self.now else None,
            )
        except stepup.StepUpLocked as e:
            raise StepUpFailed(e.message, locked=True) from None
        except SentinelError as e:
            raise StepUpFailed(e.message) from None
        if not ok:
            raise StepUpFailed("the TOTP code is wrong or was already used")
        try:
            record = await self.responder.unfreeze(
                account, reason, actor, verified_step_up=True, actor_id=actor_id
            )
        except SentinelError as e:
            raise ResponderConflict(e.message) from None
        return record.to_dict()
