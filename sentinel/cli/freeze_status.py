"""The ``frozen`` section of ``sentinel status`` (CLI output, beside the CLI)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentinel.response.store import ResponseStore

if TYPE_CHECKING:
    from sentinel.cli.context import Context


def status_section(ctx: Context) -> dict[str, Any]:
    store = ResponseStore(ctx.store)
    frozen = store.frozen_records().values()
    return {
        "count": len(frozen),
        "accounts": {
            r.account: {
                "state": r.state,
                "since": r.since,
                "reason": r.reason,
                "by": r.actor,
                "incident": r.incident,
                "steps": r.progress,
            }
            for r in frozen
        },
        "open_incidents": len(store.incidents("open")),
    }
