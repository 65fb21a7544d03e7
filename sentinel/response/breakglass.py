"""Break-glass lockdown: block accounts at the gate while Vault cannot be reached.

Blocking at the gate needs only the state store: the daemon follows the store's frozen set
within a second. Everything else a lockdown does (deny secrets, revoke sessions, rotate,
lock) needs Vault, so with Vault unreachable ``sentinel lockdown --break-glass`` blocks the
accounts now and leaves those steps pending; the daemon's responder finishes them when
Vault is usable again.

Who may break the glass is a local rule, because Vault cannot be asked: the caller must be
able to write the state directory and the state database (the daemon's own user, or root:
people who could stop the daemon or edit its state anyway) and must say ``--break-glass``.
The caller is recorded as ``break-glass:<user> (uid N, not verified by Vault)``, with the
person who logged in when they act through ``sudo`` or ``su`` (the kernel's login uid:
``break-glass:root (uid 0, logged in as alice (uid 1000), not verified by Vault)``). The
lockdown is audited (chained into the trail at once; the daemon seals it when Vault is
back) and alerted. Lifting a
freeze is never possible this way: unfreezing always needs Vault.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentinel.audit import AuditTrail
from sentinel.errors import SentinelError
from sentinel.logs import get_logger
from sentinel.response.responder import STEPS
from sentinel.response.store import ResponseStore
from sentinel.store import Store

log = get_logger("sentinel.response.breakglass")

PENDING_KEY = "breakglass.pending"
WAITING = "waiting for Vault"
RULE = "local break-glass rule: write access to the state directory, and --break-glass"


class BreakGlassRefused(SentinelError):
    """The caller may not break the glass (exit code 3: Vault unreachable, nothing else allowed)."""

    exit_code = 3


LOGINUID = Path("/proc/self/loginuid")
"""The kernel's audit login uid: who logged in to the session, kept across ``sudo`` and ``su``
(set once at login by pam_loginuid; unset, 4294967295, outside a login session)."""
UNSET = 0xFFFFFFFF


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def login_uid(path: Path = LOGINUID) -> int | None:
    """The session's login uid, or None when the kernel has none (no login session, no audit)."""
    try:
        raw = path.read_text().strip()
    except OSError:
        return None
    return int(raw) if raw.isdigit() and int(raw) != UNSET else None


def local_actor(loginuid: Path = LOGINUID) -> str:
    """``break-glass:<user> (uid N, ...)``: the Unix user acting, and the person who logged in
    when that is somebody else (``sudo``, ``su``), as the kernel recorded it at login."""
    uid = os.geteuid()
    login = login_uid(loginuid)
    by = f", logged in as {_user(login)} (uid {login})" if login is not None and login != uid else ""
    return f"break-glass:{_user(uid)} (uid {uid}{by}, not verified by Vault)"


def authorize(database: Path) -> str:
    """The local break-glass rule: the caller can write the state directory and database."""
    state_dir = database.parent
    effective = os.access in os.supports_effective_ids  # the user the process acts as
    writable = os.access(state_dir, os.W_OK | os.X_OK, effective_ids=effective)
    if not writable or (
        database.exists() and not os.access(database, os.R_OK | os.W_OK, effective_ids=effective)
    ):
        raise BreakGlassRefused(
            f"break-glass refused: you cannot write the state directory {state_dir} "
            "(run it as the daemon's user or root)"
        )
    return local_actor()


@dataclass(frozen=True)
class BreakGlassReport:
    accounts: list[str]
    already_frozen: list[str]
    incident: int
    actor: str
    waiting: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "break_glass": True,
            "blocked": self.accounts,
            "already_frozen": self.already_frozen,
            "incident": self.incident,
            "actor": self.actor,
            "authorized_by": RULE,
            "waiting_for_vault": list(self.waiting),
        }


def block_at_gate(
    store: Store,
    accounts: Sequence[str],
    reason: str,
    actor: str,
    operator: str = "",
    alert: Callable[..., None] | None = None,
) -> BreakGlassReport:
    """Freeze ``accounts`` in the store with only the gate step done; the rest waits for Vault."""
    rstore = ResponseStore(store)
    fresh = rstore.mark_frozen(accounts, STEPS, reason, actor, False, operator=operator, done=("gate",))
    waiting = tuple(s for s in STEPS if s != "gate")
    for account in fresh:
        for step in waiting:
            rstore.set_step(account, step, "pending", WAITING, attempts=0)
    incident = rstore.open_incident(f"Lockdown (break-glass): {reason[:120]}", list(accounts), window=900.0)
    rstore.set_incident(fresh, incident)
    for account in fresh:
        rstore.add_event(
            incident,
            "action",
            actor,
            {"step": "gate", "status": "done", "reason": reason, "break_glass": True, "authorized_by": RULE},
            account,
        )
    details = {
        "reason": reason,
        "incident": incident,
        "operator": operator,
        "break_glass": True,
        "rule": RULE,
    }
    AuditTrail(store).append(actor, "lockdown", ",".join(accounts), details)  # sealed later, by the daemon
    store.put(PENDING_KEY, "1")
    already = [a for a in accounts if a not in fresh]
    log.warning("freeze.break_glass", accounts=list(accounts), actor=actor, incident=incident)
    if alert is not None:
        alert(
            kind="lockdown",
            severity="critical",
            summary=f"Break-glass lockdown of {len(accounts)} account(s) while Vault is unreachable: {reason}",
            accounts=list(accounts),
            incident=incident,
            steps={"gate": "done", **dict.fromkeys(waiting, WAITING)},
            details={"actor": actor, "authorized by": RULE},
        )
    return BreakGlassReport(list(accounts), already, incident, actor, waiting)


def take_pending(store: Store) -> bool:
    """Whether a break-glass lockdown waits for the responder (and clear the mark)."""
    if store.get(PENDING_KEY) != "1":
        return False
    store.put(PENDING_KEY, "0")
    return True
