"""``sentinel accounts``: list, show and audit the inventory's accounts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import UTC, datetime

from sentinel.activity import last_posts
from sentinel.cli.context import Context
from sentinel.cli.output import emit_json, table
from sentinel.errors import VaultError
from sentinel.inventory import Inventory
from sentinel.posture import CredentialInfo, audit_posture
from sentinel.response.reach import freeze_gaps, reach_for
from sentinel.response.store import FreezeRecord, ResponseStore
from sentinel.vault.layout import account_prefix, credential_path
from sentinel.vault.policies import freeze_policy_name


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("accounts", help="list, show and audit protected accounts")
    p.add_argument("--inventory", help="inventory file (default: [sentinel] inventory)")
    asub = p.add_subparsers(dest="accounts_command", metavar="ACTION", required=True)
    ls = asub.add_parser("list", help="one line per account with its state (ok, frozen, locked)")
    ls.add_argument("--tag", action="append", default=[], help="only accounts with this tag (repeatable)")
    ls.add_argument("--platform", action="append", default=[], help="only accounts on this platform")
    ls.set_defaults(func=handle_list)
    show = asub.add_parser("show", help="everything the inventory says about one account")
    show.add_argument("account")
    show.set_defaults(func=handle_show)
    audit = asub.add_parser(
        "audit",
        help="posture report: missing credentials or 2FA, overdue rotation, no owner, blast radius, "
        "freeze policy not carried, silent",
    )
    audit.add_argument("--no-vault", action="store_true", help="skip the checks that need Vault")
    audit.set_defaults(func=handle_audit)


def handle_list(ctx: Context, args: argparse.Namespace) -> int:
    inv = ctx.load_inventory(args.inventory)
    accounts = [
        a
        for a in inv
        if (not args.tag or set(args.tag) & set(a.tags))
        and (not args.platform or a.platform in args.platform)
    ]
    frozen = ResponseStore(ctx.store).frozen_records()
    if ctx.as_json:
        emit_json([a.to_dict() | {"state": _state(frozen, a.id), "frozen": a.id in frozen} for a in accounts])
        return 0
    table(
        ["id", "platform", "handle", "publishing", "state", "since", "owners", "tags"],
        [
            (
                a.id + (" (retired)" if a.retired else ""),
                a.platform,
                a.handle,
                a.publishing,
                _state(frozen, a.id),
                frozen[a.id].since[:19].replace("T", " ") if a.id in frozen else None,
                len(a.owners),
                ",".join(a.tags),
            )
            for a in accounts
        ],
    )
    return 0


def _state(frozen: Mapping[str, FreezeRecord], account: str) -> str:
    """ok, frozen (blocked at the gate and in Vault) or locked (at the platform too)."""
    record = frozen.get(account)
    return "ok" if record is None else record.state


def handle_show(ctx: Context, args: argparse.Namespace) -> int:
    account = ctx.load_inventory(args.inventory)[args.account]
    data = account.to_dict()
    if ctx.as_json:
        emit_json(data)
        return 0
    for key, value in data.items():
        if isinstance(value, list):
            value = ", ".join(str(v) if not isinstance(v, dict) else v["name"] for v in value) or "-"
        print(f"{key:15} {value if value not in (None, '') else '-'}")
    return 0


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def gather_credentials(ctx: Context) -> dict[str, dict[str, CredentialInfo]]:
    vault = ctx.vault
    out: dict[str, dict[str, CredentialInfo]] = {}
    for account in ctx.inventory.active:
        creds: dict[str, CredentialInfo] = {}
        for key in vault.kv_list(account_prefix(account.id)):
            if key.endswith("/"):
                continue
            meta = vault.kv_metadata(credential_path(account.id, key))
            cm = meta.custom_metadata
            rotated = _parse_time(cm.get("rotated") or cm.get("created") or meta.updated_time or "")
            creds[key] = CredentialInfo(key=key, kind=cm.get("kind", key), rotated=rotated)
        out[account.id] = creds
    return out


def operators_reach(ctx: Context, inv: Inventory) -> dict[str, list[str]]:
    """Each inventory owner's reach through the inventory and Vault's policies (the same
    computation a lockdown by operator uses); warnings go to stderr."""
    out: dict[str, list[str]] = {}
    warnings: list[str] = []
    for operator in sorted(inv.reach()):
        r = reach_for(ctx.vault, inv, operator, ctx.config)
        warnings.extend(f"{operator}: {w}" for w in r.warnings)
        out[operator] = list(r.accounts)
    for w in warnings[:5]:
        print(f"warning: {w}", file=sys.stderr)
    if len(warnings) > 5:
        print(f"warning: ... and {len(warnings) - 5} more about operators' reach", file=sys.stderr)
    return out


def freeze_gap_findings(ctx: Context, inv: Inventory) -> dict[str, str]:
    """Entities and groups holding Sentinel capabilities without the freeze policy."""
    gaps, warnings = freeze_gaps(ctx.vault, inv, ctx.config)
    for w in warnings[:5]:
        print(f"warning: {w}", file=sys.stderr)
    name = freeze_policy_name(ctx.config.vault)
    return {f"{g.kind} {g.name}": g.detail(name) for g in gaps}


def handle_audit(ctx: Context, args: argparse.Namespace) -> int:
    inv = ctx.load_inventory(args.inventory)
    stored = None
    note = ""
    reach = None
    gaps = None
    if not args.no_vault:
        try:
            stored = gather_credentials(ctx)
            reach = operators_reach(ctx, inv)
            gaps = freeze_gap_findings(ctx, inv)
        except VaultError as e:
            note = f"Vault checks not run: {e.message}"
    unsupported = _platform_gaps()
    findings = audit_posture(
        inv,
        stored,
        last_posts(ctx.store),
        datetime.now(UTC),
        ctx.config.sentinel.max_operator_reach,
        unsupported=unsupported,
        reach=reach,
        freeze_gaps=gaps,
    )
    if ctx.as_json:
        emit_json(
            {
                "accounts": len(inv.active),
                "vault_checked": stored is not None,
                "note": note,
                "findings": [f.to_dict() for f in findings],
            }
        )
    else:
        table(
            ["severity", "check", "subject", "detail"],
            [(f.severity, f.check, f.subject, f.detail) for f in findings],
        )
        print(
            f"\n{len(findings)} finding(s) over {len(inv.active)} active accounts."
            + (f" {note}" if note else "")
        )
    if note:
        return 3
    return 1 if any(f.severity in ("high", "medium") for f in findings) else 0


def _platform_gaps() -> dict[str, list[str]]:
    """For each platform: what its API cannot do in an incident (a person must)."""
    from sentinel.inventory import PLATFORMS
    from sentinel.platforms import capabilities_for
    from sentinel.platforms.base import Capability

    needed = (
        Capability.REVOKE_SESSIONS,
        Capability.ROTATE_CREDENTIAL,
        Capability.LOCK_ACCOUNT,
        Capability.DELETE_POST,
    )
    out: dict[str, list[str]] = {}
    for platform in PLATFORMS:
        info = capabilities_for(platform)
        gaps = [c.value.replace("_", " ") for c in needed if not info.supports(c)]
        if gaps:
            out[platform] = gaps
    return out
