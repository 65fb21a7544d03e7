"""Platform adapters: one small async interface, honest about what each platform's API can do."""

from __future__ import annotations

from sentinel.platforms.base import (
    AdapterBase,
    AppPassword,
    Capability,
    Comment,
    Identity,
    PlatformAdapter,
    PlatformInfo,
    Post,
    RateLimit,
    RateLimits,
    TimelinePage,
)
from sentinel.platforms.errors import (
    PlatformAuthFailed,
    PlatformLocked,
    PlatformNotFound,
    PlatformNotSupported,
    PlatformRateLimited,
    PlatformRejected,
    PlatformUnavailable,
)
from sentinel.platforms.registry import capabilities_for, capability_table, create_adapter, platforms

__all__ = [
    "AdapterBase",
    "AppPassword",
    "Capability",
    "Comment",
    "Identity",
    "PlatformAdapter",
    "PlatformAuthFailed",
    "PlatformInfo",
    "PlatformLocked",
    "PlatformNotFound",
    "PlatformNotSupported",
    "PlatformRateLimited",
    "PlatformRejected",
    "PlatformUnavailable",
    "Post",
    "RateLimit",
    "RateLimits",
    "TimelinePage",
    "capabilities_for",
    "capability_table",
    "create_adapter",
    "platforms",
]
