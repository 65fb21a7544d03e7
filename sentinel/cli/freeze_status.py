"""The ``frozen`` section of ``sentinel status`` (CLI output, beside the CLI)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentinel.response.store import ResponseStore

if TYPE_CHECKING:
    from sentinel.cli.context import Context


def status_section(ctx: Context) -> dict[str, Any]:
    store = ResponseStore(ctx.store)
    frozen = [r for r in (store.get(a) for a in store.frozen()) if r is not None]
    return {
        "count": len(frozen),
        "accounts": {
            r.account: {
                "since": r.since,
                "reason": r.reason,
                "by": r.actor,
                "incident": r.incident,
                "steps": "complete"
                if r.complete
                else ("to-do left" if r.settled else "in progress or failed"),
            }
            for r in frozen
        },
        "open_incidents": len(store.incidents("open")),
    }
