"""``sentinel demo``: the product on one machine (``make run``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sentinel.cli.context import Context


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="run a local demo: OpenBao dev server, demo accounts, the daemon")
    dsub = p.add_subparsers(dest="demo_command", metavar="ACTION", required=True)
    up = dsub.add_parser("up", help="start everything in the foreground; Ctrl-C stops it all")
    up.add_argument("--dir", type=Path, default=Path(".run"), help="working directory (wiped at start)")
    up.set_defaults(func=handle_up)


def handle_up(ctx: Context, args: argparse.Namespace) -> int:
    from sentinel.demo.up import run

    return run(args.dir.resolve())
