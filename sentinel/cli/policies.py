"""``sentinel policies``: render a roles file into Vault ACL policies, apply them with a diff."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sentinel.cli.context import Context
from sentinel.cli.output import confirm, emit_json, table
from sentinel.errors import ConfirmationRequired, UsageError
from sentinel.policies import load_roles, render
from sentinel.policies.apply import apply, plan
from sentinel.policies.render import ROLE_INFIX, RenderedPolicy

DEFAULT_OUT = Path("vault/policies")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("policies", help="least privilege: render role policies for Vault and apply them")
    psub = p.add_subparsers(dest="policies_command", metavar="ACTION", required=True)
    r = psub.add_parser(
        "render",
        help="write one HCL policy per role of ROLES_FILE",
        description="Accounts chosen by tag are expanded through the inventory: render again when it changes.",
    )
    r.add_argument("roles_file", type=Path, metavar="ROLES_FILE")
    r.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="directory for the .hcl files (vault/policies)"
    )
    r.add_argument("--inventory", help="inventory file (default: the configured one)")
    r.set_defaults(func=handle_render)
    a = psub.add_parser(
        "apply",
        help="write the role policies to Vault (diff first; asks unless --yes)",
        description="Acts with your own Vault token (VAULT_TOKEN or ~/.vault-token), which must be "
        "allowed to write the policies. Without ROLES_FILE the rendered files in --dir are applied.",
    )
    a.add_argument("roles_file", type=Path, nargs="?", metavar="ROLES_FILE")
    a.add_argument("--dir", type=Path, default=DEFAULT_OUT, help="rendered .hcl files (without ROLES_FILE)")
    a.add_argument("--inventory", help="inventory file (default: the configured one)")
    a.add_argument("--prune", action="store_true", help="delete role policies the roles no longer define")
    a.add_argument("--yes", action="store_true", help="apply without asking")
    a.set_defaults(func=handle_apply)


def _render(ctx: Context, roles_file: Path, inventory: str | None) -> list[RenderedPolicy]:
    roles = load_roles(roles_file)
    inv = ctx.load_inventory(inventory)
    return render(roles, inv, ctx.config.api.acl_prefix, ctx.config.vault.policy_prefix)


def handle_render(ctx: Context, args: argparse.Namespace) -> int:
    policies = _render(ctx, args.roles_file, args.inventory)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for p in policies:
        (out / p.filename).write_text(p.hcl, encoding="utf-8")
    if ctx.as_json:
        emit_json(
            [
                {
                    "policy": p.name,
                    "file": str(out / p.filename),
                    "paths": len(p.paths),
                    "members": list(p.members),
                }
                for p in policies
            ]
        )
    else:
        table(
            ["policy", "paths", "members", "file"],
            [(p.name, len(p.paths), ", ".join(p.members) or None, out / p.filename) for p in policies],
        )
    return 0


def _from_dir(directory: Path, policy_prefix: str) -> list[RenderedPolicy]:
    files = sorted(directory.glob(f"{policy_prefix}{ROLE_INFIX}*.hcl"))
    if not files:
        raise UsageError(
            f"{directory}: no {policy_prefix}{ROLE_INFIX}*.hcl files; run 'sentinel policies render' first"
        )
    out = []
    for f in files:
        name = f.name.removesuffix(".hcl")
        out.append(RenderedPolicy(name, name.split(ROLE_INFIX, 1)[1], f.read_text(encoding="utf-8"), (), ()))
    return out


def handle_apply(ctx: Context, args: argparse.Namespace) -> int:
    prefix = ctx.config.vault.policy_prefix
    if args.roles_file:
        rendered = _render(ctx, args.roles_file, args.inventory)
    else:
        rendered = _from_dir(args.dir, prefix)
    vault, who = ctx.operator()
    changes = plan(vault, rendered, prefix, prune=args.prune)
    pending = [c for c in changes if c.action != "unchanged"]
    if not ctx.as_json:
        for c in pending:
            if c.diff:
                sys.stdout.write(c.diff if c.diff.endswith("\n") else c.diff + "\n")
        table(["kind", "name", "action"], [(c.kind, c.name, c.action) for c in changes])
        for c in changes:
            if c.missing_members:
                print(
                    f"warning: {c.name}: no Vault entity named {', '.join(c.missing_members)}",
                    file=sys.stderr,
                )
    if not pending:
        if ctx.as_json:
            emit_json({"applied": [], "changes": [c.to_dict() for c in changes]})
        else:
            print("Vault already matches; nothing to apply.")
        return 0
    if not confirm(f"Apply {len(pending)} change(s) to Vault as {who}?", args.yes):
        raise ConfirmationRequired("not applied: confirm on a terminal or pass --yes")
    done = apply(vault, pending)
    if ctx.as_json:
        emit_json({"applied": [c.to_dict() for c in done], "changes": [c.to_dict() for c in changes]})
    else:
        print(f"Applied {len(done)} change(s) as {who}.")
    return 0
