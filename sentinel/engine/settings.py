"""``[engine]``: the freeze policy and how the engine learns each account's normal.

``[engine.takeover]`` (account events and Vault audit entries) is described in
``sentinel.engine.takeover_settings``.

The freeze policy is configuration, not code: every finding carries a score (from its
rule), the engine combines them (see ``sentinel.engine.scoring``) and these thresholds turn
the combined score into a verdict and, past ``freeze_score``, a freeze::

    [engine.policy]
    hold_score = 4.0     # gate: hold for a person to approve
    block_score = 8.0    # gate: block outright
    flag_score = 4.0     # observed post: flag
    freeze_score = 8.0   # freeze the account (gate events blocked from then on)
    freeze_duration = "2h"  # a freeze lifts after 2 h without suspicious activity; 0: never

    [engine.learning]
    min_posts = 20       # novelty rules stay silent until an account has this many clean posts
    min_days = "14d"     # ... spread over at least this long
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sentinel.engine.takeover_settings import TakeoverSettings
from sentinel.errors import ConfigError
from sentinel.settings import Duration


@dataclass(frozen=True)
class PolicySettings:
    """Score thresholds: which combined scores hold, block, flag or freeze."""

    hold_score: float = 4.0
    block_score: float = 8.0
    flag_score: float = 4.0
    freeze_score: float = 8.0
    group_damping: float = 0.5
    """Findings in the same rule group add their strongest score plus this share of the others."""
    freeze_duration: Duration = Duration(2 * 3600.0)
    """A policy freeze lifts after this long without suspicious activity on the account (each
    suspicious post while frozen extends it); 0 keeps it until someone unfreezes the account."""

    def validate(self, prefix: str) -> None:
        for name in ("hold_score", "block_score", "flag_score", "freeze_score"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"config key '{prefix}.{name}' must be greater than 0")
        if self.block_score < self.hold_score:
            raise ConfigError(f"config key '{prefix}.block_score' must not be below '{prefix}.hold_score'")
        if self.freeze_duration < 0:
            raise ConfigError(f"config key '{prefix}.freeze_duration' must not be negative")
        if not 0.0 <= self.group_damping <= 1.0:
            raise ConfigError(f"config key '{prefix}.group_damping' must be between 0 and 1")


@dataclass(frozen=True)
class LearningSettings:
    """How long an account (and an author) is learned before novelty rules speak."""

    min_posts: int = 20
    min_days: Duration = Duration(14 * 86400.0)
    author_min_posts: int = 5
    org_min_posts: int = 100

    def validate(self, prefix: str) -> None:
        for name in ("min_posts", "author_min_posts", "org_min_posts"):
            if getattr(self, name) < 0:
                raise ConfigError(f"config key '{prefix}.{name}' must not be negative")
        if self.min_days < 0:
            raise ConfigError(f"config key '{prefix}.min_days' must not be negative")


@dataclass(frozen=True)
class EngineSettings:
    """``[engine]``: freeze policy, learning period and rule reloading."""

    policy: PolicySettings = field(default_factory=PolicySettings)
    learning: LearningSettings = field(default_factory=LearningSettings)
    takeover: TakeoverSettings = field(default_factory=TakeoverSettings)
    """Account events and Vault audit entries: Sentinel's own work, its administrators, containment."""
    reload_debounce: Duration = Duration(0.3)

    def validate(self, prefix: str) -> None:
        if not 0.0 <= self.reload_debounce <= 1.5:
            raise ConfigError(
                f"config key '{prefix}.reload_debounce' must be between 0s and 1.5s "
                "(rules reload within 2 s of a change)"
            )
