"""The ``rotations`` section of ``sentinel status``: pending, parked and due credentials (CLI
output, so it lives with the CLI, above the credential packages it reads)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentinel.creds.rotator import utcnow
from sentinel.creds.schedule import plan
from sentinel.creds.state import CredentialState
from sentinel.creds.store import CredentialStore

if TYPE_CHECKING:
    from sentinel.cli.context import Context


def status_section(ctx: Context) -> dict[str, Any]:
    """One metadata read per credential (Sentinel's token); no secret is read."""
    store = CredentialStore(ctx.vault)
    accounts = ctx.inventory.active
    states: dict[tuple[str, str], CredentialState | None] = {}
    for a in accounts:
        for c in a.credentials:
            states[(a.id, c.key)] = store.state(a.id, c.key)
    return summarise(states, plan(accounts, states, ctx.config.rotation, utcnow()))


def summarise(states: dict[tuple[str, str], CredentialState | None], due: list[Any]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for d in due:
        counts[d.reason] = counts.get(d.reason, 0) + 1
    stuck = []
    for d in due:
        if d.reason not in ("pending", "parked"):
            continue
        st = states[(d.account, d.credential)]
        assert st is not None
        stuck.append(
            {
                "path": f"{d.account}/{d.credential}",
                "phase": st.phase,
                "pending_version": st.pending,
                "since": st.newest_created,
                "reason": st.parked_reason or None,
                "cancel": f"sentinel rotate --cancel {d.account}",
            }
        )
    due_now = [f"{d.account}/{d.credential}" for d in due if d.reason == "due"]
    return {
        "credentials": len(due),
        "counts": counts,
        "pending": stuck,
        "due": due_now[:20],
    }
