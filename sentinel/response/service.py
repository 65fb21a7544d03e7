"""The responder as a daemon service, and how it reaches Vault and the platforms."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import httpx

from sentinel.creds.transport import shared_client
from sentinel.errors import SentinelError
from sentinel.inventory import Account
from sentinel.logs import get_logger
from sentinel.platforms import create_adapter
from sentinel.platforms.base import PlatformAdapter
from sentinel.response.containment import (
    FreezePolicyCheck,
    FreezePolicyWatch,
    containment_for,
)
from sentinel.response.responder import Responder, ResponderSettings
from sentinel.response.settings import ResponseSettings
from sentinel.response.store import ResponseStore
from sentinel.vault.client import VaultClient
from sentinel.vault.layout import account_prefix

if TYPE_CHECKING:
    from sentinel.daemon import App

log = get_logger("sentinel.response")
TIMEOUT = 10.0
MAX_CONNECTIONS = 16
"""Per platform host, for all the adapters of a ``VaultAdapters``."""


async def aplatform_credentials(
    vault: VaultClient, account: Account, known_keys: dict[str, list[str]] | None = None
) -> dict[str, str]:
    """The account's *current* credentials (not a pending rotation's) as adapters take them,
    from the event loop (no thread inside a Vault session). ``known_keys``: credential keys already listed per account, used and filled in."""
    from sentinel.creds.store import CredentialStore

    keys = known_keys.get(account.id) if known_keys is not None else None
    if keys is None:
        keys = [k for k in await vault.akv_list(account_prefix(account.id)) if not k.endswith("/")]
        if known_keys is not None:
            known_keys[account.id] = keys
    return await CredentialStore(vault).aaccount_credentials(account, keys)


class VaultAdapters:
    """Adapters whose credentials are read from Vault when each is made, sharing one
    HTTP connection pool (a lockdown of 180 accounts opens one pool, not 180), over the
    lean transport of ``sentinel.creds.transport`` unless a proxy is configured."""

    def __init__(self, vault: VaultClient, options: Mapping[str, Any] | None = None) -> None:
        self.vault = vault
        self.options = dict(options or {})
        self._client: httpx.AsyncClient | None = None
        self._keys: dict[str, list[str]] | None = None
        self._batches = 0

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Within a batch (one lockdown), each account's credential keys are listed once:
        a freeze makes one adapter before the rotation and another after it, and which
        credentials an account has does not change in between (their values do, and are
        read each time)."""
        if self._batches == 0:
            self._keys = {}
        self._batches += 1
        try:
            yield
        finally:
            self._batches -= 1
            if self._batches == 0:
                self._keys = None

    async def __call__(self, account: Account) -> PlatformAdapter:
        creds = await aplatform_credentials(self.vault, account, self._keys)
        if self._client is None:
            self._client = shared_client(httpx.create_ssl_context(), TIMEOUT, MAX_CONNECTIONS)
        return create_adapter(account.platform, account.id, creds, client=self._client, **self.options)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def vault_adapters(vault: VaultClient, options: Mapping[str, Any] | None = None) -> VaultAdapters:
    return VaultAdapters(vault, options)


def responder_settings(s: ResponseSettings) -> ResponderSettings:
    return ResponderSettings(
        attempts=s.attempts,
        backoff=s.backoff,
        backoff_max=s.backoff_max,
        concurrency=s.concurrency,
        delete_offending=s.delete_offending,
        delete_offending_accounts=s.delete_offending_accounts,
        delete_offending_rules=s.delete_offending_rules,
    )


