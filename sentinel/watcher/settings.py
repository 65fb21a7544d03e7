"""``[watcher]``: how often each platform's timelines are polled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sentinel.errors import ConfigError
from sentinel.settings import Duration


@dataclass(frozen=True)
class WatcherSettings:
    """``intervals`` maps a platform to seconds between polls of one account (default: the
    adapter's documented-safe interval); ``reconcile_window`` is how far apart a gate
    allowance and an observed post with the same text may be and still match. ``streams``
    follows the platforms' event streams (Bluesky) where they have one; while a stream is
    live its accounts are still polled every ``stream_poll_interval``."""

    enabled: bool = True
    intervals: dict[str, Any] = field(default_factory=dict)
    max_backoff: Duration = Duration(900.0)
    concurrency: int = 20
    reconcile_window: Duration = Duration(900.0)
    account_state_interval: Duration = Duration(300.0)
    """Seconds between two snapshots of one account's identity and access (``account_state``)."""
    account_state_jitter: float = 0.1
    """Each wait is the interval times 1 ± this, so accounts do not all ask at once."""
    streams: bool = True
    stream_poll_interval: Duration = Duration(300.0)

    def validate(self, prefix: str) -> None:
        for platform, value in self.intervals.items():
            if not isinstance(value, int | float) or value < 1:
                raise ConfigError(
                    f"config key '{prefix}.intervals.{platform}' must be a number of seconds >= 1"
                )
        if self.concurrency < 1:
            raise ConfigError(f"config key '{prefix}.concurrency' must be at least 1")
        if self.account_state_interval < 10:
            raise ConfigError(f"config key '{prefix}.account_state_interval' must be at least 10s")
        if not 0 <= self.account_state_jitter < 1:
            raise ConfigError(f"config key '{prefix}.account_state_jitter' must be at least 0 and below 1")
        if self.stream_poll_interval < 1:
            raise ConfigError(f"config key '{prefix}.stream_poll_interval' must be at least 1s")
        if self.max_backoff < 1:
            raise ConfigError(f"config key '{prefix}.max_backoff' must be at least 1s")
