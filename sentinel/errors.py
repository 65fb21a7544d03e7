"""Sentinel's own exceptions.

Library errors (hvac, httpx, sqlite3, yaml, tomllib) are translated into these at the
module that talks to the library, so the rest of Sentinel and the CLI deal with one
family. Every message is meant to be shown to a person as one line: it names the file,
line, key or account at fault and never carries a secret value.
"""

from __future__ import annotations


class SentinelError(Exception):
    """Base of every error Sentinel raises on purpose.

    ``exit_code`` is what the CLI exits with when this error ends a command.
    """

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(SentinelError):
    """The command line itself is wrong."""

    exit_code = 2


class ConfigError(SentinelError):
    """A configuration value is missing or invalid (names the key and what is allowed)."""

    exit_code = 2


class InventoryError(SentinelError):
    """The inventory file is invalid (names the file, account and key)."""

    exit_code = 2


class RuleError(SentinelError):
    """A rule file is invalid (names the file, line and field)."""

    exit_code = 2


class StoreError(SentinelError):
    """The state database cannot be opened, migrated or written."""


class AuditError(SentinelError):
    """The audit trail cannot be written or read."""


class VaultError(SentinelError):
    """Any failure talking to Vault."""

    exit_code = 3


class VaultUnavailable(VaultError):
    """Vault cannot be reached, is sealed, or answered 5xx."""


class VaultAuthError(VaultError):
    """Sentinel's own login to Vault failed or its token expired."""


class VaultPermissionDenied(VaultError):
    """The token may not do this on this path (HTTP 403)."""


class VaultNotFound(VaultError):
    """No secret or metadata at this path."""


class VaultConflict(VaultError):
    """A check-and-set write lost against a concurrent change."""


class VaultInvalidRequest(VaultError):
    """Vault rejected the request as malformed (HTTP 400)."""


class PlatformError(SentinelError):
    """A social-media platform call failed."""

    exit_code = 4


class AccountFrozen(SentinelError):
    """The account is frozen: nothing acts on it until a responder unfreezes it."""

    exit_code = 6


class ConfirmationRequired(SentinelError):
    """A destructive command was not confirmed."""

    exit_code = 5
