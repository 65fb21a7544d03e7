"""Account events and Vault audit entries shaped as the sources write them, for takeover tests.

``audit(...)`` gives the request and response entries of one request exactly as OpenBao's file
audit device writes them (HMAC'd tokens, nanosecond times, ``policy_results``, the refusal's
``error``); ``change(...)`` one account event; ``history(...)`` three weeks of a small
organisation's routine: operators reading their accounts' credentials in office hours,
the administrator adding a delegate now and then, Sentinel rotating at night.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
SELF = "token-sentinel-daemon"
SELF_ENTITY = "6f1d2c4e-0000-0000-0000-00000000self"
ACCOUNTS = [f"acct-{i:02d}" for i in range(12)]
_ids = itertools.count(1)

INVENTORY = "\n".join(
    f'[[accounts]]\nid = "{a}"\nplatform = "bluesky"\nhandle = "@{a}"\ntimezone = "UTC"\n'
    f'publishing = "gated"\nowners = ["op-a"]\n'
    for a in ACCOUNTS
)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return START + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def entity(name: str) -> str:
    return f"entity-{name}"


def audit(
    when: datetime,
    who: str,
    path: str,
    operation: str = "read",
    ip: str = "198.51.100.7",
    policies: tuple[str, ...] = ("default", "sentinel-role-team"),
    denied: bool = False,
    entity_id: str | None = None,
    display_name: str | None = None,
    mount: str = "sentinel",
) -> list[dict[str, Any]]:
    """The request and the response entry of one request (on the KV ``mount``)."""
    rid = f"req-{next(_ids):06d}"
    name = display_name or (who if who.startswith("token-") else f"userpass-{who}")
    ent = entity(who) if entity_id is None else entity_id
    auth: dict[str, Any] = {
        "client_token": f"hmac-sha256:{rid}tok",
        "accessor": f"hmac-sha256:{who}acc",
        "display_name": name,
        "policies": list(policies),
        "token_policies": list(policies),
        "policy_results": {"allowed": not denied},
        "metadata": {"username": who},
        "token_type": "service",
    }
    if ent:
        auth["entity_id"] = ent
    request = {
        "id": rid,
        "operation": operation,
        "mount_point": f"{mount}/",
        "client_token": auth["client_token"],
        "client_token_accessor": auth["accessor"],
        "namespace": {"id": "root"},
        "path": path,
        "remote_address": ip,
        "remote_port": 52425,
    }
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S") + ".417721534Z"
    later = when.strftime("%Y-%m-%dT%H:%M:%S") + ".418311129Z"
    req_entry: dict[str, Any] = {"time": stamp, "type": "request", "auth": auth, "request": request}
    resp_entry: dict[str, Any] = {
        "time": later,
        "type": "response",
        "auth": auth,
        "request": request,
        "response": {"data": {"data": {"value": "hmac-sha256:ab12"}}},
    }
    if denied:
        error = "1 error occurred:\n\t* permission denied\n\n"
        req_entry["error"] = resp_entry["error"] = error
        resp_entry["response"] = {"data": {"error": "hmac-sha256:ee"}}
    return [req_entry, resp_entry]


def read(
    when: datetime, who: str, account: str, key: str = "password", mount: str = "sentinel", **kw: Any
) -> list[dict[str, Any]]:
    return audit(when, who, f"{mount}/data/accounts/{account}/{key}", mount=mount, **kw)


def change(
    when: datetime,
    account: str,
    field: str,
    old: Any,
    new: Any,
    ip: str = "198.51.100.7",
    client: str = "bsky.app",
) -> dict[str, Any]:
    return {
        "kind": "account",
        "id": f"a{next(_ids):06d}",
        "ts": iso(when),
        "account": account,
        "field": field,
        "old": old,
        "new": new,
        "ip": ip,
        "client": client,
    }


def post(when: datetime, account: str, text: str = "Our weekly update is on the blog") -> dict[str, Any]:
    n = next(_ids)
    return {
        "id": f"e{n:06d}",
        "ts": iso(when),
        "account": account,
        "via": "gate",
        "text": text,
        "client": "Publisher",
        "author": "op-a",
        "ip": "198.51.100.7",
        "post_id": f"p{n}",
    }


def history(days: int = 21) -> list[dict[str, Any]]:
    """Routine: op-a reads two accounts at 10:00 and posts, the administrator (address
    203.0.113.200) adds and removes a delegate weekly, Sentinel rotates every 7 days at 02:00."""
    out: list[dict[str, Any]] = []
    for day in range(days):
        if day % 7 == 0:
            for i, a in enumerate(ACCOUNTS):
                out += read(at(day, 2, 0, i), SELF, a, entity_id=SELF_ENTITY, ip="198.51.100.250")
                out += audit(
                    at(day, 2, 1, i),
                    SELF,
                    f"sentinel/data/accounts/{a}/app_password",
                    "update",
                    entity_id=SELF_ENTITY,
                    ip="198.51.100.250",
                )
        if day % 7 == 1:
            out.append(
                change(at(day, 11), ACCOUNTS[day % 12], "delegate", None, "Editor: Agency", "203.0.113.200")
            )
        if day % 7 == 3:
            out.append(
                change(
                    at(day, 11), ACCOUNTS[(day - 2) % 12], "delegate", "Editor: Agency", None, "203.0.113.200"
                )
            )
        for i, a in enumerate(ACCOUNTS[:2]):
            out += read(at(day, 10, i), "op-a", a)
        for h in (9, 11, 13, 15):
            for a in ACCOUNTS:
                out.append(post(at(day, h, ACCOUNTS.index(a)), a))
    return sorted(out, key=when)


def when(raw: dict[str, Any]) -> str:
    """The time of a line (account and post events: ``ts``, audit entries: ``time``), sortable."""
    return str(raw.get("ts") or raw["time"])[:19]
