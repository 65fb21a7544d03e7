"""Build the API's ``Deps`` from the running daemon's ``App``.

Shared components live in ``app.extras`` so the services that own them and the API use the
same instance:

- ``"guard"``: the daemon's ``Guard`` (engine behind the gate; it starts the responder when
  the freeze policy fires). Without a guard (an API-only setup) the API builds a bare
  ``Engine`` from the configured rules and shares it as ``"engine"``.
- ``"responder"``: a ``sentinel.api.protocols.Responder``, or a
  ``sentinel.response.Responder`` (wrapped in ``ResponderBridge`` for the TOTP step-up).
- ``"adapters"``: an ``AdapterFactory``; by default ``VaultAdapters`` (credentials read from
  Vault with Sentinel's own token, ``sentinel.platforms.create_adapter``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sentinel import rulestats
from sentinel.acks import AckStore, Tuning, engine_acks
from sentinel.api.auth_throttle import AuthThrottle
from sentinel.api.caller_access import Authorizer
from sentinel.api.deps import Deps
from sentinel.api.errors import ApiError
from sentinel.api.grace import AuthzGrace
from sentinel.api.held import HeldStore
from sentinel.api.protocols import AdapterFactory, Gate, GuardGate, Responder, ResponderBridge
from sentinel.console.login import VaultLogin
from sentinel.errors import SentinelError, VaultError, VaultNotFound, VaultUnavailable
from sentinel.logs import get_logger
from sentinel.redact import register_secret
from sentinel.response.reach import reach_for
from sentinel.watcher.ledger import PublishedLedger

if TYPE_CHECKING:
    from sentinel.daemon import App
    from sentinel.engine.engine import Engine
    from sentinel.inventory import Account
    from sentinel.vault.client import VaultClient

log = get_logger("sentinel.api")


def gate_for(app: App) -> Gate | None:
    guard = app.extras.get("guard")
    if guard is not None:
        return GuardGate(guard)
    return engine_for(app)


def engine_for(app: App) -> Engine | None:
    """The shared bare engine (no guard service), built from the configured rules once."""
    if app.extras.get("guard") is not None:
        return None
    engine = app.extras.get("engine")
    if engine is not None:
        return engine  # type: ignore[no-any-return]
    from sentinel.engine.engine import Engine
    from sentinel.engine.loader import load_rules

    try:
        rules = load_rules(app.config.sentinel.all_rules_dirs)
    except SentinelError as e:
        app.record_error("api", f"rules not loaded: {e.message}")
        log.error("api.rules_failed", error=e.message)
        return None
    built = Engine(app.inventory, rules, app.config.engine)
    built.set_acks(engine_acks(AckStore(app.store)))
    app.extras["engine"] = built
    app.extras["engine_owner"] = "api"
    log.info("api.engine_built", rules=len(rules))
    return built


def responder_for(app: App) -> Responder | None:
    got = app.extras.get("responder")
    if got is None:
        return None
    from sentinel.response.responder import Responder as RealResponder

    if isinstance(got, RealResponder):
        return ResponderBridge(got, lambda: app.vault)
    return got  # type: ignore[no-any-return]


def alerts_from_store(app: App, limit: int) -> list[dict[str, Any]]:
    """Recent alerts from the alert outbox's table (read only)."""
    from sentinel.errors import StoreError

    try:
        rows = app.store.query("SELECT body FROM alerts ORDER BY seq DESC LIMIT ?", (limit,))
    except StoreError:  # the alerts component has not created its table in this database
        return []
    out = []
    for r in rows:
        body = json.loads(r["body"])
        out.append(
            {k: body.get(k) for k in ("id", "kind", "status", "severity", "summary", "accounts", "rule")}
            | {"occurred_at": body.get("occurred_at"), "incident_id": body.get("incident_id")}
        )
    return out


def register_metrics(app: App) -> None:
    """The daemon's state in its metrics, read at each scrape (Vault, store, freezes, platforms)."""
    from sentinel import metrics
    from sentinel.platforms.health import publish
    from sentinel.response.store import ResponseStore

    rstore = ResponseStore(app.store)
    app.metrics.read(metrics.FROZEN_ACCOUNTS, lambda: len(rstore.frozen()))
    app.metrics.read(metrics.VAULT_UP, lambda: app.vault_ok)
    app.metrics.read(metrics.STORE_UP, lambda: app.store_ok)
    publish(app.metrics)


def integrator_events(app: App) -> Callable[[str, Mapping[str, Any]], None]:
    """API events for integrators, through the durable alert outbox.

    Freezes, unfreezes and failed rotations already raise alerts where they happen; a held
    post is raised here. Integrators receive them on an ``[alerts.receivers.X]`` of
    ``type = "webhook"`` (signed the Standard Webhooks way), routed by kind with
    ``[[alerts.routes]] kinds = ["held_post", "freeze", "unfreeze", "rotation_failed"]``.
    """

    def sink(kind: str, data: Mapping[str, Any]) -> None:
        if kind != "post.held":
            return
        account = str(data.get("account", ""))
        app.raise_alert(
            "held_post",
            "warning",
            f"post held for approval on {account}",
            accounts=[account],
            post_excerpt=str(data.get("text", ""))[:500],
            details={k: str(v) for k, v in data.items() if k in ("held_id", "author", "kind")},
        )

    return sink