class ResponseService:
    name = "responder"

    def __init__(self) -> None:
        self.responder: Responder | None = None
        self.adapters: VaultAdapters | None = None
        self._resume: asyncio.Task[Any] | None = None
        self.watch: FreezePolicyWatch | None = None
        self._watch: asyncio.Task[Any] | None = None

    async def start(self, app: App) -> None:
        rstore = ResponseStore(app.store)
        guard = app.extras.get("guard")
        if guard is None:
            raise SentinelError("the responder needs the guard service to be started first")
        containment = containment_for(app.vault, app.config, app.inventory, rstore) if app.vault else None
        adapters = self.adapters = vault_adapters(app.vault) if app.vault else None

        def audit(actor: str, action: str, target: str, details: Mapping[str, Any]) -> None:
            if app.audit is not None and not app.audit.record(actor, action, target, details):
                app.record_error("audit", "the audit entry is held until the store can be written")

        def alert(**kw: Any) -> None:
            kind, severity, summary = kw.pop("kind"), kw.pop("severity"), kw.pop("summary")
            app.raise_alert(kind, severity, summary, **kw)

        self.responder = Responder(
            app.inventory,
            rstore,
            guard,
            containment,
            adapters,
            rotation=app.extras.get("rotator"),
            alert=alert,
            audit=audit,
            settings=responder_settings(app.config.response),
        )
        app.extras["responder"] = self.responder
        self._resume = asyncio.create_task(self.responder.resume())
        if containment is not None:
            self.watch = FreezePolicyWatch(
                containment,
                float(app.config.response.freeze_policy_check),
                self._tampered(app, audit),
                self._unrecorded(app, audit),
            )
            self._watch = asyncio.create_task(self.watch.run(), name="freeze-policy-watch")

    @staticmethod
    def _tampered(
        app: App, audit: Callable[[str, str, str, Mapping[str, Any]], None]
    ) -> Callable[[FreezePolicyCheck], None]:
        def report(check: FreezePolicyCheck) -> None:
            findings = list(check.findings)
            app.raise_alert(
                "freeze_policy_tampered",
                "critical",
                "The freeze policy in Vault held rules Sentinel did not write; it has been restored. "
                "Someone with Sentinel's Vault token (or an administrator) changed it: rotate the daemon token.",
                findings=findings,
            )
            audit("sentinel", "freeze.policy_restored", "vault", {"findings": findings})

        return report

    @staticmethod
    def _unrecorded(
        app: App, audit: Callable[[str, str, str, Mapping[str, Any]], None]
    ) -> Callable[[str, bool], None]:
        def report(account: str, found: bool) -> None:
            key = f"freeze_unrecorded:{account}"
            if not found:
                app.raise_alert(
                    "freeze_unrecorded",
                    "info",
                    f"The freeze policy no longer denies {account} without a freeze Sentinel recorded.",
                    accounts=[account],
                    dedup_key=key,
                    resolved=True,
                )
                return
            app.raise_alert(
                "freeze_unrecorded",
                "critical",
                f"The freeze policy in Vault denied {account}, which Sentinel holds as not frozen, "
                "for longer than an unfreeze takes to write: its owners were shut out with nobody "
                "told. The deny has been removed. Unless an unfreeze of it just failed to reach "
                "Vault, someone with Sentinel's Vault token (or an administrator) wrote it: rotate "
                f"the daemon token; to freeze {account}, use 'sentinel lockdown'.",
                accounts=[account],
                dedup_key=key,
            )
            audit("sentinel", "freeze.unrecorded_deny_removed", account, {"account": account})

        return report

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        if self._resume is not None and not self._resume.done():
            await asyncio.wait({self._resume}, timeout=10)
        if self.adapters is not None:
            await self.adapters.aclose()

    async def reload(self, app: App) -> None:
        if self.responder is not None:
            self.responder.inventory = app.inventory
            self.responder.settings = responder_settings(app.config.response)
            if self.responder.containment is not None:
                self.responder.containment.inventory = app.inventory
        if self.watch is not None:
            self.watch.interval = float(app.config.response.freeze_policy_check)
            await self.watch.check(resync=True)

    def status(self) -> dict[str, Any]:
        if self.responder is None:
            return {}
        return {"frozen": len(self.responder.store.frozen())}
