"""The detection engine: rules as code over per-account behavioural profiles.

Public API (imported lazily so ``sentinel.config`` can import the settings cheaply)::

    from sentinel.engine import Engine, Event, Decision, load_rules, RuleWatcher
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentinel.engine.engine import Engine
    from sentinel.engine.events import Decision, Event, EventError, Finding, Freeze, parse_event
    from sentinel.engine.loader import RuleIssue, RuleSetError, collect_rules, load_rules
    from sentinel.engine.rule_reload import RuleWatcher
    from sentinel.engine.rules import Rule, RuleSet
    from sentinel.engine.settings import EngineSettings

_EXPORTS = {
    "Engine": "sentinel.engine.engine",
    "Decision": "sentinel.engine.events",
    "Event": "sentinel.engine.events",
    "EventError": "sentinel.engine.events",
    "Finding": "sentinel.engine.events",
    "Freeze": "sentinel.engine.events",
    "parse_event": "sentinel.engine.events",
    "RuleIssue": "sentinel.engine.loader",
    "RuleSetError": "sentinel.engine.loader",
    "collect_rules": "sentinel.engine.loader",
    "load_rules": "sentinel.engine.loader",
    "Rule": "sentinel.engine.rules",
    "RuleSet": "sentinel.engine.rules",
    "EngineSettings": "sentinel.engine.settings",
    "RuleWatcher": "sentinel.engine.rule_reload",
}

__all__ = [
    "Decision",
    "Engine",
    "EngineSettings",
    "Event",
    "EventError",
    "Finding",
    "Freeze",
    "Rule",
    "RuleIssue",
    "RuleSet",
    "RuleSetError",
    "RuleWatcher",
    "collect_rules",
    "load_rules",
    "parse_event",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sentinel.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
