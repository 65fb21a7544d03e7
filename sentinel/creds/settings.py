"""``[rotation]``: when and how credentials are rotated."""

from __future__ import annotations

from dataclasses import dataclass

from sentinel.errors import ConfigError
from sentinel.inventory import BusinessHours
from sentinel.settings import Duration

DAY = 86400.0


@dataclass(frozen=True)
class RotationSettings:
    enabled: bool = True
    """Run scheduled rotations in the daemon (forced rotations and ``sentinel rotate`` always work)."""
    password: Duration = Duration(90 * DAY)
    """Default rotation period per credential kind (the inventory's ``rotation`` wins; 0: never)."""
    app_password: Duration = Duration(30 * DAY)
    oauth_token: Duration = Duration(30 * DAY)
    api_key: Duration = Duration(0.0)
    """API keys have no rotation API on the platforms Sentinel knows: rotated by hand."""
    jitter: Duration = Duration(6 * 3600.0)
    """Each credential's due time is pushed back by a fixed share of this (hash of its path), so
    that 180 accounts seeded together do not rotate in the same second."""
    windows: str = ""
    """When scheduled rotations may run, in each account's own time zone, e.g.
    ``"mon-fri 09:00-17:00"`` (empty: any time). Forced rotations ignore it."""
    concurrency: int = 4
    """Credentials rotated at once."""
    attempts: int = 5
    """Tries per rotation (each resumes where the last stopped) before it is parked and alerted."""
    backoff: Duration = Duration(2.0)
    backoff_max: Duration = Duration(60.0)
    grace: Duration = Duration(7 * DAY)
    """How long versions older than 'previous' stay in Vault before they are destroyed."""
    scan_interval: Duration = Duration(60.0)
    """How often the daemon looks for due, pending and stuck rotations."""
    rescan: Duration = Duration(900.0)
    """How often the daemon re-reads every credential's metadata from Vault."""

    def period_for(self, kind: str) -> float:
        return float(getattr(self, kind, 0.0) or 0.0) if kind in _PERIOD_KINDS else 0.0

    @property
    def window(self) -> BusinessHours | None:
        return BusinessHours.parse(self.windows) if self.windows.strip() else None

    def validate(self, prefix: str) -> None:
        if self.concurrency < 1:
            raise ConfigError(f"config key '{prefix}.concurrency' must be at least 1")
        if self.attempts < 1:
            raise ConfigError(f"config key '{prefix}.attempts' must be at least 1")
        if self.backoff <= 0 or self.backoff_max < self.backoff:
            raise ConfigError(f"config key '{prefix}.backoff_max' must be at least '{prefix}.backoff' (> 0)")
        for kind in _PERIOD_KINDS:
            if getattr(self, kind) < 0:
                raise ConfigError(f"config key '{prefix}.{kind}' must not be negative")
        if self.jitter < 0 or self.grace < 0:
            raise ConfigError(f"config keys '{prefix}.jitter' and '{prefix}.grace' must not be negative")
        if self.scan_interval <= 0 or self.rescan <= 0:
            raise ConfigError(f"config keys '{prefix}.scan_interval' and '{prefix}.rescan' must be positive")
        try:
            _ = self.window
        except ValueError as e:
            raise ConfigError(f"config key '{prefix}.windows': {e}") from None


_PERIOD_KINDS = ("password", "app_password", "oauth_token", "api_key")
