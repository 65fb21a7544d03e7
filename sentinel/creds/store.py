"""Credentials in Vault: read the current one, write a pending one, finish, park, cancel.

The Vault side of the layout in ``sentinel.vault.layout``. Every data write is
check-and-set: a concurrent change raises ``VaultConflict`` and is never overwritten. The
``CredentialStore`` is synchronous (the Vault client is), with ``async`` twins of the
calls a rotation makes (``aload``, ``aread_version``, ``awrite_pending``, ``afinish``) that
the rotator awaits on the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sentinel.creds.state import CredentialState, format_time, keep_versions
from sentinel.errors import SentinelError, VaultNotFound
from sentinel.inventory import Account
from sentinel.redact import register_secret
from sentinel.vault import layout as L
from sentinel.vault.client import PUBLIC_FIELDS, KvMetadata, KvSecret, VaultClient

# How a stored credential's fields map onto the mapping platform adapters take.
_ADAPTER_FIELD = {"password": "password", "app_password": "app_password", "api_key": "api_key"}


def register_data(data: Mapping[str, Any]) -> None:
    """Register every string value of a credential's data with the redactor."""
    for key, value in data.items():
        if isinstance(value, str) and value and key not in PUBLIC_FIELDS:
            register_secret(value)


def adapter_credentials(kind: str, data: Mapping[str, Any]) -> dict[str, str]:
    """One credential's data as platform adapters name it (``value`` of a password becomes
    ``password``, an app password's ``name`` becomes ``app_password_name``, ...)."""
    out: dict[str, str] = {}
    target = _ADAPTER_FIELD.get(kind)
    for name, value in data.items():
        if not isinstance(value, str):
            continue
        if name == "value" and target:
            out[target] = value
        elif name == "name" and kind == "app_password":
            out["app_password_name"] = value
        else:
            out[name] = value
    return out


def _platform_keys(account: Account, keys: Iterable[str] | None) -> list[tuple[str, str]]:
    """(key, kind) of the credentials adapters take (``keys``: default the inventory's)."""
    specs = {c.key: c.kind for c in account.credentials}
    wanted = keys if keys is not None else list(specs)
    return [(k, specs.get(k, k)) for k in wanted if specs.get(k, k) != "totp_seed"]


def _loaded(account: str, key: str, secret: KvSecret) -> Loaded:
    created = secret.created_time
    state = CredentialState.from_metadata(account, key, secret.version, secret.custom_metadata, created)
    return Loaded(state=state, data=secret.data)


def _deleted(account: str, key: str, meta: KvMetadata) -> VaultNotFound:
    state = CredentialState.from_metadata(account, key, meta.current_version, meta.custom_metadata)
    return VaultNotFound(
        f"the newest version ({state.newest}) of {L.credential_path(account, key)} is deleted or "
        f"destroyed; restore it with 'vault kv undelete' or cancel with: sentinel rotate --cancel {account}"
    )


@dataclass(frozen=True)
class Loaded:
    """A credential's state and the data of its newest version."""

    state: CredentialState
    data: dict[str, Any]


