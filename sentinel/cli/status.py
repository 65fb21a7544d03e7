"""``sentinel status``: is the daemon up, is Vault reachable, what is frozen, what is due."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from sentinel.cli import freeze_status, rotation_status
from sentinel.cli.context import Context
from sentinel.cli.output import emit_json
from sentinel.daemon import HEARTBEAT_SECONDS, STATUS_KEY
from sentinel.errors import SentinelError
from sentinel.vault.health import check


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("status", help="daemon, Vault, accounts, frozen accounts, due rotations, last errors")
    p.set_defaults(func=handle)


def _age(ts: str) -> float | None:
    try:
        t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return (datetime.now(UTC) - t).total_seconds()


def collect(ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {"config": ctx.config.source}
    raw = ctx.store.get(STATUS_KEY)
    daemon: dict[str, Any] = json.loads(raw) if raw else {}
    age = _age(daemon.get("heartbeat", "")) if daemon else None
    if not daemon:
        out["daemon"] = {"state": "never started"}
    elif daemon.get("state") == "stopped":
        out["daemon"] = {"state": "stopped", "at": daemon.get("heartbeat")}
    elif age is not None and age > 3 * HEARTBEAT_SECONDS:
        out["daemon"] = {
            "state": "not responding",
            "last_heartbeat": daemon.get("heartbeat"),
            "pid": daemon.get("pid"),
        }
    else:
        out["daemon"] = {
            k: daemon.get(k)
            for k in ("state", "pid", "version", "started", "heartbeat", "services", "platforms")
        }
    out["last_errors"] = daemon.get("errors", [])[-5:]
    health = check(ctx.config.vault)
    out["vault"] = {
        "addr": ctx.config.vault.addr,
        "reachable": health.state not in ("unreachable", "timeout"),
        "state": health.state,
        "message": health.message,
    }
    seen = daemon.get("vault") if out["daemon"].get("state") == "running" else None
    if isinstance(seen, dict):
        # What the daemon's own probe (with its token) says, and since when.
        out["vault"]["daemon"] = {k: seen.get(k) for k in ("ok", "state", "since", "error")}
    try:
        inv = ctx.inventory
        out["accounts"] = {
            "total": len(inv),
            "active": len(inv.active),
            "gated": sum(a.gated for a in inv.active),
        }
    except SentinelError as e:
        out["accounts"] = {"error": e.message}
    for name, provider in _providers():
        try:
            out[name] = provider(ctx)
        except SentinelError as e:
            out[name] = {"error": e.message}
    return out


def _providers() -> list[tuple[str, Any]]:
    """Sections the components add (frozen accounts, due rotations)."""
    return [("frozen", freeze_status.status_section), ("rotations", rotation_status.status_section)]


def handle(ctx: Context, args: argparse.Namespace) -> int:
    data = collect(ctx)
    if ctx.as_json:
        emit_json(data)
    else:
        for section, value in data.items():
            if isinstance(value, dict):
                print(f"{section}:")
                for k, v in value.items():
                    print(f"  {k:16} {v if not isinstance(v, dict | list) else json.dumps(v)}")
            elif isinstance(value, list):
                print(f"{section}: {len(value)}")
                for item in value:
                    print(f"  {json.dumps(item)}")
            else:
                print(f"{section}: {value}")
    vault = data.get("vault", {})
    vault_ok = vault.get("state") == "ok" and vault.get("daemon", {}).get("ok", True)
    return 0 if vault_ok else 3
