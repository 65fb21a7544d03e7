"""``sentinel rotate``: rotate credentials now, resume stuck rotations, or cancel them.

``sentinel rotate ACCOUNT...`` rotates those accounts' credentials now; ``--due`` rotates
what the schedule says is due (and resumes pending rotations); ``--all`` rotates every
active account. ``--dry-run`` says what would happen. ``--cancel ACCOUNT...`` abandons a
pending rotation. A progress bar shows on a terminal; a table (or ``--json``) follows.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, TextIO

from sentinel.cli.context import Context
from sentinel.cli.output import confirm, emit_json, table
from sentinel.creds.rotator import RotationResult, utcnow
from sentinel.creds.schedule import plan
from sentinel.creds.service import cli_rotation
from sentinel.errors import ConfirmationRequired, UsageError
from sentinel.inventory import Account, CredentialSpec


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "rotate",
        help="rotate credentials now (named accounts, --due or --all); --cancel a stuck rotation",
        description="Rotate credentials with the crash-safe create/set/test/finish protocol.",
    )
    p.add_argument("accounts", nargs="*", metavar="ACCOUNT")
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--due", action="store_true", help="what the schedule says is due, and pending rotations"
    )
    what.add_argument("--all", action="store_true", help="every active account")
    what.add_argument("--cancel", action="store_true", help="abandon the pending rotation of ACCOUNT...")
    p.add_argument("--credential", action="append", default=None, help="only this credential (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="say what would be done; change nothing")
    p.add_argument("--reason", default="", help="why (goes into the audit trail)")
    p.add_argument("--yes", action="store_true", help="with --all: do not ask for confirmation")
    p.set_defaults(func=handle)


def _targets(ctx: Context, args: argparse.Namespace) -> list[tuple[Account, CredentialSpec]]:
    inv = ctx.inventory
    accounts = list(inv.active) if args.all else [inv[a] for a in args.accounts]
    wanted = set(args.credential) if args.credential else None
    return [(a, c) for a in accounts for c in a.credentials if wanted is None or c.key in wanted]


class Progress:
    """A one-line progress bar on stderr when it is a terminal."""

    def __init__(self, total: int, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr
        self.total = total
        self.done = 0
        self.bad = 0
        self.enabled = total > 0 and self.out.isatty()

    def update(self, result: RotationResult) -> None:
        self.done += 1
        self.bad += not result.ok
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / self.total)
        bar = "#" * filled + "." * (width - filled)
        problem = f", {self.bad} not ok" if self.bad else ""
        self.out.write(
            f"\r[{bar}] {self.done}/{self.total}{problem} {result.account}/{result.credential}\x1b[K"
        )
        self.out.flush()

    def close(self) -> None:
        if self.enabled:
            self.out.write("\n")
            self.out.flush()


def handle(ctx: Context, args: argparse.Namespace) -> int:
    if args.cancel:
        if not args.accounts:
            raise UsageError("--cancel needs the ACCOUNT(s) whose pending rotation to abandon")
        return _cancel(ctx, args)
    if not (args.accounts or args.due or args.all):
        raise UsageError("name ACCOUNT(s), or use --due or --all")
    if args.due and args.accounts:
        raise UsageError("--due looks at every account; leave out the ACCOUNT names")
    if args.all and not args.dry_run:
        count = len(ctx.inventory.active)
        if not confirm(f"Rotate the credentials of all {count} active account(s)?", args.yes):
            raise ConfirmationRequired(
                "rotation of every account not confirmed (use --yes to skip the question)"
            )
    rotator = cli_rotation(ctx)
    reason = args.reason or ("scheduled" if args.due else "requested")
    if args.due:
        targets = _due_targets(ctx, rotator)
        force = False
    else:
        targets = _targets(ctx, args)
        force = True
    if not args.dry_run:
        # the caller's Vault identity, never the Unix user; rotating needs what the API's
        # rotate route needs: 'admin' on every account it touches
        accounts = sorted({a.id for a, _ in targets})
        rotator.actor = ctx.caller("admin", accounts).name
    progress = Progress(len(targets)) if not ctx.as_json else Progress(0)
    rotator.on_result = progress.update
    try:
        results = asyncio.run(rotator.rotate_many(targets, force=force, dry_run=args.dry_run, reason=reason))
    finally:
        progress.close()
    _report(ctx, results)
    return 0 if all(r.ok or r.status == "manual" for r in results) else 1


def _due_targets(ctx: Context, rotator: Any) -> list[tuple[Account, CredentialSpec]]:
    accounts = ctx.inventory.active
    states = asyncio.run(rotator.states(accounts))
    by_id = {a.id: a for a in accounts}
    out = []
    for d in plan(accounts, states, ctx.config.rotation, utcnow()):
        if d.reason in ("pending", "due"):
            account = by_id[d.account]
            out.append((account, next(c for c in account.credentials if c.key == d.credential)))
    return out


def _cancel(ctx: Context, args: argparse.Namespace) -> int:
    for account in args.accounts:
        ctx.inventory[account]
    rotator = cli_rotation(ctx)
    actor = rotator.actor = ctx.caller("admin", args.accounts).name
    results: list[RotationResult] = []
    for account in args.accounts:
        results += asyncio.run(rotator.cancel(account, actor, args.credential))
    _report(ctx, results)
    return 0 if all(r.status in ("cancelled", "nothing_pending") for r in results) else 1


def _report(ctx: Context, results: list[RotationResult]) -> None:
    if ctx.as_json:
        emit_json([r.to_dict() for r in results])
        return
    rows = []
    for r in results:
        d = r.to_dict()
        rows.append(
            [
                r.account,
                r.credential,
                r.kind,
                r.status,
                r.version,
                r.attempts,
                f"{r.seconds:.2f}",
                d["detail"][:80],
            ]
        )
    table(["account", "credential", "kind", "status", "version", "tries", "seconds", "detail"], rows)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to do")
