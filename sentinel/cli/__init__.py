"""The ``sentinel`` command line.

Each module in this package that defines ``register(subparsers)`` adds one command group;
they are discovered at start-up, so a component adds its commands without touching this
file. A command's handler takes ``(ctx, args)`` and returns the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from sentinel import __version__, logs
from sentinel.cli.context import Context
from sentinel.errors import SentinelError

EXIT_CODES = """exit codes:
  0  success
  1  the command ran and found a problem (failed step, failed verification, mismatch)
  2  bad usage, configuration, inventory or rule file
  3  Vault unreachable, sealed, or refused the request
  4  a platform call failed
  5  a destructive command was not confirmed (use --yes)
  6  your Vault token lacks the Sentinel capability the command needs
  70 internal error (run with --debug for the traceback)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentinel",
        description="Keeps an organisation's social-media accounts from being hijacked.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sentinel {__version__}")
    add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name in ("context", "output", "daemon_api") or mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(sub)
    _everywhere(parser)
    return parser


def add_global_options(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """--config, --json, --debug; on subcommands they default to 'not given', so an option
    given before the subcommand is not reset by the subcommand's parser."""
    config_default: str | None = argparse.SUPPRESS if suppress else None
    flag_default: bool | str = argparse.SUPPRESS if suppress else False
    parser.add_argument(
        "--config",
        default=config_default,
        help="config file (default /etc/sentinel/sentinel.toml or $SENTINEL_CONFIG)",
    )
    parser.add_argument(
        "--json", action="store_true", default=flag_default, help="machine-readable JSON output"
    )
    parser.add_argument(
        "--debug", action="store_true", default=flag_default, help="show tracebacks and debug logs"
    )


def _everywhere(parser: argparse.ArgumentParser) -> None:
    """Accept the global options after the subcommand too (``sentinel held list --json``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                add_global_options(sub, suppress=True)
                _everywhere(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    ctx = Context(config_path=args.config, as_json=args.json, debug=args.debug)
    # Commands keep stdout for their output; their log lines (warnings up) go to stderr.
    # `sentinel run` configures logging again from the config.
    logs.configure(level="debug" if args.debug else "warning", fmt="auto")
    try:
        return int(args.func(ctx, args) or 0)
    except SentinelError as e:
        print(f"sentinel: error: {ctx.scrub(e.message)}", file=sys.stderr)
        if args.debug:
            raise
        return e.exit_code
    except KeyboardInterrupt:
        print("sentinel: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if args.debug:
            raise
        print(
            f"sentinel: internal error: {e.__class__.__name__}: {ctx.scrub(str(e))} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 70
    finally:
        ctx.close()
