"""``creds show`` (metadata only) and ``--reveal`` / ``totp code`` (a secret, to a person).

Metadata is read with Sentinel's own token: it holds no secret. A secret is read with the
*person's* token, so Vault policy decides who may see it; every reveal and every TOTP code
is written to the audit trail naming the person, and a refused attempt is audited too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sentinel.creds.store import CredentialStore
from sentinel.creds.totp import TotpSeed
from sentinel.errors import VaultNotFound, VaultPermissionDenied
from sentinel.inventory import Account
from sentinel.vault import layout as L
from sentinel.vault.client import VaultClient

AuditSink = Callable[[str, str, str, Mapping[str, Any]], None]

_META_KEYS = (L.CREATED, L.ROTATED, L.ROTATION_PERIOD, L.CHANGED_BY, L.PLATFORM)


def credential_keys(account: Account) -> list[tuple[str, str]]:
    """(key, kind) of every credential the inventory lists for the account."""
    return [(c.key, c.kind) for c in account.credentials]


def show(vault: VaultClient, account: Account, only: str | None = None) -> list[dict[str, Any]]:
    """Metadata of the account's credentials; never a secret value."""
    store = CredentialStore(vault)
    out = []
    for key, kind in credential_keys(account):
        if only and key != only:
            continue
        st = store.state(account.id, key)
        row: dict[str, Any] = {"key": key, "kind": kind, "stored": bool(st and st.exists)}
        if st is not None and st.exists:
            row.update(st.to_dict())
            row.pop("account", None)
            for k in _META_KEYS:
                row[k] = st.metadata.get(k)
        out.append(row)
    return out


def _read_as_person(
    person: VaultClient, who: str, account: Account, key: str, action: str, audit: AuditSink, missing: str
) -> tuple[int, dict[str, Any]]:
    """The current version, read with the person's token; a refusal is audited too."""
    path = L.credential_path(account.id, key)
    try:
        st, data = CredentialStore(person).current(account.id, key)
    except VaultPermissionDenied:
        audit(who, f"{action}_denied", path, {})
        raise
    except VaultNotFound:
        raise VaultNotFound(missing) from None
    audit(who, action, path, {"version": st.current, "fields": sorted(data)})
    return st.current, data


def reveal(
    person: VaultClient, who: str, account: Account, key: str, audit: AuditSink
) -> tuple[int, dict[str, Any]]:
    """The current version of a credential, read with the person's own token; audited."""
    missing = f"no credential {key!r} stored for {account.id}"
    return _read_as_person(person, who, account, key, "credential.reveal", audit, missing)


def totp_code(person: VaultClient, who: str, account: Account, key: str, audit: AuditSink) -> tuple[str, int]:
    """The account's current TOTP code (and seconds left), read with the person's token; audited."""
    missing = f"{account.id} has no TOTP seed stored; enrol one with: sentinel totp enroll {account.id}"
    _, data = _read_as_person(person, who, account, key, "totp.code", audit, missing)
    return TotpSeed.from_data(data).code()
