from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sentinel.creds.state import CredentialState, keep_versions, parse_time

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def state(newest: int, **custom: str) -> CredentialState:
    return CredentialState.from_metadata("acct", "password", newest, custom, "2026-03-01T11:00:00.5Z")


def test_phase_follows_newest_and_current_version() -> None:
    assert state(3, current_version="3").phase == "idle"
    pending = state(4, current_version="3")
    assert pending.phase == "pending" and pending.pending == 4 and pending.current == 3
    assert pending.to_dict()["pending_since"] == "2026-03-01T11:00:00.5Z"
    parked = state(4, current_version="3", state="parked", parked_reason="platform down")
    assert parked.phase == "parked" and parked.parked_reason == "platform down"
    # Parked only means something while a version is pending.
    assert state(3, current_version="3", state="parked").phase == "idle"


def test_secret_stored_by_other_tools_counts_as_current_but_unrecorded() -> None:
    st = state(2)
    assert st.current == 2 and st.pending is None and not st.recorded
    assert state(0).exists is False


def test_finish_patch_makes_pending_current_and_old_previous() -> None:
    st = state(5, current_version="4", previous_version="3", retain_from="2", rotated="2026-02-01T00:00:00Z")
    patch = st.finish_patch(5, NOW, "sentinel: scheduled", grace=7 * 86400)
    cm = patch["custom_metadata"]
    assert cm["current_version"] == "5" and cm["previous_version"] == "4" and cm["state"] == "current"
    assert cm["rotated"] == "2026-03-01T12:00:00Z" and cm["changed_by"] == "sentinel: scheduled"
    assert cm["parked_reason"] is None  # merge patch: deletes the key
    # Versions below 3 have been older than previous since 2026-02-01: past the grace period.
    assert cm["retain_from"] == "3"
    assert patch["max_versions"] == keep_versions(5, 3) == 4


def test_finish_patch_keeps_versions_within_their_grace_period() -> None:
    recent = (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    st = state(5, current_version="4", previous_version="3", retain_from="2", rotated=recent)
    cm = st.finish_patch(5, NOW, "x", grace=86400)["custom_metadata"]
    assert cm["retain_from"] == "2"
    # No grace period: everything older than the new previous may go at the next write.
    assert st.finish_patch(5, NOW, "x", grace=0)["custom_metadata"]["retain_from"] == "4"


def test_keep_versions_leaves_room_for_the_next_pending_write() -> None:
    # Keeping 3..5 and writing 6 must prune only versions below 3.
    n = keep_versions(5, 3)
    assert 6 - n + 1 == 3
    assert keep_versions(2, 2) == 3


def test_parse_time_accepts_vault_and_our_formats() -> None:
    assert parse_time("2026-03-01T12:00:00Z") == NOW
    # Vault writes nanoseconds.
    assert parse_time("2026-03-01T12:00:00.123456789Z") == NOW.replace(microsecond=123456)
    assert parse_time("") is None and parse_time("yesterday") is None
