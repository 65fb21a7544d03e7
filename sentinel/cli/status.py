"""``sentinel status``: is the daemon up, is Vault reachable, what is frozen, what is due."""

from __future__ import annotations

import argparse
import io
import json
import sys
from datetime import UTC, datetime
from typing import Any

from sentinel.alerts.defang import defuse
from sentinel.cli import freeze_status, rotation_status
from sentinel.cli.context import Context
from sentinel.cli.output import emit_json, table
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
            for k in ("state", "pid", "version", "started", "heartbeat", "store", "services", "platforms")
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
        sys.stdout.write(render(data))
    vault = data.get("vault", {})
    vault_ok = vault.get("state") == "ok" and vault.get("daemon", {}).get("ok", True)
    return 0 if vault_ok else 3


# -- the text a person reads ---------------------------------------------------------------
def render(data: dict[str, Any]) -> str:
    """``collect()``'s answer as short lines and aligned tables (``--json`` gives it whole)."""
    out = io.StringIO()
    daemon = data.get("daemon", {})
    vault = data.get("vault", {})
    accounts = data.get("accounts", {})
    frozen = data.get("frozen", {})
    out.write(f"config    {data.get('config')}\n")
    out.write(f"daemon    {_daemon_line(daemon)}\n")
    out.write(f"vault     {_vault_line(vault)}\n")
    out.write(f"accounts  {_accounts_line(accounts, frozen)}\n")
    rotations = data.get("rotations", {})
    out.write(f"rotation  {_rotations_line(rotations)}\n")
    services = daemon.get("services") or {}
    if services:
        out.write("\n")
        table(["service", "state"], [(name, summary(v)) for name, v in services.items()], out)
    platforms = daemon.get("platforms") or {}
    if platforms:
        out.write("\n")
        table(
            ["platform", "last success", "errors", "rate-limit wait", "last error"],
            [
                (
                    name,
                    _when(p.get("last_success")),
                    p.get("consecutive_errors", 0),
                    f"{p['rate_limit_wait']:g} s" if p.get("rate_limit_wait") else None,
                    p.get("last_error") or None,
                )
                for name, p in platforms.items()
            ],
            out,
        )
    if frozen.get("accounts"):
        out.write("\n")
        table(
            ["frozen account", "state", "since", "by", "incident", "steps", "reason"],
            [
                (
                    name,
                    f.get("state", "frozen"),
                    _when(f.get("since")),
                    f.get("by"),
                    f.get("incident"),
                    f.get("steps"),
                    _clip(defuse(str(f.get("reason") or "")), 60),
                )
                for name, f in frozen["accounts"].items()
            ],
            out,
        )
    if rotations.get("pending"):
        out.write("\n")
        table(
            ["rotation pending", "phase", "since", "reason", "to cancel"],
            [
                (r["path"], r.get("phase"), _when(r.get("since")), r.get("reason"), r.get("cancel"))
                for r in rotations["pending"]
            ],
            out,
        )
    errors = data.get("last_errors") or []
    if errors:
        out.write("\n")
        table(
            ["last errors", "where", "error"],
            [(_when(e.get("ts")), e.get("where"), _clip(str(e.get("error", "")), 100)) for e in errors],
            out,
        )
    return out.getvalue()


def _daemon_line(d: dict[str, Any]) -> str:
    state = str(d.get("state", "?"))
    if state == "running":
        store = d.get("store") or {}
        parts = [
            f"pid {d.get('pid')}",
            f"version {d.get('version')}",
            f"since {_when(d.get('started'))}",
            f"heartbeat {_ago(d.get('heartbeat'))}",
        ]
        if store and not store.get("ok", True):
            parts.append(f"STATE STORE UNWRITABLE since {_when(store.get('since'))}: {store.get('error')}")
        return f"running ({', '.join(parts)})"
    if state == "not responding":
        return f"NOT RESPONDING (pid {d.get('pid')}, last heartbeat {_ago(d.get('last_heartbeat'))})"
    if state == "stopped":
        return f"stopped at {_when(d.get('at'))}"
    return state


def _vault_line(v: dict[str, Any]) -> str:
    line = f"{v.get('state')} at {v.get('addr')}: {v.get('message')}"
    seen = v.get("daemon")
    if isinstance(seen, dict):
        line += f"; the daemon sees {seen.get('state')} since {_when(seen.get('since'))}"
        if seen.get("error"):
            line += f" ({seen['error']})"
    return line


def _accounts_line(a: dict[str, Any], frozen: dict[str, Any]) -> str:
    if "error" in a:
        return f"inventory not readable: {a['error']}"
    line = f"{a.get('total')} ({a.get('active')} active, {a.get('gated')} gated)"
    if "error" in frozen:
        return f"{line}; freezes not readable: {frozen['error']}"
    count, incidents = frozen.get("count", 0), frozen.get("open_incidents", 0)
    return (
        f"{line}; {count or 'none'} frozen; {incidents or 'no'} open incident{'' if incidents == 1 else 's'}"
    )


def _rotations_line(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"not checked: {r['error']}"
    counts = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in sorted(r.get("counts", {}).items()))
    due = r.get("due") or []
    return (
        f"{r.get('credentials', 0)} credentials ({counts or 'none'}); "
        f"{len(r.get('pending') or []) or 'none'} pending; "
        + (f"due: {', '.join(due)}" if due else "none due")
    )


def summary(value: Any, depth: int = 0) -> str:
    """A service's status dict on one line: ``key value`` pairs, nested ones in brackets."""
    if isinstance(value, dict):
        if not value:
            return "-"
        if depth and len(value) > 3 and all(isinstance(v, dict) for v in value.values()):
            return f"{len(value)} entries"  # per-credential or per-account details: --json has them
        inner = "; ".join(f"{k} {summary(v, depth + 1)}" for k, v in value.items())
        return f"({inner})" if depth else inner
    if isinstance(value, list | tuple):
        if not value:
            return "-"
        if len(value) > 3:
            return str(len(value))
        return ", ".join(summary(v, depth + 1) for v in value)
    if value is None or value == "":
        return "-"
    return str(value)


def _when(ts: Any) -> str | None:
    """An ISO timestamp for people: to the second, UTC."""
    return str(ts)[:19].replace("T", " ") if ts else None


def _ago(ts: Any) -> str:
    age = _age(str(ts or ""))
    return "never" if age is None else f"{max(age, 0):.0f} s ago"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
