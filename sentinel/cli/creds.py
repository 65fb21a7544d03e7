"""``sentinel creds``: what is stored for an account, and (for a person allowed to) the secret.

``creds show ACCOUNT`` prints metadata only: kinds, versions, rotation state, who changed
what when. ``--reveal`` prints the current secret, read with *your* Vault token (Vault
decides whether you may), writes an audit entry naming you and warns on stderr.
``creds set ACCOUNT CREDENTIAL`` stores a secret changed by hand (value from stdin).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sentinel.audit import AuditTrail
from sentinel.audit_keys import audit_keystore
from sentinel.cli.context import Context
from sentinel.cli.output import emit_json, table
from sentinel.creds.reveal import reveal, show
from sentinel.creds.store import CredentialStore
from sentinel.errors import UsageError
from sentinel.redact import register_secret


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("creds", help="credential metadata; --reveal a secret (audited); set one by hand")
    csub = p.add_subparsers(dest="creds_command", metavar="SUBCOMMAND", required=True)
    s = csub.add_parser("show", help="metadata of an account's credentials (--reveal: the secret, audited)")
    s.add_argument("account")
    s.add_argument("--credential", help="only this credential")
    s.add_argument("--reveal", action="store_true", help="print the secret (your Vault token; audited)")
    s.set_defaults(func=handle_show)
    t = csub.add_parser("set", help="store a credential changed by hand (value read from stdin)")
    t.add_argument("account")
    t.add_argument("credential")
    t.add_argument("--name", help="the app password's name at the platform")
    t.add_argument("--replace", action="store_true", help="replace a stored credential")
    t.set_defaults(func=handle_set)


def audit_sink(ctx: Context) -> Any:
    trail = AuditTrail(ctx.store, audit_keystore(ctx.config, ctx.vault))

    def audit(actor: str, action: str, target: str, details: Mapping[str, Any]) -> None:
        trail.append(actor, action, target, details)

    return audit


def handle_show(ctx: Context, args: argparse.Namespace) -> int:
    account = ctx.inventory[args.account]
    if args.reveal:
        return _reveal(ctx, args, account)
    rows = show(ctx.vault, account, args.credential)
    if args.credential and not rows:
        raise UsageError(f"{account.id} has no credential {args.credential!r} in the inventory")
    if ctx.as_json:
        emit_json({"account": account.id, "credentials": rows})
        return 0
    table(
        ["credential", "kind", "phase", "current", "previous", "pending", "rotated", "changed by"],
        [
            [
                r["key"],
                r["kind"],
                r.get("phase", "not stored"),
                r.get("current_version"),
                r.get("previous_version"),
                r.get("pending_version"),
                r.get("rotated"),
                r.get("changed_by"),
            ]
            for r in rows
        ],
    )
    for r in rows:
        if r.get("parked_reason"):
            print(f"{r['credential']}: parked: {r['parked_reason']}")
    return 0


def _reveal(ctx: Context, args: argparse.Namespace, account: Any) -> int:
    keys = [args.credential] if args.credential else [c.key for c in account.credentials]
    if len(keys) != 1:
        raise UsageError(f"--reveal shows one secret at a time: add --credential ({', '.join(keys)})")
    ctx.refuse_frozen(account.id)
    person, who = ctx.operator()
    try:
        version, data = reveal(person, who, account, keys[0], audit_sink(ctx))
    finally:
        person.close()
    print(
        f"sentinel: WARNING: secret of {account.id}/{keys[0]} shown to {who}; "
        "this is recorded in the audit trail. Clear your terminal when done.",
        file=sys.stderr,
    )
    if ctx.as_json:
        emit_json({"account": account.id, "credential": keys[0], "version": version, "data": data})
    else:
        for k, v in data.items():
            print(f"{k}: {v}")
    return 0


def handle_set(ctx: Context, args: argparse.Namespace) -> int:
    account = ctx.inventory[args.account]
    spec = next((c for c in account.credentials if c.key == args.credential), None)
    if spec is None:
        raise UsageError(f"{account.id} has no credential {args.credential!r} in the inventory")
    text = getpass.getpass(f"{spec.kind} for {account.id}: ") if sys.stdin.isatty() else sys.stdin.read()
    text = text.strip()
    if not text:
        raise UsageError("no value given on stdin")
    register_secret(text)
    if spec.kind == "oauth_token":
        try:
            data: dict[str, Any] = json.loads(text)
        except ValueError:
            raise UsageError("an oauth_token is given as a JSON object on stdin") from None
        if not isinstance(data, dict):
            raise UsageError("an oauth_token is given as a JSON object on stdin")
    elif spec.kind == "totp_seed":
        raise UsageError(f"store TOTP seeds with: sentinel totp enroll {account.id}")
    else:
        data = {"value": text}
        if args.name:
            data["name"] = args.name
    person, who = ctx.operator()
    try:
        version = CredentialStore(person).replace(
            account,
            spec.key,
            spec.kind,
            data,
            who,
            datetime.now(UTC),
            period=spec.rotation_seconds or ctx.config.rotation.period_for(spec.kind),
            replace=args.replace,
        )
    finally:
        person.close()
    audit_sink(ctx)(who, "credential.set", f"accounts/{account.id}/{spec.key}", {"version": version})
    print(f"stored {account.id}/{spec.key} as version {version}")
    return 0
