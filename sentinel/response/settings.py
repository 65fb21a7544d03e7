"""``[response]``: how freezes are carried out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sentinel.errors import ConfigError
from sentinel.settings import Duration


@dataclass(frozen=True)
class ResponseSettings:
    attempts: int = 4
    """How many times a failing freeze step is tried before it is reported failed."""
    backoff: Duration = Duration(0.5)
    backoff_max: Duration = Duration(8.0)
    concurrency: int = 16
    """Accounts worked on at once during a lockdown (the gate step is always immediate for all)."""
    delete_offending: bool = False
    """Delete the posts that triggered a freeze, after storing them in the incident."""
    delete_offending_accounts: tuple[str, ...] = ()
    """Delete offending posts only on these accounts (ids or globs such as ``"brand-*"``;
    empty: on all, when delete_offending)."""
    delete_offending_rules: tuple[str, ...] = ()
    """Delete a post only when one of these rules flagged it (ids or globs such as
    ``"content.*"``; empty: whatever froze the account)."""
    blast_radius: Literal["off", "alert", "freeze"] = "freeze"
    """When one operator's posts freeze several accounts, the attack spreads through that
    operator (a phished manager, a compromised tool login): ``freeze`` every account the
    operator can reach and disable their Vault entity, ``alert`` a responder, or ``off``."""
    blast_radius_accounts: int = 2
    """How many accounts one operator's posts must have frozen (within the window) first."""
    blast_radius_window: Duration = Duration(900.0)
    freeze_policy_check: Duration = Duration(5.0)
    """How often the daemon re-reads the freeze policy in Vault and rewrites anything in it
    that is not its own deny rules (raising a critical ``freeze_policy_tampered`` alert), and
    removes denies of accounts the store holds as not frozen once they stayed past a grace
    (``freeze_unrecorded``)."""

    def validate(self, prefix: str) -> None:
        if self.freeze_policy_check <= 0:
            raise ConfigError(f"config key '{prefix}.freeze_policy_check' must be a positive duration")
        if self.attempts < 1:
            raise ConfigError(f"config key '{prefix}.attempts' must be at least 1")
        if self.concurrency < 1:
            raise ConfigError(f"config key '{prefix}.concurrency' must be at least 1")
        if self.blast_radius_accounts < 1:
            raise ConfigError(f"config key '{prefix}.blast_radius_accounts' must be at least 1")
        if self.backoff <= 0 or self.backoff_max < self.backoff:
            raise ConfigError(f"config key '{prefix}.backoff_max' must be at least '{prefix}.backoff' (> 0)")
