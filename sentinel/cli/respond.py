"""``sentinel lockdown`` and ``sentinel unfreeze``: what incident responders type.

Both act as the person at the keyboard (their own Vault token: ``vault login`` or
``$VAULT_TOKEN``): Vault decides whether they hold ``lockdown`` or ``unfreeze``, and the
audit trail and the incident name them. The work itself is done with Sentinel's own
token, from this process; a running daemon picks the freeze up from the shared state
database within a second (its gate blocks the accounts), delivers the alerts from the
durable outbox, and finishes any step this process could not.

With Vault unreachable, ``--break-glass`` blocks the accounts at the gate through the state
store alone and leaves the other steps to the daemon (``sentinel.response.breakglass``).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Mapping
from typing import Any

from sentinel.audit import AuditTrail
from sentinel.audit_keys import audit_keystore
from sentinel.capabilities import acl_prefix, require_self
from sentinel.cli.context import Context
from sentinel.cli.output import confirm, emit_json, table
from sentinel.errors import ConfirmationRequired, SentinelError, UsageError, VaultUnavailable
from sentinel.response import breakglass, stepup
from sentinel.response.containment import containment_for
from sentinel.response.reach import PolicySource, Reach, reach_for
from sentinel.response.responder import STEPS, LockdownReport, Responder, select_accounts
from sentinel.response.service import responder_settings, vault_adapters
from sentinel.response.store import FreezeRecord, ResponseStore
from sentinel.vault.health import check

UNREACHABLE = frozenset({"unreachable", "timeout", "sealed", "uninitialised", "error"})
"""Vault states in which nobody can be authorized by Vault (break-glass may be used)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "lockdown",
        help="freeze accounts now: block posts, deny secrets, revoke sessions, rotate, lock",
        description="Freeze one account, a group, or everything. Needs the 'lockdown' capability in Vault.",
    )
    p.add_argument("accounts", nargs="*", metavar="ACCOUNT")
    p.add_argument("--tag", action="append", default=[], help="every account with this tag (repeatable)")
    p.add_argument("--platform", action="append", default=[], help="every account on this platform")
    p.add_argument(
        "--operator",
        action="append",
        default=[],
        help="every account this operator can reach (blast radius: inventory owners and what the Vault "
        "policies of their entity and its groups grant); also disables their Vault entity",
    )
    p.add_argument("--all", action="store_true", help="every active account")
    p.add_argument(
        "--reason", required=True, help="why (goes into the incident, the alert and the audit trail)"
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--break-glass",
        action="store_true",
        help="only when Vault cannot be reached: block the accounts at the gate now (needs write access "
        "to the state directory); the daemon finishes the other steps when Vault is back",
    )
    p.set_defaults(func=handle_lockdown)
    u = sub.add_parser(
        "unfreeze",
        help="lift a freeze (deliberate: another responder, TOTP step-up, 'unfreeze' capability)",
    )
    u.add_argument("account")
    u.add_argument("--reason", required=True)
    u.add_argument("--code", help="your current TOTP code (asked for on a terminal when left out)")
    u.set_defaults(func=handle_unfreeze)


def _responder(ctx: Context) -> Responder:
    rstore = ResponseStore(ctx.store)
    trail = AuditTrail(ctx.store, audit_keystore(ctx.config, ctx.vault))

    def audit(actor: str, action: str, target: str, details: Mapping[str, Any]) -> None:
        trail.append(actor, action, target, details)

    return Responder(
        ctx.inventory,
        rstore,
        _StoreGate(),
        containment_for(ctx.vault, ctx.config, ctx.inventory, rstore),
        vault_adapters(ctx.vault),
        rotation=_rotation(ctx),
        alert=ctx.alert_sink(),
        audit=audit,
        settings=responder_settings(ctx.config.response),
    )


class _StoreGate:
    """In this process the gate is the store's frozen set, which the daemon follows."""

    def block(self, account: str, reason: str) -> None:
        return None

    def unblock(self, account: str) -> None:
        return None


