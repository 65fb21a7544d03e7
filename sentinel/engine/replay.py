"""Replay: JSON-lines events through the engine, JSON-lines decisions out.

The caller supplies the lines and two callbacks (one per output record, one per problem),
so this module does no I/O of its own; ``sentinel replay`` wires it to files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sentinel.engine.engine import Engine
from sentinel.engine.events import EventError, parse_event


@dataclass
class ReplayStats:
    lines: int = 0
    decisions: int = 0
    skipped: int = 0
    errors: int = 0
    freezes: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)


def replay(
    lines: Iterable[str],
    engine: Engine,
    emit: Callable[[dict[str, Any]], None],
    error: Callable[[str], None],
) -> ReplayStats:
    stats = ReplayStats()
    for n, line in enumerate(lines, 1):
        stats.lines = n
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as e:
            stats.errors += 1
            error(f"line {n}: not valid JSON: {e.msg} at column {e.colno}")
            continue
        try:
            event = parse_event(raw)
            decision = engine.evaluate(event)
        except EventError as e:
            stats.errors += 1
            eid = raw.get("id") if isinstance(raw, dict) else None
            error(f"line {n}" + (f" (event {eid})" if isinstance(eid, str) else "") + f": {e.message}")
            continue
        if decision.skipped:
            stats.skipped += 1
            continue
        stats.decisions += 1
        stats.verdicts[decision.verdict] = stats.verdicts.get(decision.verdict, 0) + 1
        emit(decision.to_dict())
        if decision.freeze is not None:
            stats.freezes += 1
            emit(decision.freeze.to_dict())
    return stats
