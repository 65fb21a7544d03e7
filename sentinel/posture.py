"""Account posture, the way an auditor asks for it (``sentinel accounts audit``).

Pure: it takes the inventory, what Vault holds for each account, when each account last
posted, and what each platform's API cannot do, and returns findings. Gathering that data
(Vault, the store) is the caller's business.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sentinel.durations import format_duration
from sentinel.inventory import Account, Inventory

SILENT_DAYS = 90


@dataclass(frozen=True)
class CredentialInfo:
    """What Vault says of one stored credential (never its value)."""

    key: str
    kind: str
    rotated: datetime | None


@dataclass(frozen=True)
class PostureFinding:
    check: str
    subject: str  # an account id, or an operator id for blast-radius findings
    detail: str
    severity: str = "medium"

    def to_dict(self) -> dict[str, str]:
        return {
            "check": self.check,
            "subject": self.subject,
            "detail": self.detail,
            "severity": self.severity,
        }


def _parse(ts: str) -> datetime | None:
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None


def audit_posture(
    inventory: Inventory,
    stored: Mapping[str, Mapping[str, CredentialInfo]] | None,
    last_posts: Mapping[str, str],
    now: datetime,
    max_reach: int,
    default_rotation: Mapping[str, float] | None = None,
    unsupported: Mapping[str, list[str]] | None = None,
    reach: Mapping[str, Sequence[str]] | None = None,
    freeze_gaps: Mapping[str, str] | None = None,
) -> list[PostureFinding]:
    """Findings for every active account; ``stored`` None means Vault was not consulted.
    ``reach`` (operator -> accounts, from the inventory owners and Vault's policies) replaces
    the inventory owners alone for the blast-radius check when given. ``freeze_gaps``
    (``entity NAME`` / ``group NAME`` -> what it holds) names those holding Sentinel
    capabilities without the freeze policy."""
    out: list[PostureFinding] = []
    default_rotation = default_rotation or {}
    for a in inventory.active:
        out.extend(_account_findings(a, stored, last_posts, now, default_rotation))
        for step in (unsupported or {}).get(a.platform, []):
            out.append(
                PostureFinding(
                    "platform-gap",
                    a.id,
                    f"{a.platform} has no API to {step}; a person must do it in a freeze",
                    "low",
                )
            )
    active = {a.id for a in inventory.active}
    source = "inventory owners and Vault policies" if reach is not None else "inventory owners"
    for operator, accounts in sorted((reach if reach is not None else inventory.reach()).items()):
        reached = [x for x in accounts if x in active]
        if len(reached) > max_reach:
            out.append(
                PostureFinding(
                    "blast-radius",
                    operator,
                    f"can reach {len(reached)} accounts (more than {max_reach}, from {source}); "
                    "one phished login posts from all",
                    "high",
                )
            )
    for subject, detail in sorted((freeze_gaps or {}).items()):
        out.append(PostureFinding("freeze-not-carried", subject, detail, "high"))
    return out


def _account_findings(
    a: Account,
    stored: Mapping[str, Mapping[str, CredentialInfo]] | None,
    last_posts: Mapping[str, str],
    now: datetime,
    default_rotation: Mapping[str, float],
) -> list[PostureFinding]:
    out: list[PostureFinding] = []
    if not a.owners:
        out.append(PostureFinding("no-owner", a.id, "no owner: nobody answers for this account", "high"))
    if stored is not None:
        creds = stored.get(a.id, {})
        secrets = [c for c in creds.values() if c.kind != "totp_seed"]
        if not secrets:
            out.append(PostureFinding("no-credential", a.id, "no credential stored in Vault", "high"))
        if not any(c.kind == "totp_seed" for c in creds.values()):
            out.append(PostureFinding("no-2fa", a.id, "no 2FA (TOTP) seed stored in Vault", "high"))
        periods = {c.key: c.rotation_seconds for c in a.credentials}
        for c in creds.values():
            period = periods.get(c.key) or default_rotation.get(c.kind)
            if not period or c.rotated is None:
                continue
            age = now - c.rotated
            if age > timedelta(seconds=period):
                out.append(
                    PostureFinding(
                        "overdue-rotation",
                        a.id,
                        f"{c.key} last rotated {format_duration(age.total_seconds())} ago; "
                        f"period is {format_duration(period)}",
                    )
                )
        for spec in a.credentials:
            if spec.key not in creds and spec.kind != "totp_seed":
                out.append(
                    PostureFinding(
                        "missing-credential", a.id, f"inventory lists {spec.key} but Vault has none"
                    )
                )
    last = _parse(last_posts[a.id]) if a.id in last_posts else None
    if last is not None and now - last > timedelta(days=SILENT_DAYS):
        out.append(
            PostureFinding(
                "silent",
                a.id,
                f"no post for {(now - last).days} days: a candidate to retire",
                "low",
            )
        )
    return out
