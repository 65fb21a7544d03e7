from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sentinel.creds.schedule import due_at, in_window, jitter_offset, plan
from sentinel.creds.settings import RotationSettings
from sentinel.creds.state import CredentialState
from sentinel.inventory import Account, BusinessHours, CredentialSpec

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
DAY = 86400.0


def account(aid: str, *specs: CredentialSpec, tz: str = "UTC") -> Account:
    return Account(aid, "sandbox", aid, tz, "gated", credentials=specs)


def st(aid: str, key: str, rotated: datetime, newest: int = 1, **extra: str) -> CredentialState:
    custom = {"current_version": "1", "rotated": rotated.strftime("%Y-%m-%dT%H:%M:%SZ"), **extra}
    return CredentialState.from_metadata(aid, key, newest, custom)


def test_jitter_is_stable_within_bounds_and_spreads_accounts() -> None:
    offsets = [jitter_offset(f"acct-{i}", "password", 3600) for i in range(180)]
    assert offsets == [jitter_offset(f"acct-{i}", "password", 3600) for i in range(180)]
    assert all(0 <= o < 3600 for o in offsets)
    # 180 accounts rotated together land in many different minutes of the hour.
    assert len({int(o // 60) for o in offsets}) > 40
    assert jitter_offset("a", "password", 0) == 0


def test_due_at_uses_rotated_plus_period_plus_offset() -> None:
    s = st("a", "password", NOW - timedelta(days=10))
    assert due_at(s, 0, 0) is None
    assert due_at(s, 30 * DAY, 0) == NOW + timedelta(days=20)
    assert due_at(s, 30 * DAY, 3600) == NOW + timedelta(days=20, seconds=jitter_offset("a", "password", 3600))


def test_window_is_in_the_accounts_own_time_zone() -> None:
    window = BusinessHours.parse("mon-fri 09:00-17:00")
    assert in_window(None, account("a"), NOW)
    assert in_window(window, account("a"), NOW)  # 10:00 UTC
    assert not in_window(window, account("b", tz="America/New_York"), NOW)  # 05:00 there


def test_plan_orders_pending_then_due_and_honours_inventory_periods() -> None:
    settings = RotationSettings(
        jitter=0, password=30 * DAY, app_password=10 * DAY, windows="mon-fri 09:00-17:00"
    )
    a = account("a", CredentialSpec("password"), CredentialSpec("app_password"), CredentialSpec("totp_seed"))
    b = account("b", CredentialSpec("password", rotation_seconds=5 * DAY))
    c = account("c", CredentialSpec("password"), tz="America/New_York")
    d = account("d", CredentialSpec("password"))
    old = NOW - timedelta(days=12)
    states = {
        ("a", "password"): st("a", "password", old),
        ("a", "app_password"): st("a", "app_password", old),
        ("a", "totp_seed"): st("a", "totp_seed", old),
        ("b", "password"): st("b", "password", old, newest=2, state="parked"),
        ("c", "password"): st("c", "password", NOW - timedelta(days=40)),
        ("d", "password"): None,
    }
    p = plan([a, b, c, d], states, settings, NOW)
    reasons = {(x.account, x.credential): x.reason for x in p}
    assert reasons == {
        ("a", "password"): "not_due",
        ("a", "app_password"): "due",
        ("a", "totp_seed"): "manual",
        ("b", "password"): "parked",
        ("c", "password"): "outside_window",
        ("d", "password"): "missing",
    }
    assert p[0].reason == "parked" and p[1].reason == "due"
    assert [x.reason for x in p if x.runnable] == ["due"]
