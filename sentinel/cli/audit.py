"""``sentinel audit``: verify and export the signed audit trail."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sentinel.audit import AuditTrail
from sentinel.cli.context import Context
from sentinel.cli.output import emit_json
from sentinel.errors import AuditError, UsageError
from sentinel.keys import audit_keystore


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help="verify or export the tamper-evident audit trail")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = asub.add_parser(
        "verify", help="check every entry's hash chain and signature; name any tampered entry"
    )
    v.add_argument(
        "--public-key", type=Path, help="verify with this PEM public key instead of the one in Vault"
    )
    v.set_defaults(func=handle_verify)
    e = asub.add_parser("export", help="write entries as JSON lines")
    e.add_argument(
        "--since", help="only entries at or after this UTC time (e.g. 2026-11-01 or 2026-11-01T12:00:00Z)"
    )
    e.set_defaults(func=handle_export)


def _trail(ctx: Context, with_keys: bool = True) -> AuditTrail:
    if not with_keys:
        return AuditTrail(ctx.store)
    vault = ctx.vault if ctx.config.audit.signing_key == "vault" else None
    return AuditTrail(ctx.store, audit_keystore(ctx.config, vault))


def handle_verify(ctx: Context, args: argparse.Namespace) -> int:
    pub = None
    if args.public_key:
        try:
            loaded = serialization.load_pem_public_key(args.public_key.read_bytes())
        except (OSError, ValueError) as e:
            raise UsageError(
                f"{args.public_key}: not a readable PEM public key ({e.__class__.__name__})"
            ) from None
        if not isinstance(loaded, Ed25519PublicKey):
            raise AuditError(f"{args.public_key}: not an Ed25519 public key")
        pub = loaded
    trail = _trail(ctx)
    count, problems = trail.verify(pub)
    if ctx.as_json:
        emit_json({"entries": count, "ok": not problems, "problems": [p.__dict__ for p in problems]})
    else:
        for p in problems:
            print(f"TAMPERED {p}")
        print(f"{count} entries checked: " + ("intact" if not problems else f"{len(problems)} problem(s)"))
    return 0 if not problems else 1


def _since(value: str | None) -> str | None:
    if not value:
        return None
    v = value.strip()
    if len(v) == 10:
        v += "T00:00:00"
    return v.rstrip("Z")


def handle_export(ctx: Context, args: argparse.Namespace) -> int:
    trail = _trail(ctx, with_keys=False)
    for entry in trail.entries(since=_since(args.since)):
        print(json.dumps(entry.to_dict(), sort_keys=True))
    return 0
