"""Account events: one change of what a platform shows about an account (handle, two-factor, apps...).

The daemon's account watcher diffs snapshots and ``sentinel replay`` reads them from JSON lines;
both hand the engine the same dict::

    {"kind": "account", "id", "ts", "account", "field", "old", "new", "ip"?, "client"?}

For the list-like fields (``app_password``, ``authorized_app``, ``delegate``, ``session``)
one event is one item: ``old: null`` means it was added, ``new: null`` that it was removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sentinel.account_fields import FIELDS, LIST_FIELDS
from sentinel.engine.events import EventError, format_ts, parse_ts
from sentinel.engine.takeover_settings import TakeoverSettings


@dataclass(frozen=True, slots=True)
class AccountEvent:
    id: str
    ts: float
    account: str
    field: str
    old: Any
    new: Any
    ip: str = ""
    client: str = ""
    ts_text: str = ""

    @property
    def iso(self) -> str:
        return self.ts_text or format_ts(self.ts)

    @property
    def added(self) -> bool:
        return self.field in LIST_FIELDS and self.old is None and self.new is not None

    @property
    def removed(self) -> bool:
        return self.field in LIST_FIELDS and self.new is None

    @property
    def item(self) -> str:
        """The item a list-like change names (the app password's name, the delegate...)."""
        value = self.new if self.new is not None else self.old
        return value if isinstance(value, str) else ""

    def own(self, g: TakeoverSettings) -> bool:
        """Whether this is Sentinel's own change: by one of its clients, from one of its addresses
        (when any are configured and the event names one) and, for a named item, with one of
        its name prefixes. The daemon's account watcher marks the changes Sentinel noted before
        making them with its client; replay takes the client from the file."""
        if not g.own_clients or self.client not in g.own_clients:
            return False
        if g.own_addresses and self.ip and self.ip not in g.own_addresses:
            return False
        if self.field in LIST_FIELDS and g.own_names:
            return self.item.startswith(tuple(g.own_names))
        return True


def is_account_event(raw: Mapping[str, Any]) -> bool:
    return raw.get("kind") == "account"


def parse_account_event(raw: Mapping[str, Any]) -> AccountEvent:
    """Validate one decoded account event; ``EventError`` names the field."""
    for key in ("id", "ts", "account", "field", "old", "new"):
        if key not in raw:
            raise EventError(f"account event: missing required field {key!r}")
    for key in ("id", "account", "field", "ip", "client"):
        v = raw.get(key)
        if v is not None and not isinstance(v, str):
            raise EventError(f"account event: field {key!r} must be a string")
    for key in ("id", "account"):
        if not raw[key]:
            raise EventError(f"account event: field {key!r} must not be empty")
    fieldname = raw["field"]
    if fieldname not in FIELDS:
        raise EventError(
            f"account event: field 'field' must be one of {', '.join(FIELDS)}, got {fieldname!r}"
        )
    old, new = raw["old"], raw["new"]
    if old is None and new is None:
        raise EventError("account event: 'old' and 'new' must not both be null")
    if fieldname == "did":
        for key, v in (("old", old), ("new", new)):
            if v is not None and not isinstance(v, dict):
                raise EventError(f"account event: field {key!r} of a 'did' change must be an object")
    try:
        ts = parse_ts(raw["ts"])
    except ValueError as e:
        raise EventError(f"account event: {e}") from None
    return AccountEvent(
        id=raw["id"],
        ts=ts,
        account=raw["account"],
        field=fieldname,
        old=old,
        new=new,
        ip=raw.get("ip") or "",
        client=raw.get("client") or "",
        ts_text=raw["ts"],
    )
