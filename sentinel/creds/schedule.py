"""When each credential is due (pure: states, inventory and settings in, a plan out).

A credential's period comes from the inventory (``rotation = "30d"``) or, failing that,
from ``[rotation]`` per kind. Its due time is ``rotated + period + offset``, where the
offset is a fixed share of ``jitter`` derived from a hash of its path: stable across
restarts, different per credential, so accounts seeded together drift apart. Scheduled
rotations run only inside ``windows`` (in the account's own time zone); a pending or parked
rotation is always listed first, because a restart must finish what it started.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sentinel.creds.kinds import Manual, kind_of
from sentinel.creds.settings import RotationSettings
from sentinel.creds.state import CredentialState
from sentinel.inventory import Account, BusinessHours, CredentialSpec

Reason = Literal["pending", "parked", "due", "not_due", "outside_window", "never", "missing", "manual"]


@dataclass(frozen=True)
class Due:
    account: str
    credential: str
    kind: str
    reason: Reason
    due_at: datetime | None = None

    @property
    def runnable(self) -> bool:
        """Whether the scheduler rotates (or resumes) it now."""
        return self.reason in ("pending", "due")


def period_of(spec: CredentialSpec, settings: RotationSettings) -> float:
    if spec.rotation_seconds is not None:
        return float(spec.rotation_seconds)
    return settings.period_for(spec.kind)


def jitter_offset(account: str, key: str, jitter: float) -> float:
    """A stable offset in [0, jitter) seconds for one credential."""
    if jitter <= 0:
        return 0.0
    digest = hashlib.sha256(f"{account}/{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * jitter


def due_at(state: CredentialState, period: float, jitter: float) -> datetime | None:
    """When the credential is next due (None: never rotated on a schedule)."""
    rotated = state.rotated
    if period <= 0 or rotated is None:
        return None
    return rotated + timedelta(seconds=period + jitter_offset(state.account, state.key, jitter))


def in_window(window: BusinessHours | None, account: Account, now: datetime) -> bool:
    if window is None:
        return True
    local = now.astimezone(account.tz)
    return window.contains(local.weekday(), local.hour * 60 + local.minute)


def plan(
    accounts: Iterable[Account],
    states: Mapping[tuple[str, str], CredentialState | None],
    settings: RotationSettings,
    now: datetime,
) -> list[Due]:
    """Every credential of ``accounts`` with what the scheduler should do about it now;
    pending and parked first, then due ones oldest first, then the rest."""
    window = settings.window
    out: list[Due] = []
    for account in accounts:
        if account.retired:
            continue
        for spec in account.credentials:
            st = states.get((account.id, spec.key))
            out.append(_one(account, spec, st, settings, window, now))
    order = {"pending": 0, "parked": 1, "due": 2}
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(out, key=lambda d: (order.get(d.reason, 3), d.due_at or far))


def _one(
    account: Account,
    spec: CredentialSpec,
    st: CredentialState | None,
    settings: RotationSettings,
    window: BusinessHours | None,
    now: datetime,
) -> Due:
    def due(reason: Reason, at: datetime | None = None) -> Due:
        return Due(account.id, spec.key, spec.kind, reason, at)

    if st is None or not st.exists:
        return due("missing")
    if st.phase == "pending":
        return due("pending")
    if st.phase == "parked":
        return due("parked")
    if isinstance(kind_of(spec.kind), Manual):
        return due("manual")
    at = due_at(st, period_of(spec, settings), settings.jitter)
    if at is None:
        return due("never")
    if at > now:
        return due("not_due", at)
    if not in_window(window, account, now):
        return due("outside_window", at)
    return due("due", at)
