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
    attack = dsub.add_parser(
        "attack", help="play a hijack against the running demo: hoax, giveaway, worm or insider"
    )
    attack.add_argument("scenario", choices=["hoax", "giveaway", "worm", "insider"])
    attack.add_argument("--dir", type=Path, default=Path(".run"), help="the demo's working directory")
    attack.set_defaults(func=handle_attack)
    code = dsub.add_parser("code", help="a demo responder's current TOTP step-up code (op-ana, op-ben)")
    code.add_argument("responder", choices=["op-ana", "op-ben"])
    code.add_argument("--dir", type=Path, default=Path(".run"), help="the demo's working directory")
    code.set_defaults(func=handle_code)


def handle_up(ctx: Context, args: argparse.Namespace) -> int:
    from sentinel.demo.up import run

    return run(args.dir.resolve())


def handle_attack(ctx: Context, args: argparse.Namespace) -> int:
    from sentinel.demo.attack import play

    for line in play(args.dir.resolve(), args.scenario):
        print(line)
    if args.scenario == "insider":
        print(
            "\nWatch the demo's terminal: the daemon reads each request in OpenBao's audit log "
            f"({args.dir / 'openbao-audit.log'})."
        )
        return 0
    print(
        "\nWatch the demo's terminal: the watcher sees the posts within seconds, the engine judges them "
        "and the responder freezes the accounts.\nThen: sentinel --config "
        f"{args.dir / 'sentinel.toml'} incidents list"
    )
    return 0


def handle_code(ctx: Context, args: argparse.Namespace) -> int:
    from sentinel.demo.up import responder_code

    print(responder_code(args.dir.resolve(), args.responder))
    return 0
