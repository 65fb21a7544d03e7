"""Replay: JSON-lines events through the engine, JSON-lines decisions out.

Posts, account events and Vault audit entries may be mixed in one stream (in time order);
each goes through ``Intake.feed`` exactly as the daemon's sources hand it over. The caller
supplies the lines and two callbacks (one per output record, one per problem), so this
module does no I/O of its own; ``sentinel replay`` wires it to files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sentinel.engine.engine import Engine
from sentinel.engine.events import Decision, EventError
from sentinel.engine.intake import Intake, Outcome


@dataclass
class ReplayStats:
    """What a replay read and decided."""

    lines: int = 0
    decisions: int = 0
    skipped: int = 0
    errors: int = 0
    refused: int = 0
    """Lines ``refuse`` kept from the engine (what the daemon refuses before deciding)."""
    freezes: int = 0
    contains: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)


def replay(
    lines: Iterable[str],
    engine: Engine,
    emit: Callable[[dict[str, Any]], None],
    error: Callable[[str], None],
    intake: Intake | None = None,
    refuse: Callable[[dict[str, Any]], str] | None = None,
) -> ReplayStats:
    """Feed JSON lines through the engine in order: every decision, freeze and containment goes
    to ``emit`` as a replay line, every bad line to ``error`` (naming the line); the engine
    keeps learning, exactly as the daemon would on the same events. ``refuse(raw)`` says why
    the daemon would refuse an event before its engine sees it (the gate's length limit),
    ``""`` when it would not: such a line goes to ``error`` and is not judged."""
    intake = intake or Intake(engine)
    stats = ReplayStats()

    def out(outcomes: Iterable[Outcome]) -> None:
        for o in outcomes:
            if isinstance(o, Decision) and o.skipped:
                stats.skipped += 1
                continue
            stats.decisions += 1
            stats.verdicts[o.verdict] = stats.verdicts.get(o.verdict, 0) + 1
            emit(o.to_dict())
            freezes = (o.freeze,) if isinstance(o, Decision) else o.freezes
            for fz in freezes:
                if fz is not None:
                    stats.freezes += 1
                    emit(fz.to_dict())
            if not isinstance(o, Decision) and o.contain is not None:
                stats.contains += 1
                emit(o.contain.to_dict())

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
        eid = raw.get("id") if isinstance(raw, dict) else None
        where = f"line {n}" + (f" (event {eid})" if isinstance(eid, str) else "")
        why = refuse(raw) if refuse is not None and isinstance(raw, dict) else ""
        if why:
            stats.refused += 1
            error(f"{where}: {why}")
            continue
        try:
            outcomes = intake.feed(raw)
        except EventError as e:
            stats.errors += 1
            error(f"{where}: {e.message}")
            continue
        out(outcomes)
    out(intake.flush())
    return stats
