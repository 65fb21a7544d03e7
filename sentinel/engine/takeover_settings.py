"""``[engine.takeover]``: who Sentinel itself is, who administers it, and what containment does.

The credentials' KV mount is ``[vault] kv_mount`` (``sentinel replay --kv-mount``).

Account events and Vault audit entries are judged against these (see ``sentinel.engine.intake``)::

    [engine.takeover]
    self = ["token-sentinel-daemon"]  # Sentinel's own Vault identity: entity id or display name
    admins = []                       # named administrators (entity ids or display names)
    admin_policies = ["sentinel-admin"]  # ... and whoever holds one of these policies
    own_clients = ["Sentinel"]        # an account change by one of these clients ...
    own_names = ["sentinel-"]         # ... naming an app password/app with this prefix ...
    own_addresses = []                # ... from one of these addresses (empty: any) is Sentinel's own
    contain_freezes = "read"          # containing an identity freezes what it read; "none": nothing
    contain_lookback = "1h"           # ... the credentials it read within this long
    pending_timeout = "1m"            # a request entry without its response is decided after this
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sentinel.errors import ConfigError
from sentinel.settings import Duration


@dataclass(frozen=True)
class TakeoverSettings:
    """Recognition of Sentinel's own work and its administrators, and the containment policy."""

    self: tuple[str, ...] = ()
    """Sentinel's own Vault identities (entity id or display name): their requests are its work."""
    admins: tuple[str, ...] = ()
    """Named administrators (entity id or display name) allowed to change Sentinel's policies."""
    admin_policies: tuple[str, ...] = ("sentinel-admin",)
    """A token holding one of these policies acts as an administrator."""
    own_clients: tuple[str, ...] = ("Sentinel",)
    own_names: tuple[str, ...] = ("sentinel-",)
    own_addresses: tuple[str, ...] = ()
    contain_freezes: Literal["read", "none"] = "read"
    contain_lookback: Duration = Duration(3600.0)
    pending_timeout: Duration = Duration(60.0)

    def validate(self, prefix: str) -> None:
        for name in ("contain_lookback", "pending_timeout"):
            if getattr(self, name) < 0:
                raise ConfigError(f"config key '{prefix}.{name}' must not be negative")