def _rotation(ctx: Context) -> Any:
    try:
        from sentinel.creds.service import cli_rotation  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return cli_rotation(ctx)


def handle_lockdown(ctx: Context, args: argparse.Namespace) -> int:
    inv = ctx.inventory
    accounts = select_accounts(inv, args.accounts, args.tag, args.platform, (), args.all)
    if not accounts and not args.operator:
        raise UsageError("no account selected: name accounts, or use --tag, --platform, --operator or --all")
    if args.break_glass:
        health = check(ctx.config.vault)
        if health.state in UNREACHABLE:  # no Vault to log in to or ask: the local rule decides
            return _break_glass(ctx, args, accounts, health.message)
    try:
        person, me = ctx.person()
        who = me.name
        require_self(person, acl_prefix(ctx.config), "lockdown")
    except VaultUnavailable as e:
        if not args.break_glass:
            raise VaultUnavailable(
                f"{e.message}; to block accounts at the gate while Vault is down, add --break-glass"
            ) from None
        return _break_glass(ctx, args, accounts, e.message)
    reaches = _operator_reach(ctx, args.operator)
    wanted = set(accounts).union(*(r.accounts for r in reaches))
    accounts = [a.id for a in inv if a.id in wanted and not a.retired]
    if not accounts:
        raise UsageError(
            f"operator {', '.join(args.operator)} reaches no active account: nothing to lock down"
        )
    preview = ", ".join(accounts[:8]) + (f" and {len(accounts) - 8} more" if len(accounts) > 8 else "")
    if not confirm(f"Lock down {len(accounts)} account(s): {preview}?", args.yes):
        raise ConfirmationRequired("lockdown not confirmed (use --yes to skip the question)")
    responder = _responder(ctx)
    live = _LiveTable(accounts, enabled=sys.stdout.isatty() and not ctx.as_json)
    responder.on_progress = live.update
    operator = args.operator[0] if len(args.operator) == 1 else ""

    async def go() -> LockdownReport:
        try:
            return await responder.lock(accounts, args.reason, who, operator=operator, actor_id=me.key)
        finally:
            await responder.aclose()

    report = asyncio.run(go())
    live.close()
    if ctx.as_json:
        emit_json(
            {**report.to_dict(), "reach": [r.to_dict() for r in reaches]} if reaches else report.to_dict()
        )
    else:
        _final_table(report.to_dict()["accounts"])
        print(
            f"\nGate blocked {len(accounts)} account(s) in {report.gate_seconds * 1000:.1f} ms; "
            f"all steps in {report.total_seconds:.2f} s; incident {report.incident}."
        )
        todo = [f"  {r.account}: {s.detail}" for r in report.accounts for s in r.steps if s.status == "todo"]
        if todo:
            print("\nTo do by hand:\n" + "\n".join(todo))
        if report.already_frozen:
            print(f"Already frozen: {', '.join(report.already_frozen)}")
    return 0 if report.ok else 1


def _break_glass(ctx: Context, args: argparse.Namespace, accounts: list[str], why: str) -> int:
    """Vault is unreachable: block at the gate through the store; the rest waits for Vault."""
    actor = breakglass.authorize(ctx.config.sentinel.database)
    print(f"warning: {why}; breaking the glass as {actor}", file=sys.stderr)
    inv = ctx.inventory
    owned = {a.id for op in args.operator for a in inv if op in a.owners}  # Vault's policies cannot be read
    wanted = set(accounts) | owned
    chosen = [a.id for a in inv if a.id in wanted and not a.retired]
    if not chosen:
        raise UsageError(f"operator {', '.join(args.operator)} owns no active account: nothing to lock down")
    preview = ", ".join(chosen[:8]) + (f" and {len(chosen) - 8} more" if len(chosen) > 8 else "")
    if not confirm(f"Break-glass: block {len(chosen)} account(s) at the gate: {preview}?", args.yes):
        raise ConfirmationRequired("lockdown not confirmed (use --yes to skip the question)")
    operator = args.operator[0] if len(args.operator) == 1 else ""
    report = breakglass.block_at_gate(ctx.store, chosen, args.reason, actor, operator, ctx.alert_sink())
    if ctx.as_json:
        emit_json(report.to_dict())
    else:
        print(f"Blocked at the gate: {', '.join(report.accounts)} (incident {report.incident}).")
        print(f"Waiting for Vault (the daemon finishes them when it is back): {', '.join(report.waiting)}.")
        if report.already_frozen:
            print(f"Already frozen: {', '.join(report.already_frozen)}")
    return 0


