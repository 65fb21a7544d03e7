"""The daemon's alerts service: the outbox sink for everyone, and the delivery loop.

On start it points ``app.alert`` at the outbox (so the guard, responder and Vault keeper
raise durable alerts), builds the receivers, starts the ``Dispatcher`` and gives the
daemon's metrics the outbox sizes (read at each scrape). A receiver whose secret cannot
be read is left out (logged and shown in ``sentinel status``); its alerts wait in the
outbox until a reload brings it back, or go to the dead-letter list after ``dead_after``.
``reload`` rebuilds everything from the new config; ``stop`` lets in-flight sends finish.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from sentinel import metrics
from sentinel.alerts.bridge import sink_for
from sentinel.alerts.dispatcher import Dispatcher
from sentinel.alerts.outbox import AlertOutbox
from sentinel.alerts.receivers import Receiver, build_receiver
from sentinel.errors import SentinelError
from sentinel.logs import get_logger

log = get_logger(__name__)


class AlertService:
    name = "alerts"

    def __init__(
        self, environ: Mapping[str, str] | None = None, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.environ = environ
        self.transport = transport
        self.outbox: AlertOutbox | None = None
        self.dispatcher: Dispatcher | None = None
        self.unavailable: dict[str, str] = {}

    def _receivers(self, app: Any) -> dict[str, Receiver]:
        built: dict[str, Receiver] = {}
        self.unavailable = {}
        for name, settings in app.config.alerts.receivers.items():
            try:
                built[name] = build_receiver(name, settings, self.environ)
            except SentinelError as e:
                self.unavailable[name] = e.message
                log.error("alert.receiver_unavailable", receiver=name, error=e.message)
                app.record_error("alerts", e.message)
        return built

    async def start(self, app: Any) -> None:
        self.outbox = AlertOutbox.from_config(app.store, app.config)
        app.alert = sink_for(self.outbox)
        self.dispatcher = Dispatcher(self.outbox, self._receivers(app), transport=self.transport)
        await self.dispatcher.start()
        app.metrics.read(metrics.ALERT_OUTBOX, self._outbox_sizes)

    async def stop(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.stop()
            self.dispatcher = None

    async def reload(self, app: Any) -> None:
        await self.stop()
        await self.start(app)

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "receivers": sorted(self.dispatcher.receivers) if self.dispatcher else [],
            "unavailable": dict(self.unavailable),
        }
        if self.outbox is not None:
            out.update(self.outbox.counts())
        out["dead_lettered"] = int(metrics.counted(metrics.ALERT_EVENTS, event="deliveries_dead_lettered"))
        return out

    def _outbox_sizes(self) -> Mapping[str, int]:
        return self.outbox.counts() if self.outbox is not None else {}