class CredentialStore:
    def __init__(self, vault: VaultClient) -> None:
        self.vault = vault

    # -- reading -------------------------------------------------------------------------
    def load(self, account: str, key: str) -> Loaded:
        """The state and newest version's data in one read (the data carries custom_metadata)."""
        path = L.credential_path(account, key)
        try:
            secret = self.vault.kv_read(path)
        except VaultNotFound:
            # Nothing stored, or the newest version was deleted by hand: ask the metadata.
            raise _deleted(account, key, self.vault.kv_metadata(path)) from None
        return _loaded(account, key, secret)

    async def aload(self, account: str, key: str) -> Loaded:
        """``load`` on the event loop."""
        path = L.credential_path(account, key)
        try:
            secret = await self.vault.akv_read(path)
        except VaultNotFound:
            raise _deleted(account, key, await self.vault.akv_metadata(path)) from None
        return _loaded(account, key, secret)

    def state(self, account: str, key: str) -> CredentialState | None:
        """The state from the metadata alone (None when nothing is stored)."""
        path = L.credential_path(account, key)
        try:
            meta = self.vault.kv_metadata(path)
        except VaultNotFound:
            return None
        newest = meta.versions.get(meta.current_version, {})
        return CredentialState.from_metadata(
            account, key, meta.current_version, meta.custom_metadata, str(newest.get("created_time") or "")
        )

    def read_version(self, account: str, key: str, version: int) -> dict[str, Any]:
        return self.vault.kv_read(L.credential_path(account, key), version=version).data

    async def aread_version(self, account: str, key: str, version: int) -> dict[str, Any]:
        return (await self.vault.akv_read(L.credential_path(account, key), version=version)).data

    def current(self, account: str, key: str) -> tuple[CredentialState, dict[str, Any]]:
        """The credential that is current (never a pending one): one read, two while pending."""
        loaded = self.load(account, key)
        st = loaded.state
        if st.pending is None:
            return st, loaded.data
        return st, self.read_version(account, key, st.current)

    async def acurrent(self, account: str, key: str) -> tuple[CredentialState, dict[str, Any]]:
        """``current`` on the event loop."""
        loaded = await self.aload(account, key)
        st = loaded.state
        if st.pending is None:
            return st, loaded.data
        return st, await self.aread_version(account, key, st.current)

    def account_credentials(self, account: Account, keys: Iterable[str] | None = None) -> dict[str, str]:
        """The account's current credentials as the mapping platform adapters take."""
        out: dict[str, str] = {"identifier": account.handle}
        for key, kind in _platform_keys(account, keys):
            try:
                _, data = self.current(account.id, key)
            except VaultNotFound:
                continue
            out.update(adapter_credentials(kind, data))
        return out

    async def aaccount_credentials(
        self, account: Account, keys: Iterable[str] | None = None
    ) -> dict[str, str]:
        """``account_credentials`` on the event loop (the reads one after the other)."""
        out: dict[str, str] = {"identifier": account.handle}
        for key, kind in _platform_keys(account, keys):
            try:
                _, data = await self.acurrent(account.id, key)
            except VaultNotFound:
                continue
            out.update(adapter_credentials(kind, data))
        return out

    # -- writing -------------------------------------------------------------------------
    def write_pending(self, account: str, key: str, data: Mapping[str, Any], cas: int) -> int:
        """Store ``data`` as the pending version (only if the newest version is still ``cas``)."""
        register_data(data)
        return self.vault.kv_write(L.credential_path(account, key), data, cas=cas)

    async def awrite_pending(self, account: str, key: str, data: Mapping[str, Any], cas: int) -> int:
        register_data(data)
        return await self.vault.akv_write(L.credential_path(account, key), data, cas=cas)

    def finish(self, state: CredentialState, pending: int, now: datetime, actor: str, grace: float) -> None:
        patch = state.finish_patch(pending, now, actor, grace)
        self.vault.kv_patch_metadata(
            L.credential_path(state.account, state.key), patch["custom_metadata"], patch["max_versions"]
        )

    async def afinish(
        self, state: CredentialState, pending: int, now: datetime, actor: str, grace: float
    ) -> None:
        patch = state.finish_patch(pending, now, actor, grace)
        await self.vault.akv_patch_metadata(
            L.credential_path(state.account, state.key), patch["custom_metadata"], patch["max_versions"]
        )

    def record(self, state: CredentialState, kind: str, platform: str, period: float, now: datetime) -> None:
        """Write down ``current_version`` for a secret stored by other tools (once)."""
        custom = {
            L.KIND: state.metadata.get(L.KIND) or kind,
            L.PLATFORM: state.metadata.get(L.PLATFORM) or platform,
            L.CREATED: state.metadata.get(L.CREATED) or format_time(now),
            L.ROTATED: state.metadata.get(L.ROTATED) or state.newest_created or format_time(now),
            L.ROTATION_PERIOD: state.metadata.get(L.ROTATION_PERIOD) or str(int(period)),
            L.STATE: L.STATE_CURRENT,
            L.CURRENT_VERSION: str(state.newest),
        }
        self.vault.kv_patch_metadata(L.credential_path(state.account, state.key), custom)

    def park(self, state: CredentialState, reason: str, attempts: int, now: datetime) -> None:
        self.vault.kv_patch_metadata(
            L.credential_path(state.account, state.key),
            {
                L.STATE: L.STATE_PARKED,
                L.PARKED_REASON: L.metadata_value(reason),
                L.PARKED_AT: format_time(now),
                L.ATTEMPTS: str(attempts),
            },
        )

    def cancel(
        self, state: CredentialState, current_data: Mapping[str, Any], now: datetime, actor: str
    ) -> int:
        """Abandon the pending version: the current data is written again as the newest version
        (check-and-set against the pending one), recorded as current, and the pending version
        destroyed. Returns the new version number."""
        pending = state.pending
        assert pending is not None
        path = L.credential_path(state.account, state.key)
        # Room for one more version first, so that the restoring write prunes nothing we keep.
        self.vault.kv_patch_metadata(path, {}, keep_versions(pending + 1, state.retain_from))
        version = self.vault.kv_write(path, current_data, cas=pending)
        self.vault.kv_patch_metadata(
            path,
            {
                L.STATE: L.STATE_CURRENT,
                L.CURRENT_VERSION: str(version),
                L.CHANGED_BY: L.metadata_value(actor),
                L.PARKED_REASON: None,
                L.PARKED_AT: None,
                L.ATTEMPTS: None,
                "cancelled_version": str(pending),
            },
            keep_versions(version, state.retain_from),
        )
        self.vault.kv_destroy_versions(path, [pending])
        return version

    def replace(
        self,
        account: Account,
        key: str,
        kind: str,
        data: Mapping[str, Any],
        actor: str,
        now: datetime,
        period: float = 0.0,
        replace: bool = False,
    ) -> int:
        """Store a credential set by a person (TOTP enrolment, a new API key): a new version,
        check-and-set against what was read, recorded as current at once."""
        path = L.credential_path(account.id, key)
        st = self.state(account.id, key)
        if st is not None and st.exists and not replace:
            raise SentinelError(f"{account.id}/{key} is already stored; use --replace to store a new one")
        if st is not None and st.pending is not None:
            raise SentinelError(
                f"{account.id}/{key} has a pending rotation (version {st.pending}); "
                f"finish it (sentinel rotate {account.id}) or cancel it (sentinel rotate --cancel {account.id})"
            )
        register_data(data)
        cas = st.newest if st is not None else 0
        version = self.vault.kv_write(path, data, cas=cas)
        custom: dict[str, str | None] = {
            L.KIND: kind,
            L.PLATFORM: account.platform,
            L.ROTATED: format_time(now),
            L.ROTATION_PERIOD: str(int(period)),
            L.CHANGED_BY: L.metadata_value(actor),
            L.STATE: L.STATE_CURRENT,
            L.CURRENT_VERSION: str(version),
        }
        if st is None or not st.metadata.get(L.CREATED):
            custom[L.CREATED] = format_time(now)
        if st is not None and st.exists:
            custom[L.PREVIOUS_VERSION] = str(st.current)
        self.vault.kv_patch_metadata(path, custom)
        return version
