"""``sentinel totp``: store an account's TOTP seed, print its current code (audited).

``totp enroll ACCOUNT`` reads an ``otpauth://`` URI or a base32 secret from stdin (or asks
for it on a terminal, without echo) and stores it with *your* Vault token. ``totp code
ACCOUNT`` prints the current code to a person allowed to read the seed, and audits it.
``totp enroll --operator NAME`` gives a responder their own step-up seed (for unfreeze); it
needs your own token with ``admin`` on every account. The ``otpauth://`` URI is printed, and
drawn as a QR code for their authenticator app when the output is a terminal (``--qr`` draws
it anyway, ``--no-qr`` never); it goes to standard output only, never to a log or the audit.
"""

from __future__ import annotations

import argparse
import getpass
import io
import sys
from datetime import UTC, datetime

from sentinel.capabilities import acl_prefix, require_self
from sentinel.cli.context import Context
from sentinel.cli.creds import audit_sink
from sentinel.cli.output import emit_json
from sentinel.creds.reveal import totp_code
from sentinel.creds.store import CredentialStore
from sentinel.creds.totp import parse_seed
from sentinel.errors import UsageError
from sentinel.inventory import Account


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("totp", help="store an account's TOTP seed; print its current code (audited)")
    tsub = p.add_subparsers(dest="totp_command", metavar="SUBCOMMAND", required=True)
    e = tsub.add_parser("enroll", help="store a TOTP seed (otpauth:// URI or base32, from stdin)")
    e.add_argument("account", nargs="?")
    e.add_argument("--operator", help="instead: issue a responder's own step-up seed")
    e.add_argument("--replace", action="store_true", help="replace a stored seed")
    e.add_argument(
        "--qr",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="with --operator: draw the otpauth URI as a QR code (default: when the output is a terminal)",
    )
    e.set_defaults(func=handle_enroll)
    c = tsub.add_parser("code", help="the account's current TOTP code (your Vault token; audited)")
    c.add_argument("account")
    c.set_defaults(func=handle_code)


def _key(account: Account) -> str:
    return next((c.key for c in account.credentials if c.kind == "totp_seed"), "totp_seed")


def handle_enroll(ctx: Context, args: argparse.Namespace) -> int:
    if args.operator:
        return _enroll_operator(ctx, args)
    if not args.account:
        raise UsageError("name the ACCOUNT whose TOTP seed to store (or --operator NAME)")
    account = ctx.inventory[args.account]
    if sys.stdin.isatty():
        text = getpass.getpass(f"otpauth:// URI or base32 secret for {account.id}: ")
    else:
        text = sys.stdin.read()
    seed = parse_seed(text)
    person, who = ctx.operator()
    try:
        version = CredentialStore(person).replace(
            account, _key(account), "totp_seed", seed.to_data(), who, datetime.now(UTC), replace=args.replace
        )
    finally:
        person.close()
    audit_sink(ctx)(who, "totp.enroll", f"accounts/{account.id}/{_key(account)}", {"version": version})
    if ctx.as_json:
        emit_json({"account": account.id, "version": version, "digits": seed.digits, "period": seed.period})
    else:
        print(
            f"stored the TOTP seed of {account.id} as version {version} ({seed.digits} digits, {seed.period}s)"
        )
    return 0


def _enroll_operator(ctx: Context, args: argparse.Namespace) -> int:
    """A responder's step-up seed is their second factor for unfreezing: issuing or replacing
    one needs the caller's own token holding ``admin`` on every account (Sentinel's token
    alone never suffices), and the audit trail names the caller."""
    from sentinel.response import stepup

    person, who = ctx.operator()
    try:
        require_self(person, acl_prefix(ctx.config), "admin", [a.id for a in ctx.inventory.active])
    finally:
        person.close()
    uri = stepup.enroll(
        ctx.vault, args.operator, issuer=ctx.config.sentinel.organisation, replace=args.replace
    )
    audit_sink(ctx)(
        who, "totp.enroll_operator", f"system/totp/{args.operator}", {"replace": bool(args.replace)}
    )
    print(
        "sentinel: WARNING: this URI is the responder's second factor: add it to their authenticator "
        "now; it is not shown again.",
        file=sys.stderr,
    )
    print(uri)
    if args.qr or (args.qr is None and sys.stdout.isatty()):
        print(qr_text(uri), end="")
        print(f"Scan this with {args.operator}'s authenticator app, then clear the screen.")
    return 0


def qr_text(uri: str) -> str:
    """``uri`` as a QR code drawn with Unicode half blocks (two module rows per line), with its quiet zone."""
    import segno

    out = io.StringIO()
    segno.make(uri, error="m", micro=False).terminal(out=out, compact=True)
    return out.getvalue()


def handle_code(ctx: Context, args: argparse.Namespace) -> int:
    account = ctx.inventory[args.account]
    ctx.refuse_frozen(account.id)
    person, who = ctx.operator()
    try:
        code, left = totp_code(person, who, account, _key(account), audit_sink(ctx))
    finally:
        person.close()
    if ctx.as_json:
        emit_json({"account": account.id, "code": code, "valid_for": left})
    else:
        print(f"{code}  (valid {left}s more)")
    return 0