def _operator_reach(ctx: Context, operators: list[str]) -> list[Reach]:
    """What each named operator reaches (inventory owners and Vault policies), shown on stderr.

    Asked with Sentinel's own token: its policy may read policy texts and identities, a
    responder's token usually may not, and the responder's right to lock down is already
    checked. Unreachable Vault falls back to the inventory owners, with a warning.
    """
    out = []
    for op in operators:
        try:
            vault: PolicySource | None = ctx.vault
        except SentinelError as e:
            vault = None
            print(f"warning: Sentinel cannot log in to Vault ({e.message})", file=sys.stderr)
        r = reach_for(vault, ctx.inventory, op, ctx.config)
        print(r.summary(), file=sys.stderr)
        for w in r.warnings:
            print(f"warning: {w}", file=sys.stderr)
        out.append(r)
    return out


def _final_table(rows: list[dict[str, Any]]) -> None:
    table(["account", *STEPS], [[r["account"], *[_mark(s["status"]) for s in r["steps"]]] for r in rows])


def _mark(status: str) -> str:
    return {"done": "ok", "failed": "FAILED", "todo": "to-do", "skipped": "-", "pending": "..."}.get(
        status, status
    )


class _LiveTable:
    """A per-account table of steps redrawn as they complete (on a terminal)."""

    def __init__(self, accounts: list[str], enabled: bool) -> None:
        self.enabled = enabled
        self.rows = {a: dict.fromkeys(STEPS, "...") for a in accounts}
        for a in accounts:
            self.rows[a]["gate"] = "ok"
        self.drawn = 0

    def update(self, account: str, step: str, status: str, detail: str) -> None:
        if account in self.rows:
            self.rows[account][step] = _mark(status)
        if not self.enabled:
            return
        shown = list(self.rows.items())[:30]
        if self.drawn:
            sys.stdout.write(f"\x1b[{self.drawn}F\x1b[J")
        width = max(len(a) for a, _ in shown)
        lines = ["  ".join(["ACCOUNT".ljust(width), *[s.upper().ljust(8) for s in STEPS]])]
        lines += ["  ".join([a.ljust(width), *[r[s].ljust(8) for s in STEPS]]) for a, r in shown]
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        self.drawn = len(lines)

    def close(self) -> None:
        if self.enabled and self.drawn:
            sys.stdout.write(f"\x1b[{self.drawn}F\x1b[J")
            sys.stdout.flush()


def handle_unfreeze(ctx: Context, args: argparse.Namespace) -> int:
    ctx.inventory[args.account]
    person, me = ctx.person()
    who = me.name
    require_self(person, acl_prefix(ctx.config), "unfreeze")
    code = args.code
    if not code:
        if not sys.stdin.isatty():
            raise UsageError("give your TOTP code with --code (no terminal to ask on)")
        code = getpass.getpass("Your TOTP code: ")
    limiter = stepup.StepUpLimiter(ctx.store, ctx.alert_sink())
    verified = stepup.verify_limited(ctx.vault, limiter, who, me.key, code)
    if not verified:
        raise SentinelError("TOTP code not valid (or already used): unfreeze refused")
    responder = _responder(ctx)

    async def go() -> FreezeRecord:
        try:
            return await responder.unfreeze(
                args.account, args.reason, who, verified_step_up=True, actor_id=me.key
            )
        finally:
            await responder.aclose()

    rec = asyncio.run(go())
    if ctx.as_json:
        emit_json(rec.to_dict())
    else:
        print(
            f"{args.account} unfrozen by {who}; credentials rotated where a rotator runs; incident {rec.incident}."
        )
    return 0
