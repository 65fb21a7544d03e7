"""``sentinel run``: the daemon in the foreground (systemd runs it this way too)."""

from __future__ import annotations

import argparse
import asyncio
import os

from sentinel.cli.context import Context
from sentinel.config import Config, load_config
from sentinel.daemon import Daemon


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the Sentinel daemon in the foreground")
    p.add_argument("--log-format", choices=["auto", "json", "console"], help="override [sentinel] log_format")
    p.set_defaults(func=handle)


def handle(ctx: Context, args: argparse.Namespace) -> int:
    pending: list[Config] = [ctx.config]  # validate before anything starts: a bad config exits 2 here

    def load() -> Config:
        if pending:
            return pending.pop()
        return load_config(ctx.config_path, os.environ)

    ctx.setup_logging(fmt=args.log_format)
    return asyncio.run(Daemon(load).serve())
