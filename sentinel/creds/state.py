"""The rotation state of one credential, read from one KV version or metadata read (pure).

See ``sentinel.vault.layout`` for the layout. Everything here is computed from values
already fetched: no I/O, no clock of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sentinel.vault import layout as L

Phase = Literal["idle", "pending", "parked"]


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def format_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class CredentialState:
    """Where one credential stands: which version is current, previous, pending."""

    account: str
    key: str
    newest: int
    """KV's newest version (0: nothing stored)."""
    current: int
    """The version recorded as current (equals ``newest`` for a secret never rotated)."""
    previous: int
    retain_from: int
    parked: bool
    metadata: Mapping[str, str]
    newest_created: str = ""
    """When the newest version was written (for a pending one: since when it is pending)."""

    @classmethod
    def from_metadata(
        cls, account: str, key: str, newest: int, custom: Mapping[str, str], newest_created: str = ""
    ) -> CredentialState:
        current = _int(custom.get(L.CURRENT_VERSION), 0) or newest
        current = min(current, newest) if newest else 0
        return cls(
            account=account,
            key=key,
            newest=newest,
            current=current,
            previous=_int(custom.get(L.PREVIOUS_VERSION)),
            retain_from=_int(custom.get(L.RETAIN_FROM), 1) or 1,
            parked=custom.get(L.STATE) == L.STATE_PARKED,
            metadata=dict(custom),
            newest_created=newest_created,
        )

    @property
    def exists(self) -> bool:
        return self.newest > 0

    @property
    def recorded(self) -> bool:
        """True once ``current_version`` is written down (a secret stored by other tools is not)."""
        return L.CURRENT_VERSION in self.metadata

    @property
    def pending(self) -> int | None:
        return self.newest if self.newest > self.current else None

    @property
    def phase(self) -> Phase:
        if self.pending is None:
            return "idle"
        return "parked" if self.parked else "pending"

    @property
    def kind(self) -> str:
        return self.metadata.get(L.KIND, self.key)

    @property
    def rotated(self) -> datetime | None:
        return parse_time(self.metadata.get(L.ROTATED) or self.metadata.get(L.CREATED))

    @property
    def parked_reason(self) -> str:
        return self.metadata.get(L.PARKED_REASON, "")

    def finish_patch(self, pending: int, now: datetime, actor: str, grace: float) -> dict[str, Any]:
        """The one metadata merge patch that makes ``pending`` current.

        Versions below the current ``previous`` became older-than-previous when the current
        version became current (``rotated``); once ``grace`` has passed since then they may
        go, so ``retain_from`` moves up to ``previous`` and ``max_versions`` is set so that
        Vault prunes them itself on the next write. Otherwise ``retain_from`` stays.
        """
        retain = self.retain_from
        since = self.rotated
        if self.previous and since is not None and (now - since).total_seconds() >= grace:
            retain = max(retain, self.previous)
        if grace <= 0:
            retain = max(retain, self.current)
        custom: dict[str, str | None] = {
            L.STATE: L.STATE_CURRENT,
            L.CURRENT_VERSION: str(pending),
            L.PREVIOUS_VERSION: str(self.current),
            L.RETAIN_FROM: str(retain),
            L.ROTATED: format_time(now),
            L.CHANGED_BY: L.metadata_value(actor),
            L.PARKED_REASON: None,
            L.PARKED_AT: None,
            L.ATTEMPTS: None,
        }
        return {"custom_metadata": custom, "max_versions": keep_versions(pending, retain)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "key": self.key,
            "kind": self.kind,
            "phase": self.phase,
            "current_version": self.current,
            "previous_version": self.previous or None,
            "pending_version": self.pending,
            "rotated": self.metadata.get(L.ROTATED),
            "changed_by": self.metadata.get(L.CHANGED_BY),
            "pending_since": self.newest_created if self.pending is not None else None,
            "parked_reason": self.parked_reason or None,
        }


def keep_versions(newest: int, retain_from: int) -> int:
    """``max_versions`` that keeps ``retain_from`` .. ``newest`` and room for one more write."""
    return max(newest - max(retain_from, 1) + 2, 3)
