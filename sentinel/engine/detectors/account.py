"""Account-event detectors: changes to who the account is and who can get into it.

Sentinel's own changes (see ``[engine.takeover]`` ``own_*``) never reach these detectors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sentinel.engine.detectors.base import Hit, Param, detector, quote
from sentinel.engine.takeover_context import AccountContext
from sentinel.engine.takeover_state import REMOVED

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PRIVILEGED = ["app_password", "authorized_app", "delegate", "two_factor", "email", "phone", "handle", "did"]


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return quote(", ".join(str(v) for v in value))
    return quote(str(value))


@detector(
    "account_change",
    "A change of one of ``fields``: any change, or only an item added (``added``) or a value "
    "changed to one of ``to`` (for instance two-factor ``off``).",
    {
        "fields": Param("str_list", [], "the account fields this rule watches"),
        "added": Param("bool", False, "only an item added to a list-like field"),
        "to": Param("str_list", [], "only a change to one of these values"),
    },
    subject="account",
)
def account_change(ctx: AccountContext, p: Mapping[str, Any]) -> Hit | None:
    ev = ctx.event
    if ev.field not in p["fields"]:
        return None
    if p["added"] and not ev.added:
        return None
    if p["to"] and ev.new not in p["to"]:
        return None
    if ev.added:
        what = f"{ev.field} added: {_show(ev.new)}"
    elif ev.removed:
        what = f"{ev.field} removed: {_show(ev.old)}"
    else:
        what = f"{ev.field} changed from {_show(ev.old)} to {_show(ev.new)}"
    return what + (f" (client {ev.client})" if ev.client else ""), 1.0


def _off_hours(ctx: AccountContext, min_posts: int) -> str | None:
    """Why the change's local time is off hours: outside the inventory's business hours or,
    without them, an hour (neighbours half weight) the account never posts at; else None."""
    t = ctx.local
    when = f"{_DAYS[t.weekday()]} {t:%H:%M} {ctx.account.timezone}"
    bh = ctx.account.business_hours
    if bh is not None:
        if bh.contains(t.weekday(), t.hour * 60 + t.minute):
            return None
        return f"{when}, outside business hours ({bh.spec})"
    share, total = ctx.posts.hour_share(t.weekday() * 24 + t.hour)
    if total >= min_posts and share == 0:
        return f"{when}, an hour the account never posts at"
    return None


@detector(
    "profile_change",
    "The display name or avatar changed together with the handle (within ``window``), or at an "
    "hour outside the account's business hours (inventory) or, without them, at an hour the "
    "account never posts at.",
    {
        "fields": Param("str_list", ["display_name", "avatar"], "the identity fields watched"),
        "window": Param("duration", "30m", "how close a handle change counts as together"),
        "min_posts": Param("int", 25, "learned posts needed to judge the account's hours"),
    },
    subject="account",
)
def profile_change(ctx: AccountContext, p: Mapping[str, Any]) -> Hit | None:
    ev = ctx.event
    if ev.field not in p["fields"]:
        return None
    since = ev.ts - p["window"]
    if any(f == "handle" and t >= since for t, f in ctx.recent):
        return f"{ev.field} changed together with the handle", 1.0
    off = _off_hours(ctx, p["min_posts"])
    return (f"{ev.field} changed {off}", 1.0) if off else None


@detector(
    "change_off_hours",
    "A privileged change (not a removal) outside the account's business hours or, without them, "
    "at an hour the account never posts at.",
    {
        "fields": Param("str_list", PRIVILEGED, "the privileged fields"),
        "min_posts": Param("int", 25, "learned posts needed to judge the account's hours"),
    },
    subject="account",
)
def change_off_hours(ctx: AccountContext, p: Mapping[str, Any]) -> Hit | None:
    ev = ctx.event
    if ev.field not in p["fields"] or ev.removed:
        return None
    off = _off_hours(ctx, p["min_posts"])
    return (f"{ev.field} changed {off}", 1.0) if off else None


@detector(
    "many_changes",
    "At least ``min_fields`` different fields of the account changed within ``window``.",
    {
        "min_fields": Param("int", 3, "how many different fields"),
        "window": Param("duration", "15m", "within how long"),
        "ignore": Param("str_list", ["session", "pinned_post"], "fields that do not count"),
    },
    subject="account",
)
def many_changes(ctx: AccountContext, p: Mapping[str, Any]) -> Hit | None:
    ev = ctx.event
    ignore = p["ignore"]
    if ev.field in ignore:
        return None
    since = ev.ts - p["window"]
    changed = (f.removeprefix(REMOVED) for t, f in ctx.recent if t >= since)
    fields = {f for f in changed if f not in ignore}
    fields.add(ev.field)
    if len(fields) < p["min_fields"]:
        return None
    return (
        f"{len(fields)} fields changed within {int(p['window'] // 60)} min: {', '.join(sorted(fields))}",
        1.0,
    )


@detector(
    "access_with_identity",
    "A way into the account was added (an app password, an authorized app, a delegate, a new "
    "e-mail or phone) and its identity changed (the handle) within ``window`` of each other: "
    "the classic hijack, which keeps a way back in and renames the account to run a scam under "
    "it. Either order; a removed item is no way in.",
    {
        "access": Param(
            "str_list",
            ["app_password", "authorized_app", "delegate", "email", "phone"],
            "fields through which someone gets (back) into the account",
        ),
        "identity": Param("str_list", ["handle"], "fields that say who the account is"),
        "window": Param("duration", "1h", "how close the two changes are (at most an hour)"),
    },
    subject="account",
)
def access_with_identity(ctx: AccountContext, p: Mapping[str, Any]) -> Hit | None:
    ev = ctx.event
    if ev.removed:
        return None
    if ev.field in p["access"]:
        other = p["identity"]
    elif ev.field in p["identity"]:
        other = p["access"]
    else:
        return None
    since = ev.ts - p["window"]
    earlier = sorted({f for t, f in ctx.recent if t >= since and f in other})  # removals are prefixed
    if not earlier:
        return None
    minutes = max(1, int(p["window"] // 60))
    done = "added" if ev.added else "changed"
    return f"{ev.field} {done} within {minutes} min of {', '.join(earlier)}", 1.0


@detector(
    "did_migration",
    "The account's DID document changed its PDS endpoint or rotation keys: an account migration.",
    subject="account",
)
def did_migration(ctx: AccountContext, p: Mapping[str, Any]) -> Hit | None:
    ev = ctx.event
    if ev.field != "did":
        return None
    old, new = ev.old or {}, ev.new or {}
    parts = []
    if old.get("pds") != new.get("pds"):
        parts.append(f"PDS {_show(old.get('pds'))} -> {_show(new.get('pds'))}")
    if sorted(old.get("rotation_keys") or []) != sorted(new.get("rotation_keys") or []):
        parts.append("rotation keys changed")
    if old.get("id") != new.get("id"):
        parts.append(f"DID {_show(old.get('id'))} -> {_show(new.get('id'))}")
    return ("; ".join(parts), 1.0) if parts else None


@detector(
    "unfamiliar_change_source",
    "A privileged change (apps, delegates, two-factor, contact, handle, DID) from an address that "
    "has made no privileged change on the organisation's accounts before (learned, once the "
    "organisation's changes have been watched for the learning period).",
    {"fields": Param("str_list", PRIVILEGED, "the privileged fields")},
    subject="account",
)
def unfamiliar_change_source(ctx: AccountContext, p: Mapping[str, Any]) -> Hit | None:
    ev = ctx.event
    if ev.field not in p["fields"] or ev.removed or not ev.ip or not ctx.mature:
        return None
    if ev.ip in ctx.changes.sources:
        return None
    return f"{ev.field} changed from {ev.ip}, an address that never made such a change", 1.0