def credential_metadata(vault: VaultClient | None, account: Account) -> list[dict[str, Any]]:
    from sentinel.api.errors import ApiError
    from sentinel.creds.reveal import show

    if vault is None:
        raise ApiError("vault_unavailable", "Vault is not connected; credential metadata cannot be read")
    return show(vault, account)


def hook_secrets(app: App) -> Callable[[str], Mapping[str, str] | None]:
    """Reads a webhook platform's secrets from ``<kv_mount>/system/hooks/<platform>``."""

    def read(hook: str) -> Mapping[str, str] | None:
        if app.vault is None:
            raise VaultUnavailable("Vault is not connected; webhook signatures cannot be checked")
        try:
            data = app.vault.kv_read(f"system/hooks/{hook}").data
        except VaultNotFound:
            return None
        except VaultUnavailable:
            raise
        except VaultError as e:
            log.error("hooks.secrets_unreadable", hook=hook, error=e.message)
            raise ApiError("not_configured", f"the daemon cannot read the {hook} webhook secrets") from None
        found = {k: v for k, v in data.items() if isinstance(v, str)}
        for value in found.values():
            register_secret(value)
        return found

    return read


def wake_accounts(app: App) -> Callable[[str, Sequence[str]], list[str]]:
    def wake(hook: str, ids: Sequence[str]) -> list[str]:
        push = app.extras.get("push")
        return push.wake_ids(hook, ids) if push is not None else []

    return wake


def rules_in_force(app: App) -> frozenset[str]:
    """The ids of the rules the gate decides with (the guard's, or the API's own engine's)."""
    guard = app.extras.get("guard")
    engine = guard.engine if guard is not None else engine_for(app)
    return frozenset(r.id for r in engine.rules) if engine is not None else frozenset()


def acks_changed(app: App) -> Callable[[], None]:
    """Apply the acknowledgements to the engine deciding at the gate now (the guard's, which
    also follows the store by itself, or the API's own)."""

    def changed() -> None:
        guard = app.extras.get("guard")
        if guard is not None:
            guard.sync_acks()
            return
        engine = engine_for(app)
        if engine is not None:
            engine.set_acks(engine_acks(AckStore(app.store)))

    return changed


def build_deps(app: App) -> Deps:
    settings = app.config.api
    from sentinel.response.service import VaultAdapters
    from sentinel.response.store import ResponseStore

    incidents = ResponseStore(app.store)
    own: list[VaultAdapters] = []

    def adapters() -> AdapterFactory | None:
        shared = app.extras.get("adapters")
        if shared is not None:
            return shared  # type: ignore[no-any-return]
        if app.vault is None:
            return None
        if not own or own[0].vault is not app.vault:
            own[:] = [VaultAdapters(app.vault)]
        return own[0]

    def readiness() -> dict[str, bool]:
        guard = app.extras.get("guard")
        engine = guard.engine if guard is not None else app.extras.get("engine")
        rules = engine is not None and len(engine.rules) > 0
        return {"vault": app.vault_ok, "rules": rules, "store": app.store_ok}

    def audit(actor: str, action: str, target: str, details: Mapping[str, Any]) -> None:
        if app.audit is not None:  # held in memory while the store cannot take it
            app.audit.record(actor, action, target, details)

    async def aclose() -> None:
        for a in own:
            await a.aclose()

    return Deps(
        aclose=aclose,
        inventory=lambda: app.inventory,
        authorizer=Authorizer(
            lambda: app.vault,
            settings.acl_prefix,
            float(settings.capability_cache),
            grace=AuthzGrace(float(settings.authz_grace), vault_down=lambda: not app.vault_ok),
            invalid_seconds=float(settings.invalid_token_cache),
            throttle=AuthThrottle(settings.failed_auth_burst, settings.failed_auth_rate),
        ),
        held=HeldStore(app.store),
        gate=lambda: gate_for(app),
        responder=lambda: responder_for(app),
        adapters=adapters,
        # with a guard, the guard keeps the ledger (and its own reconciliation) itself
        ledger=None if app.extras.get("guard") is not None else PublishedLedger(app.store),
        incidents=lambda: incidents.incidents(),
        incident=incidents.incident,
        alerts=lambda limit: alerts_from_store(app, limit),
        readiness=readiness,
        audit=audit,
        audit_full=lambda: app.audit is not None and app.audit.backlog.full,
        events=app.extras.get("webhooks") or integrator_events(app),
        rotator=lambda: app.extras.get("rotator"),
        reach=lambda operator: reach_for(app.vault, app.inventory, operator, app.config),
        credentials=lambda account: credential_metadata(app.vault, account),
        hook_secrets=hook_secrets(app),
        wake=wake_accounts(app),
        incident_log=incidents,
        freezes=incidents.frozen_records,
        login=VaultLogin(lambda: app.vault),
        metrics=app.metrics,
        tuning=Tuning(
            app.store,
            lambda: app.inventory,
            lambda: rules_in_force(app),
            changed=acks_changed(app),
            alert=app.raise_alert,
        ),
        rule_stats=lambda since, accounts: rulestats.read(app.store, since, accounts),
    )
