"""Least privilege, decided by Vault: which capability paths a person's token may use.

Sentinel's capabilities are Vault ACL paths that exist only to be asked about (no secrets
engine is mounted there), so the organisation's own Vault policies, identities and login
methods (OIDC, LDAP, AppRole) decide who may do what::

    <prefix>/accounts/<account-id>/<capability>   publish, respond, moderate, analytics, admin, tune
    <prefix>/global/<capability>                  approve, lockdown, unfreeze, assert_author

One decision for the CLI and the API (``granted``): a capability is held when Vault
reports ``update`` or ``create`` on its path (``root`` for a root token), and never when
it reports ``deny`` (deny wins). ``read``, ``list``, ``patch`` and ``sudo`` alone grant
nothing. One prefix: ``[api] acl_prefix`` (``acl_prefix()``), the one ``sentinel
policies render`` writes grants under. The freeze policy denies ``<prefix>/accounts/<id>/*``
for frozen accounts.

``assert_author`` is for a publishing tool that posts on behalf of people: with it, the
tool may name the author of a post (``author`` in ``/v1/check`` and the broker). The author
is then recorded beside the tool's own identity and neither may approve the post; without
it, the author is always the caller's own Vault identity (``sentinel.identity``).

``tune`` is detection tuning on one account: acknowledging a rule's findings there for a key
until a date (``sentinel.acks``). It is per account because an acknowledgement silences
detection on that account: whoever may silence it there is a decision about that account,
and the freeze policy takes it away with everything else on a frozen account.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sentinel.errors import SentinelError
from sentinel.vault.client import VaultClient

if TYPE_CHECKING:
    from sentinel.config import Config

ACCOUNT_CAPABILITIES = ("publish", "respond", "moderate", "analytics", "admin", "tune")
GLOBAL_CAPABILITIES = ("approve", "lockdown", "unfreeze", "assert_author")
CAPABILITIES = ACCOUNT_CAPABILITIES + GLOBAL_CAPABILITIES
GRANTING = frozenset({"update", "create", "root"})
"""Vault capabilities on a capability path that grant it (unless ``deny`` is reported too)."""


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


def acl_prefix(config: Config) -> str:
    """The one capability path prefix, for the CLI and the API alike."""
    return config.api.acl_prefix.strip("/")


def granted(caps: Iterable[str]) -> bool:
    """Whether Vault's answer for a capability path grants the capability (deny wins)."""
    caps = set(caps)
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
