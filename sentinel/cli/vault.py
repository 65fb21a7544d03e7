"""``sentinel vault``: prepare Vault for Sentinel and check Sentinel's access to it."""

from __future__ import annotations

import argparse
from pathlib import Path

from sentinel.audit import AuditTrail
from sentinel.audit_keys import audit_keystore
from sentinel.cli.context import Context
from sentinel.cli.output import emit_json, table
from sentinel.errors import SentinelError
from sentinel.files import private_dir, private_file, write_private
from sentinel.vault.bootstrap import Step, bootstrap, issue_daemon_token
from sentinel.vault.policies import daemon_policy_name

NEEDED = ("create", "read", "update")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("vault", help="bootstrap Vault for Sentinel, check access")
    vsub = p.add_subparsers(dest="vault_command", metavar="ACTION", required=True)
    b = vsub.add_parser(
        "bootstrap",
        help="enable the KV v2 mount, write the password policy and Sentinel's own policy (idempotent)",
        description="Run with an administrator's Vault token (VAULT_TOKEN). Safe to run again.",
    )
    b.add_argument(
        "--approle", action="store_true", help="also enable AppRole and create the 'sentinel' role"
    )
    b.add_argument(
        "--token-file", type=Path, help="write a token with only Sentinel's policy to this file (0600)"
    )
    b.add_argument("--token-ttl", default="24h", help="TTL of the token written with --token-file")
    b.set_defaults(func=handle_bootstrap)
    c = vsub.add_parser("check", help="is Vault reachable, and may Sentinel's token do what it needs?")
    c.set_defaults(func=handle_check)


def handle_bootstrap(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.config.vault
    path: Path | None = args.token_file
    if path is not None:  # a symlink in its place is refused before Vault is changed
        private_dir(path.parent)
        private_file(path)
    steps = bootstrap(ctx.vault, settings, approle=args.approle, token_ttl=args.token_ttl)
    token_note = None
    if path is not None:
        token, accessor = issue_daemon_token(ctx.vault, settings, ttl=args.token_ttl)
        write_private(path, token + "\n")
        token_note = {"token_file": str(path), "accessor": accessor, "policy": daemon_policy_name(settings)}
    audit = _audit(ctx, steps, token_note)
    if ctx.as_json:
        emit_json({"steps": [s.__dict__ for s in steps], "token": token_note, "audit": audit})
    else:
        table(["step", "status", "detail"], [(s.name, s.status, s.detail) for s in steps])
        if token_note:
            print(
                f"\nA token with only the {token_note['policy']} policy was written to {token_note['token_file']}"
            )
        print(f"\nAudit: {audit}")
    return 0


def _audit(ctx: Context, steps: list[Step], token_note: dict[str, str] | None) -> str:
    """One audit entry when bootstrap changed Vault or issued a token; says what happened.

    Bootstrap often runs on an administrator's machine before Sentinel's state directory
    exists: then no entry can be written, and the output says so (with why) instead.
    """
    changed = {s.name: s.status for s in steps if s.status != "unchanged"}
    if not changed and token_note is None:
        return "nothing changed, no entry written"
    details: dict[str, object] = {"changed": changed, "addr": ctx.config.vault.addr}
    if token_note is not None:
        details["daemon_accessor"] = token_note["accessor"]
    try:
        who = ctx.identity(ctx.vault).name  # the administrator's Vault identity, never a display name
        trail = AuditTrail(ctx.store, audit_keystore(ctx.config, ctx.vault))
        entry = trail.append(who, "vault.bootstrap", ctx.config.vault.kv_mount, details)
    except SentinelError as e:
        return f"no entry written ({e.message})"
    return f"entry {entry.seq} written by {who}"


def handle_check(ctx: Context, args: argparse.Namespace) -> int:
    vault = ctx.vault
    health = vault.health()
    me = vault.lookup_self()
    mount = ctx.config.vault.kv_mount
    probe = f"{mount}/data/accounts/_probe"
    caps = vault.capabilities_self([probe])[probe]
    ok = all(c in caps for c in NEEDED) or "root" in caps
    result = {
        "addr": ctx.config.vault.addr,
        "version": health.get("version"),
        "sealed": health.get("sealed"),
        "token_policies": list(me.policies),
        "token_ttl": me.ttl,
        "token_renewable": me.renewable,
        "kv_capabilities": caps,
        "ok": ok,
    }
    if ctx.as_json:
        emit_json(result)
    else:
        table(["check", "result"], [(k, v) for k, v in result.items()])
    return 0 if ok else 1
