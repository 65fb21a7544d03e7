"""Which credential kinds rotate on which platform: decided by what the adapter declares."""

from __future__ import annotations

import pytest

from sentinel.creds.kinds import kind_of
from sentinel.inventory import PLATFORMS
from sentinel.platforms import Capability, PlatformInfo, RateLimits, capabilities_for, create_adapter


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_an_oauth_token_rotates_only_where_the_platform_says_its_refresh_renews_one(platform: str) -> None:
    adapter = create_adapter(platform, "acct", {"access_token": "t-123456", "app_password": "a-123456"})
    why = kind_of("oauth_token").unsupported(adapter)
    if platform in ("linkedin", "threads", "tiktok", "x", "youtube"):
        assert why is None
    elif platform in ("bluesky", "sandbox"):  # their rotate_credential renews an app password
        assert why == (
            f"{platform} renews an app_password, not an OAuth token: list an app_password "
            "credential to rotate, or replace this token by hand with sentinel creds set"
        )
    else:
        assert why is not None and why.startswith(f"{platform} cannot rotate credential through its API")
    assert capabilities_for(platform).renews == {
        "bluesky": "app_password",
        "sandbox": "app_password",
        "facebook": "",
        "instagram": "",
        "mastodon": "",
    }.get(platform, "oauth_token")


def test_bluesky_rotates_its_app_password_and_leaves_an_oauth_token_to_a_person() -> None:
    adapter = create_adapter("bluesky", "acct", {"identifier": "a.example", "app_password": "a-123456"})
    assert kind_of("app_password").unsupported(adapter) is None
    assert "not an OAuth token" in (kind_of("oauth_token").unsupported(adapter) or "")


def test_rotate_credential_is_declared_with_what_it_renews() -> None:
    with pytest.raises(ValueError, match="rotate_credential together with what it renews"):
        PlatformInfo("p", frozenset({Capability.ROTATE_CREDENTIAL}), RateLimits())
    with pytest.raises(ValueError, match="rotate_credential together with what it renews"):
        PlatformInfo("p", frozenset(), RateLimits(), renews="oauth_token")
