"""Which adapter serves which platform, and what each platform's API can do.

``create_adapter(platform, account, credentials, **options)`` builds the adapter for one
account; ``capabilities_for(platform)`` returns its ``PlatformInfo`` (capability flags,
rate limits, manual steps) without credentials, for ``sentinel accounts audit``;
``capability_table()`` lists every platform as plain dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from sentinel.errors import ConfigError
from sentinel.platforms import bluesky, linkedin, mastodon, meta, sandbox, tiktok, x, youtube
from sentinel.platforms.base import PlatformAdapter, PlatformInfo
from sentinel.platforms.post_length import UNDECLARED, TextLimit

AdapterFactory = Callable[..., PlatformAdapter]

_ADAPTERS: dict[str, tuple[AdapterFactory, PlatformInfo]] = {
    "bluesky": (bluesky.BlueskyAdapter, bluesky.INFO),
    "sandbox": (sandbox.SandboxAdapter, sandbox.INFO),
    "mastodon": (mastodon.MastodonAdapter, mastodon.INFO),
    "x": (x.XAdapter, x.INFO),
    "facebook": (meta.FacebookPageAdapter, meta.FACEBOOK_INFO),
    "instagram": (meta.InstagramAdapter, meta.INSTAGRAM_INFO),
    "threads": (meta.ThreadsAdapter, meta.THREADS_INFO),
    "linkedin": (linkedin.LinkedInAdapter, linkedin.INFO),
    "youtube": (youtube.YouTubeAdapter, youtube.INFO),
    "tiktok": (tiktok.TikTokAdapter, tiktok.INFO),
}


def platforms() -> tuple[str, ...]:
    return tuple(sorted(_ADAPTERS))


def _entry(platform: str) -> tuple[AdapterFactory, PlatformInfo]:
    try:
        return _ADAPTERS[platform]
    except KeyError:
        raise ConfigError(f"platform {platform!r} has no adapter; known: {', '.join(platforms())}") from None


def create_adapter(
    platform: str, account: str, credentials: Mapping[str, str], **options: Any
) -> PlatformAdapter:
    """The adapter for ``account`` on ``platform``. Options: ``base_url``, ``transport``
    (an ``httpx.AsyncBaseTransport``, for tests), ``sleep``, ``timeout``."""
    factory, _ = _entry(platform)
    return factory(account, credentials, **options)


def capabilities_for(platform: str) -> PlatformInfo:
    return _entry(platform)[1]


def text_limit(platform: str, account_maximum: int | None = None) -> TextLimit:
    """The longest post text ``platform`` documents (the API's own bound for one without an
    adapter), or the account's own ``max_post_length`` where the inventory sets one."""
    entry = _ADAPTERS.get(platform)
    limit = entry[1].text_limit if entry is not None else UNDECLARED
    if account_maximum is None or account_maximum == limit.maximum:
        return limit
    return replace(limit, maximum=account_maximum, note="the account's max_post_length in the inventory")


def gate_refusal(platform: str, account_maximum: int | None, text: str) -> str:
    """Why the gate refuses ``text`` for an account on ``platform`` before deciding (past the
    length the platform takes), or ``""``: for the tools that decide as the gate does
    (``sentinel rules explain``, ``sentinel replay``); the API answers ``422 text_too_long``."""
    why = text_limit(platform, account_maximum).excess(text)
    return f"field 'text' {why} ({platform}); the gate refuses it before deciding" if why else ""


def capability_table() -> list[dict[str, Any]]:
    return [capabilities_for(p).to_dict() for p in platforms()]
