"""Alerts to chat and paging that are never lost.

The rest of Sentinel raises alerts through the outbox and the daemon runs the dispatcher::

    outbox = AlertOutbox.from_config(store, config)
    outbox.raise_alert(Alert(kind="freeze", summary="...", severity="critical", accounts=("brand-x",)))
    dispatcher = Dispatcher(outbox, build_receivers(config.alerts))
    await dispatcher.start()   # ... await dispatcher.stop()
    outbox.resolve(dedup_key)  # on unfreeze: resolved notice, PagerDuty incident resolved

See ``docs/alerts.md`` for receivers, routing, grouping and payload shapes.
"""

from __future__ import annotations

from sentinel.alerts.dispatcher import Dispatcher, send_test
from sentinel.alerts.model import Alert, Finding, Severity, Step
from sentinel.alerts.outbox import AlertOutbox, Delivery
from sentinel.alerts.receivers import Outcome, Receiver, build_receiver, build_receivers
from sentinel.alerts.settings import AlertsSettings, ReceiverSettings, RouteSettings
from sentinel.alerts.silences import Silence

__all__ = [
    "Alert",
    "AlertOutbox",
    "AlertsSettings",
    "Delivery",
    "Dispatcher",
    "Finding",
    "Outcome",
    "Receiver",
    "ReceiverSettings",
    "RouteSettings",
    "Severity",
    "Silence",
    "Step",
    "build_receiver",
    "build_receivers",
    "send_test",
]
