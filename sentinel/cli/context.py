"""What a CLI command needs, loaded lazily: config, inventory, state store, Vault client."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentinel.config import Config, load_config
from sentinel.errors import SentinelError
from sentinel.inventory import Inventory, load_inventory
from sentinel.redact import scrub
from sentinel.store import Store

if TYPE_CHECKING:
    from sentinel.identity import Identity
    from sentinel.vault.client import VaultClient


class Context:
    def __init__(self, config_path: str | None = None, as_json: bool = False, debug: bool = False) -> None:
        self.config_path = config_path
        self.as_json = as_json
        self.debug = debug
        self._config: Config | None = None
        self._inventory: Inventory | None = None
        self._store: Store | None = None
        self._vault: VaultClient | None = None
        self._logging = False

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path, os.environ)
        return self._config

    def setup_logging(self, fmt: str | None = None) -> None:
        from sentinel import logs

        level = "debug" if self.debug else self.config.sentinel.log_level
        logs.configure(level=level, fmt=fmt or self.config.sentinel.log_format)
        self._logging = True

    @property
    def inventory(self) -> Inventory:
        if self._inventory is None:
            self._inventory = load_inventory(self.config.sentinel.inventory)
        return self._inventory

    def load_inventory(self, path: str | Path | None) -> Inventory:
        """The inventory at ``path`` when given (``--inventory``), else the configured one."""
        if path:
            self._inventory = load_inventory(path)
        return self.inventory

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.config.sentinel.database)
        return self._store

    def alert_sink(self) -> Callable[..., None]:
        """``alert(**keywords)`` into the state store's alert outbox, which the daemon delivers
        (for a command that raises an alert: a lockdown, a rotation, a step-up lock, an acknowledgement)."""
        from sentinel.alerts.bridge import outbox_sink

        return outbox_sink(self.config, self.store)

    @property
    def vault(self) -> VaultClient:
        if self._vault is None:
            from sentinel.vault.client import VaultClient

            self._vault = VaultClient.from_settings(self.config.vault)
        return self._vault

    def operator(self) -> tuple[VaultClient, str]:
        """A Vault client acting as the person at the keyboard, and their Vault identity's name."""
        client, identity = self.person()
        return client, identity.name

    def person(self) -> tuple[VaultClient, Identity]:
        """A Vault client acting as the person at the keyboard, and who that is.

        Commands done *by a person* (reveal a secret, print a TOTP code, lock down, unfreeze,
        approve) use the person's own Vault token — ``$VAULT_TOKEN`` or ``~/.vault-token``,
        as the ``vault`` CLI leaves it after ``vault login`` — never Sentinel's, so Vault
        policies decide what each person may do and the audit trail names them. Who they
        are is their token's Vault identity (``sentinel.identity``), never the Unix user.
        """
        from sentinel.vault.client import VaultClient

        token = self.person_token()
        v = self.config.vault
        client = VaultClient(
            v.addr,
            token,
            kv_mount=v.kv_mount,
            namespace=v.namespace,
            ca_cert=str(v.ca_cert) if v.ca_cert else None,
            timeout=v.timeout,
        )
        return client, self.identity(client)

    def caller(self, capability: str | None = None, accounts: Sequence[str] = ()) -> Identity:
        """Who the person at the keyboard is, for a command that acts with Sentinel's own token
        but records who asked (``sentinel rotate``, ``sentinel alerts silence``).

        With ``capability``, the person's own token must also hold it (on every one of
        ``accounts`` for a per-account capability) — the same decision the API takes — or
        ``MissingCapability`` names what is missing and nothing is done."""
        from sentinel.capabilities import acl_prefix, require_self

        client, me = self.person()
        try:
            if capability is not None:
                require_self(client, acl_prefix(self.config), capability, accounts)
        finally:
            client.close()
        return me

    def identity(self, client: VaultClient) -> Identity:
        """Who ``client``'s token is (``sentinel.identity``): its entity, or the token itself."""
        from sentinel.identity import identity_of

        return identity_of(client.lookup_self(), self._entity_name)

    def person_token(self) -> str:
        """The person's own Vault token: ``$VAULT_TOKEN``, else ``~/.vault-token``."""
        from sentinel.errors import VaultAuthError
        from sentinel.redact import register_secret

        token = os.environ.get("VAULT_TOKEN", "").strip()
        if not token:
            path = Path(os.environ.get("HOME", "~")).expanduser() / ".vault-token"
            try:
                token = path.read_text().strip()
            except OSError:
                token = ""
        if not token:
            raise VaultAuthError(
                "this command acts as you: log in to Vault first (vault login / bao login), or set VAULT_TOKEN"
            )
        register_secret(token)
        return token

    def refuse_frozen(self, account: str) -> None:
        """Defence in depth: a person's command never acts on a frozen account, whatever their
        Vault policies still allow (the freeze is in the shared state database)."""
        from sentinel.errors import AccountFrozen
        from sentinel.response.store import ResponseStore

        rec = ResponseStore(self.store).get(account)
        if rec is not None and rec.frozen:
            raise AccountFrozen(
                f"account {account!r} is frozen ({rec.reason}); a responder must unfreeze it first"
            )

    def _entity_name(self, entity_id: str) -> str:
        """An entity's name, read with Sentinel's own token (a person's policy rarely allows it)."""
        from sentinel.errors import VaultError

        try:
            vault = self.vault
        except SentinelError as e:  # no daemon token here: the id alone still decides
            raise VaultError(e.message) from None
        return str(vault.entity_read(entity_id).get("name") or "")

    def scrub(self, text: str) -> str:
        return scrub(text)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._vault is not None:
            self._vault.close()
            self._vault = None

    def extra(self) -> dict[str, Any]:
        return {}
