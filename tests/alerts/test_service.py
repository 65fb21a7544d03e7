"""The daemon's alerts service: app.alert is durable and delivered; bad receivers are reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentinel.alerts.service import AlertService
from sentinel.config import Config, parse_config
from sentinel.metrics import Metrics
from sentinel.store import Store
from tests.alerts.httpreceiver import HttpReceiver
from tests.waiting import wait_for


@dataclass
class FakeApp:
    """The parts of ``sentinel.daemon.App`` the alerts service uses."""

    config: Config
    store: Store
    alert: Any = None
    errors: list[tuple[str, str]] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)

    def record_error(self, where: str, message: str) -> None:
        self.errors.append((where, message))


async def test_service_delivers_app_alerts_and_reports_unavailable_receivers(
    store: Store, http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    config = parse_config(
        {
            "alerts": {
                "group_wait": "0s",
                "poll_interval": "0.2s",
                "receivers": {
                    "chat": {"type": "mattermost", "url": f"{http_receiver.url}/mm"},
                    "broken": {"type": "slack", "url_file": str(tmp_path / "missing")},
                },
            }
        }
    )
    app = FakeApp(config, store)
    service = AlertService(environ={})
    await service.start(app)
    try:
        assert app.alert is not None
        app.alert(kind="vault_unreachable", severity="high", summary="Vault unreachable: connection refused")
        (req,) = await wait_for(lambda: http_receiver.accepted("/mm"), what="the chat message")
        assert "[ERROR] Vault unreachable: Vault unreachable: connection refused" in req.json()["text"]
        status = service.status()
        assert status["receivers"] == ["chat"] and "broken" in status["unavailable"]
        assert app.errors and app.errors[0][0] == "alerts" and "url_file" in app.errors[0][1]
        text = app.metrics.render().decode()
        assert 'sentinel_alert_events_total{event="deliveries_succeeded",receiver="chat"}' in text
        assert 'sentinel_alert_outbox{state="delivered"} ' in text
        assert 'sentinel_alert_outbox{state="dead"} 0.0' in text
        await service.reload(app)
        assert service.status()["delivered"] >= 1
    finally:
        await service.stop()
    assert service.dispatcher is None
