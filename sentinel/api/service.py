"""The daemon service that serves the API with uvicorn in the daemon's own event loop.

uvicorn's ``Server`` normally installs SIGINT/SIGTERM handlers; here the daemon owns the
signals (it drains every service in order), so the server runs without them and stops
when the daemon calls ``stop()``: no new connections, in-flight requests finish.

Connection limits are uvicorn's own (``[api] idle_timeout`` is its keep-alive timeout,
``max_connections`` its concurrency limit, ``max_header_bytes`` h11's incomplete-event
size); uvicorn has no timeout for a request still arriving, so ``GuardedH11`` adds one
(``[api] read_timeout``): a connection that opens and sends nothing, or sends part of a
request's headers or body, is closed when the time is up.

Forwarded headers are believed only from ``[api] trusted_proxies`` (uvicorn's own default
trusts any process on loopback). Every served request passes ``HostGuard`` first (``[api] allowed_hosts``, DNS rebinding);
in-process callers of the app (the console's own API calls) do not go through the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from sentinel.api.app import create_app
from sentinel.api.deps import Deps
from sentinel.api.hosts import AllowedHosts, HostGuard
from sentinel.config import ApiSettings
from sentinel.errors import ConfigError, SentinelError
from sentinel.logs import get_logger
from sentinel.watcher.ledger import PublishedLedger

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from sentinel.daemon import App

log = get_logger("sentinel.api")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the daemon handles signals


class _Config(uvicorn.Config):
    read_timeout: float = ApiSettings.read_timeout


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request does not arrive in time.

    The clock starts when the connection opens, or when the first byte of a further request
    arrives on a kept-alive one (uvicorn's keep-alive timeout covers the wait before it),
    and stops once the whole request is in; more bytes do not restart it.
    """

    read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
            self._arm()
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self.read_timer is None and not self.transport.is_closing():
            timeout = self.config.read_timeout if isinstance(self.config, _Config) else _Config.read_timeout
            self.read_timer = self.loop.call_later(timeout, self._expired)

    def _disarm(self) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None

    def _expired(self) -> None:
        self.read_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it small responses wait ~40 ms for the peer's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ConfigError(
            f"config key 'api.host'/'api.port': cannot listen on {host}:{port}: {e.strerror}"
        ) from None
    sock.set_inheritable(True)
    return sock


class ServerHandle:
    """A uvicorn server for one ASGI app on an already bound socket, in the running loop."""

    def __init__(self, asgi: Any, sock: socket.socket, settings: ApiSettings | None = None) -> None:
        self.sock = sock
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        limits = settings or ApiSettings()
        config = _Config(
            HostGuard(asgi, AllowedHosts.of(limits.hosts)),
            http=GuardedH11,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=5,
            timeout_keep_alive=math.ceil(limits.idle_timeout),
            limit_concurrency=limits.max_connections,
            h11_max_incomplete_event_size=limits.max_header_bytes,
            proxy_headers=bool(limits.trusted_proxies),
            forwarded_allow_ips=list(limits.trusted_proxies),
        )
        config.read_timeout = float(limits.read_timeout)
        self.server = _Server(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 10.0) -> None:
        self.task = asyncio.get_running_loop().create_task(self.server.serve(sockets=[self.sock]))
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.server.started:
            if self.task.done():
                self.task.result()
                raise ConfigError(f"the API server on {self.url} stopped while starting")
            if asyncio.get_running_loop().time() > deadline:
                raise ConfigError(f"the API server on {self.url} did not start within {timeout} s")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task
            self.task = None
        self.sock.close()


class ApiService:
    name = "api"

    def __init__(self, deps: Callable[[App], Deps] | None = None) -> None:
        self._deps_factory = deps
        self.deps: Deps | None = None
        self.asgi: Starlette | None = None
        self.handle: ServerHandle | None = None
        self.app: App | None = None
        self.sweeper: asyncio.Task[None] | None = None

    async def start(self, app: App) -> None:
        from sentinel.api.wiring import build_deps, engine_for, register_metrics

        self.app = app
        self.deps = (self._deps_factory or build_deps)(app)
        engine_for(app)
        register_metrics(app)
        settings = app.config.api
        self.asgi = create_app(self.deps, settings.max_body_bytes, settings.secure_cookies)
        self.handle = ServerHandle(self.asgi, bind(settings.host, settings.port), settings)
        await self.handle.start()
        self.sweeper = asyncio.create_task(self.asgi.state.console.expire_sessions(), name="console-sessions")
        log.info("api.listening", url=self.handle.url)

    async def stop(self) -> None:
        if self.sweeper is not None:
            self.sweeper.cancel()
            await asyncio.gather(self.sweeper, return_exceptions=True)
            self.sweeper = None
        if self.asgi is not None:
            # every console session ends (its live streams close; tokens it obtained are revoked)
            await self.asgi.state.console.aclose()
        if self.handle is not None:
            await self.handle.stop()
            self.handle = None
        self.flush_ledgers()
        if self.deps is not None and self.deps.aclose is not None:
            await self.deps.aclose()

    def flush_ledgers(self) -> None:
        """Write the published ledger's queued rows (gate and broker records come only from here)."""
        guard = self.app.extras.get("guard") if self.app is not None else None
        for ledger in (self.deps.ledger if self.deps else None, getattr(guard, "ledger", None)):
            if isinstance(ledger, PublishedLedger):
                try:
                    ledger.flush()
                except SentinelError as e:
                    log.error("api.ledger_flush_failed", error=e.message)

    async def reload(self, app: App) -> None:
        """New inventory and rules for the engine the API built; forget cached decisions."""
        if self.deps is not None:
            settings, authz = app.config.api, self.deps.authorizer
            authz.cache_seconds = float(settings.capability_cache)
            authz.invalid_seconds = float(settings.invalid_token_cache)
            if authz.throttle is not None:
                authz.throttle.burst, authz.throttle.rate = (
                    settings.failed_auth_burst,
                    settings.failed_auth_rate,
                )
            authz.clear()
        engine = app.extras.get("engine")
        if engine is not None and app.extras.get("engine_owner") == "api":
            from sentinel.engine.loader import load_rules

            engine.set_inventory(app.inventory)
            engine.set_rules(load_rules(app.config.sentinel.all_rules_dirs))

    async def vault_back(self, app: App) -> None:
        """Vault answers again: a token admitted from memory during the outage that Vault revoked
        meanwhile is named in a critical alert with what it did (``Authorizer.review_grace``)."""
        if self.deps is None:
            return
        for found in await self.deps.authorizer.review_grace():
            app.raise_alert(
                "authz_grace_revoked",
                "critical",
                f"{found['actor']}'s token, admitted on Vault's remembered answers during its outage "
                f"({found['allowed']} allowed, {found['denied']} denied), was revoked meanwhile: review "
                "what it did (audit entries marked authz grace)",
                details={k: v for k, v in found.items() if k != "actor"} | {"actor": found["actor"]},
            )

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.handle.url if self.handle else None}
        if self.deps is not None:
            out["vault_calls"] = self.deps.authorizer.vault_calls
        return out
