"""The services a full daemon runs, in start order (stopped in reverse)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentinel.daemon import App, Service


def build_services(app: App) -> Sequence[Service]:
    from sentinel.alerts.service import AlertService
    from sentinel.creds.service import RotationService
    from sentinel.post_guard import Guard
    from sentinel.response.service import ResponseService

    services: list[Service] = [AlertService(), Guard(), RotationService(), ResponseService()]
    if app.config.watcher.enabled:
        from sentinel.watcher.service import WatcherService

        services.append(WatcherService())
        from sentinel.watcher.takeover_sources import TakeoverSources

        services.append(TakeoverSources())
    if app.config.api.enabled:
        from sentinel.api.service import ApiService

        services.append(ApiService())
    return services
