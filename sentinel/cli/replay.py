"""``sentinel replay``: run recorded events through the detection engine, as the daemon would.

Reads JSON lines in time order: post events, account events (``"kind": "account"``) and
Vault audit entries exactly as the file audit device writes them (each request decided once,
on its response). Writes one decision line per event (and a freeze line when the policy
freezes an account, a contain line when it would contain a Vault identity) to stdout. Starts from empty state,
uses the configured rules and freeze policy (built-in defaults without a config file) and
touches no Vault, platform or chat. A malformed line is reported on stderr with its
number; the rest still runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from sentinel.cli.context import Context
from sentinel.errors import UsageError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "replay",
        help="run recorded post events through the detection engine (JSON lines in and out)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("events", metavar="EVENTS.jsonl", help="event file ('-' for stdin)")
    p.add_argument("--inventory", metavar="FILE", help="inventory file (default: the configured one)")
    p.add_argument(
        "--rules",
        metavar="DIR",
        action="append",
        default=[],
        help="rule directory or file to use instead of the configured ones (repeatable)",
    )
    p.add_argument(
        "--kv-mount",
        metavar="NAME",
        help="the KV mount holding the credentials in the audit entries (default: [vault] kv_mount, sentinel)",
    )
    p.add_argument(
        "--self",
        metavar="NAME",
        action="append",
        default=[],
        dest="selves",
        help="Sentinel's own Vault identity (entity id or display name; repeatable): its requests are its work",
    )
    p.add_argument(
        "--admin",
        metavar="ENTITY",
        action="append",
        default=[],
        help="an administrator's Vault entity id (repeatable; holders of [engine.takeover] admin_policies are too)",
    )
    p.add_argument("--stats", action="store_true", help="print a summary on stderr at the end")
    p.add_argument("--strict", action="store_true", help="exit 1 if any line was malformed")
    p.set_defaults(func=handle)


def _lines(f: TextIO) -> Iterator[str]:
    yield from f


def handle(ctx: Context, args: argparse.Namespace) -> int:
    from sentinel.engine.engine import Engine
    from sentinel.engine.intake import Intake
    from sentinel.engine.loader import load_rules
    from sentinel.engine.replay import replay
    from sentinel.platforms.registry import gate_refusal

    inventory = ctx.load_inventory(args.inventory)
    dirs = [Path(d) for d in args.rules] if args.rules else list(ctx.config.sentinel.all_rules_dirs)
    if not dirs:
        raise UsageError("no rule directories: pass --rules DIR or set rules_dirs in the config")
    rules = load_rules(dirs)
    engine = Engine(inventory, rules, ctx.config.engine)
    g = ctx.config.engine.takeover
    kv_mount = ctx.config.vault.kv_mount if args.kv_mount is None else args.kv_mount
    if not kv_mount.strip("/"):
        raise UsageError("--kv-mount must not be empty")
    if args.selves:
        g = dataclasses.replace(g, self=(*g.self, *args.selves))
    if args.admin:
        g = dataclasses.replace(g, admins=(*g.admins, *args.admin))
    intake = Intake(engine, g, kv_mount)
    out = sys.stdout

    def emit(record: dict[str, Any]) -> None:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")

    def error(message: str) -> None:
        print(f"sentinel replay: {args.events}: {ctx.scrub(message)}", file=sys.stderr)

    def refuse(raw: dict[str, Any]) -> str:
        """A gate check the daemon's gate answers 422 before deciding (past the length)."""
        account = inventory.get(str(raw.get("account", "")))
        text = raw.get("text")
        if raw.get("via") != "gate" or account is None or not isinstance(text, str):
            return ""
        return gate_refusal(account.platform, account.max_post_length, text)

    if args.events == "-":
        stats = replay(_lines(sys.stdin), engine, emit, error, intake, refuse)
    else:
        path = Path(args.events)
        try:
            f = path.open(encoding="utf-8", errors="replace")
        except OSError as e:
            raise UsageError(f"{path}: cannot read events: {e.strerror or e}") from None
        with f:
            stats = replay(_lines(f), engine, emit, error, intake, refuse)
    out.flush()
    if args.stats:
        verdicts = ", ".join(f"{k}={v}" for k, v in sorted(stats.verdicts.items()))
        print(
            f"sentinel replay: {stats.lines} lines, {stats.decisions} decisions ({verdicts}), "
            f"{stats.skipped} skipped, {stats.freezes} freezes, {stats.contains} contains, "
            f"{stats.errors} malformed, {stats.refused} refused by the gate before deciding",
            file=sys.stderr,
        )
    return 1 if args.strict and stats.errors else 0
