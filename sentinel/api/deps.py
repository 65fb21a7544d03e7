"""What the API's handlers need, as one object the app factory receives.

Components that may start after the API, or be swapped on reload (the engine, the
responder, the platform adapters), are passed as getters and resolved per request.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import Request

from sentinel.acks import Tuning
from sentinel.api.caller_access import Authorizer, Caller
from sentinel.api.held import HeldStore
from sentinel.api.protocols import AdapterFactory, Gate, Responder, Rotator
from sentinel.console.login import VaultLogin
from sentinel.inventory import Account, Inventory
from sentinel.metrics import Metrics
from sentinel.response.reach import Reach
from sentinel.response.store import FreezeRecord
from sentinel.rulestats import RuleCount
from sentinel.watcher.ledger import PublishedLedger

AuditSink = Callable[[str, str, str, Mapping[str, Any]], None]
EventSink = Callable[[str, Mapping[str, Any]], None]


class IncidentLog(Protocol):
    """What the API writes into incidents (``sentinel.response.store.ResponseStore`` has it)."""

    def add_event(
        self, incident: int, kind: str, actor: str, data: Mapping[str, Any], account: str = ""
    ) -> None: ...

    def close_incident(self, incident: int, actor: str, reason: str) -> str: ...


def _nothing() -> None:
    return None


@dataclass
class Deps:
    inventory: Callable[[], Inventory]
    authorizer: Authorizer
    held: HeldStore
    gate: Callable[[], Gate | None] = _nothing
    responder: Callable[[], Responder | None] = _nothing
    adapters: Callable[[], AdapterFactory | None] = _nothing
    ledger: PublishedLedger | None = None
    incidents: Callable[[], list[dict[str, Any]]] | None = None
    incident: Callable[[int], dict[str, Any] | None] | None = None
    alerts: Callable[[int], list[dict[str, Any]]] | None = None
    readiness: Callable[[], dict[str, bool]] = field(default_factory=lambda: dict)
    audit: AuditSink | None = None
    audit_full: Callable[[], bool] = lambda: False
    """The audit trail holds as many entries as it can while its store cannot be written: an
    action now would push the oldest held entry out (``sentinel.backlog``)."""
    events: EventSink | None = None
    """Outbound events for integrators (``post.held``, ``account.frozen``, ...)."""
    reach: Callable[[str], Reach] | None = None
    """What an operator can reach (inventory owners and Vault policies), for a lockdown by
    operator; synchronous (it reads Vault), called in a worker thread."""
    rotator: Callable[[], Rotator | None] = _nothing
    """The daemon's rotation service (``force_rotate``), for ``POST .../rotate``."""
    credentials: Callable[[Account], list[dict[str, Any]]] | None = None
    """An account's credential metadata (never a value), for ``GET .../credentials``."""
    hook_secrets: Callable[[str], Mapping[str, str] | None] | None = None
    """A webhook platform's signing secrets (``meta``, ``x``) from Vault, None when not set
    up; synchronous (it reads Vault), called in a worker thread."""
    wake: Callable[[str, Sequence[str]], list[str]] | None = None
    """Wake the reconcile of the accounts a verified webhook names by platform id (the
    accounts woken)."""
    extras: dict[str, Any] = field(default_factory=dict)
    """State handlers keep between requests (the webhooks' seen deliveries)."""
    clock: Callable[[], float] = time.time
    freezes: Callable[[], Mapping[str, FreezeRecord]] | None = None
    """Every frozen account's freeze record (who, why, its steps), for account states."""
    incident_log: IncidentLog | None = None
    """Notes, assignment and closing of incidents (``/v1/incidents/{id}/...``)."""
    login: VaultLogin | None = None
    """Vault password logins for the console's sign-in (``sentinel.console.login``)."""
    aclose: Callable[[], Awaitable[None]] | None = None
    """Releases what the deps opened (connection pools), when the API stops."""
    metrics: Metrics = field(default_factory=Metrics)
    """The registry ``GET /metrics`` serves (the daemon's ``App.metrics``)."""
    tuning: Tuning | None = None
    """Acknowledgements (``/v1/rules/acks``), the same core the CLI uses."""
    rule_stats: Callable[[float, Collection[str] | None], list[RuleCount]] | None = None
    """What each rule fired on since a time, on the given accounts (None: all of them;
    ``/v1/rules/stats``)."""


class Host(Protocol):
    """What handler mix-ins (``moderation``, ``admin``) use of ``sentinel.api.routes.Api``."""

    deps: Deps

    def account(self, account_id: str) -> Account: ...

    async def caller(self, request: Request) -> tuple[str, Caller]: ...

    async def require(self, token: str, capability: str, account: str | None, route: str) -> Caller: ...

    def refuse_frozen(self, account: Account) -> None: ...

    def audit(self, actor: str, action: str, target: str, details: Mapping[str, Any]) -> None: ...
