"""Least privilege, decided by Vault: which capability paths a person's token may use.

Sentinel's capabilities are Vault ACL paths that exist only to be asked about (no secrets
engine is mounted there), so the organisation's own Vault policies, identities and login
methods (OIDC, LDAP, AppRole) decide who may do what::

    <prefix>/accounts/<account-id>/<capability>   publish, respond, moderate, analytics, admin
    <prefix>/global/<capability>                  approve, lockdown, unfreeze

A capability is granted when Vault reports ``update`` (or ``create``, ``sudo``, ``root``)
on its path. ``sentinel policies render`` writes such policies from a roles file; the
freeze policy denies ``<prefix>/accounts/<id>/*`` for frozen accounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sentinel.errors import SentinelError
from sentinel.vault.client import VaultClient

ACCOUNT_CAPABILITIES = ("publish", "respond", "moderate", "analytics", "admin")
GLOBAL_CAPABILITIES = ("approve", "lockdown", "unfreeze")
CAPABILITIES = ACCOUNT_CAPABILITIES + GLOBAL_CAPABILITIES
GRANTING = frozenset({"update", "create", "sudo", "root"})


class MissingCapability(SentinelError):
    """The caller's Vault token lacks a Sentinel capability (names it)."""

    exit_code = 6

    def __init__(self, capability: str, accounts: Sequence[str] = ()) -> None:
        where = f" on {', '.join(accounts)}" if accounts else ""
        super().__init__(f"missing capability '{capability}'{where}: ask for it in Vault")
        self.capability = capability
        self.accounts = list(accounts)


def capability_path(prefix: str, capability: str, account: str | None = None) -> str:
    """The Vault ACL path that stands for ``capability`` (on ``account`` for per-account ones)."""
    if capability in GLOBAL_CAPABILITIES:
        return f"{prefix}/global/{capability}"
    if capability not in ACCOUNT_CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}")
    if not account:
        raise ValueError(f"capability {capability!r} is per account: name the account")
    return f"{prefix}/accounts/{account}/{capability}"


def granted(caps: Iterable[str]) -> bool:
    return bool(GRANTING.intersection(caps)) and "deny" not in caps


def require_self(client: VaultClient, prefix: str, capability: str, accounts: Sequence[str] = ()) -> None:
    """Raise ``MissingCapability`` unless ``client``'s own token holds ``capability`` (on every account)."""
    paths = (
        {capability_path(prefix, capability, a): a for a in accounts}
        if accounts
        else {capability_path(prefix, capability): ""}
    )
    caps = client.capabilities_self(list(paths))
    missing = [paths[p] for p, c in caps.items() if not granted(c)]
    if missing:
        raise MissingCapability(capability, [m for m in missing if m])
