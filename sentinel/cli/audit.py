"""``sentinel audit``: verify, seal and export the signed audit trail; show the key to pin."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sentinel.audit import AuditTrail, fingerprint, public_pem
from sentinel.audit_keys import audit_keystore, pinned_public_keys, transit_public_keys
from sentinel.cli.context import Context
from sentinel.cli.output import emit_json
from sentinel.errors import AuditError
from sentinel.vault.policies import transit_key_name


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help="verify or export the tamper-evident audit trail")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = asub.add_parser(
        "verify",
        help="check every entry's chain and signature against the pinned key, and every checkpoint "
        "in Vault; name any tampered entry",
    )
    v.add_argument(
        "--public-key",
        type=Path,
        action="append",
        default=[],
        help="pinned PEM public key (default: [audit] public_key_file); repeat to also accept an older key",
    )
    v.add_argument(
        "--fingerprint",
        help="pinned sha256:<hex> fingerprint of the Transit key (default: [audit] public_key_fingerprint)",
    )
    v.set_defaults(func=handle_verify)
    k = asub.add_parser(
        "key", help="show the audit public key and its fingerprint, to pin (read with your own Vault token)"
    )
    k.set_defaults(func=handle_key)
    s = asub.add_parser("seal", help="sign pending entries and checkpoint the head now")
    s.set_defaults(func=handle_seal)
    e = asub.add_parser("export", help="write entries as JSON lines")
    e.add_argument(
        "--since", help="only entries at or after this UTC time (e.g. 2026-11-01 or 2026-11-01T12:00:00Z)"
    )
    e.set_defaults(func=handle_export)


def _trail(ctx: Context, with_keys: bool = True) -> AuditTrail:
    if not with_keys:
        return AuditTrail(ctx.store)
    vault = ctx.vault if ctx.config.audit.signing_key == "vault" else None
    return AuditTrail(ctx.store, audit_keystore(ctx.config, vault), eager=False)


def handle_verify(ctx: Context, args: argparse.Namespace) -> int:
    fetch = None  # the Transit key's public part is fetched with the verifier's own token
    if not (args.public_key or ctx.config.audit.public_key_file) and (
        args.fingerprint or ctx.config.audit.public_key_fingerprint
    ):
        fetch = ctx.operator()[0] if ctx.config.audit.signing_key == "vault" else None
    pinned = pinned_public_keys(ctx.config, fetch, args.public_key, args.fingerprint)
    result = _trail(ctx).verify(*pinned)
    pending = f"entries {result.pending[0]}..{result.pending[-1]}" if result.pending else ""
    if ctx.as_json:
        emit_json(
            {
                "entries": result.entries,
                "checkpoints": result.checkpoints,
                "ok": result.ok,
                "pending": list(result.pending),
                "problems": [p.__dict__ for p in result.problems],
            }
        )
    else:
        for p in result.problems:
            print(f"TAMPERED {p}")
        if pending:
            print(f"pending: {pending} are chained but not yet checkpointed")
        print(
            f"{result.entries} entries checked against {result.checkpoints} checkpoint(s): "
            + ("intact" if result.ok else f"{len(result.problems)} problem(s)")
        )
    return 0 if result.ok else 1


def handle_key(ctx: Context, args: argparse.Namespace) -> int:
    if ctx.config.audit.signing_key == "vault":
        keys = transit_public_keys(ctx.operator()[0], ctx.config.vault)
        where = f"Vault Transit {ctx.config.vault.transit_mount}/keys/{transit_key_name(ctx.config.vault)}"
    else:
        local = audit_keystore(ctx.config, None).local_public_key()
        if local is None:
            raise AuditError("no audit public key available")
        keys, where = {1: local}, "local key file (local-only mode: weaker)"
    if ctx.as_json:
        emit_json(
            {
                "where": where,
                "keys": {
                    str(v): {"fingerprint": fingerprint(k), "pem": public_pem(k)} for v, k in keys.items()
                },
            }
        )
        return 0
    print(f"# audit public key: {where}")
    for version, key in sorted(keys.items()):
        print(f"# version {version}: {fingerprint(key)}")
        print(public_pem(key), end="")
    return 0


def handle_seal(ctx: Context, args: argparse.Namespace) -> int:
    cp = _trail(ctx).seal()
    print(f"checkpoint {cp.name} at entry {cp.seq}" if cp else "nothing to seal")
    return 0


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
