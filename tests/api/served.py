"""The API served by a real uvicorn server on loopback, in its own thread and event loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from sentinel.api.app import create_app
from sentinel.api.service import ServerHandle, bind
from sentinel.config import ApiSettings
from sentinel.store import Store
from tests.api.conftest import World, build_deps


class ServedApi:
    """``with ServedApi(world, tmp) as api:`` ``api.handle.url`` serves the app (``wrap``: an ASGI
    layer put around it, e.g. to observe what the server hands the app; ``deps``: overrides
    of ``build_deps``)."""

    def __init__(
        self, world: World, tmp: Path, settings: ApiSettings | None = None, wrap: Any = None, **deps: Any
    ) -> None:
        self.settings = settings or ApiSettings()
        self.store = Store(tmp / "served.sqlite3")
        self.deps, *_ = build_deps(world, self.store, **deps)
        self.loop = asyncio.new_event_loop()
        app: Any = create_app(self.deps, self.settings.max_body_bytes, self.settings.secure_cookies)
        self.app = app
        self.handle = ServerHandle(wrap(app) if wrap else app, bind("127.0.0.1", 0), self.settings)
        self.host, self.port = self.handle.sock.getsockname()[:2]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ServedApi:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.handle.start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.app.state.console.aclose(), self.loop).result(10)
        asyncio.run_coroutine_threadsafe(self.handle.stop(), self.loop).result(10)
        assert self.deps.aclose is not None
        asyncio.run_coroutine_threadsafe(self.deps.aclose(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.store.close()

    def connections(self) -> int:
        """How many connections the server holds open now."""
        return len(self.handle.server.server_state.connections)
