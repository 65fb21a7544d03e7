"""``sentinel run``: the asyncio service and its lifecycle.

In the spirit of uvicorn's ``Server``: start every service, tell systemd ``READY=1``,
then tick once a second (watchdog, Vault token renewal, status heartbeat) until SIGTERM
or SIGINT, then drain: ``STOPPING=1``, stop services in reverse order with a deadline,
close the store. SIGHUP reloads config, inventory and rules; a bad reload keeps the old
ones in force, logs the error and raises an alert.

Vault being down does not stop the daemon: the gate keeps checking posts from what is in
memory and the store. A monitor probes Vault every ``[vault] health_interval`` (bounded by
``health_timeout``, from the event loop: ``sentinel.vault.health``); on a change it updates
``/readyz``, ``sentinel_vault_up`` and the status, raises the ``vault_unreachable`` alert
(resolved when Vault is usable again), and on recovery resumes the freeze steps that
waited for Vault. ``sentinel_loop_lag_seconds`` says how late the event loop runs.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sentinel import __version__
from sentinel.audit import AuditTrail
from sentinel.audit_keys import audit_keystore
from sentinel.config import Config
from sentinel.errors import AuditError, ConfigError, SentinelError, VaultError
from sentinel.files import private_dir
from sentinel.inventory import Inventory, load_inventory
from sentinel.logs import Recurring, get_logger
from sentinel.metrics import LOOP_LAG, Metrics
from sentinel.platforms.health import HEALTH
from sentinel.sdnotify import Notifier
from sentinel.store import Store
from sentinel.vault.auth import TokenKeeper
from sentinel.vault.client import VaultClient
from sentinel.vault.health import VaultHealth, probe_for

log = get_logger("sentinel.daemon")
STATUS_KEY = "daemon.status"
HEARTBEAT_SECONDS = 5.0
SETTLE_SECONDS = 300.0
VAULT_ALERT_KEY = "vault:unusable"
STORE_ALERT_KEY = "store:unwritable"
STORE_BUSY_SECONDS = 0.5
"""How long one write of the daemon waits for a lock another process holds (then fails)."""
LAG_TICK = 0.25
LAG_WINDOW = 5.0


def settle_heap() -> None:
    """Collect garbage, then move the survivors out of the collector's sight.

    The engine keeps a lot of long-lived state (baselines, windows); a full collection
    walking all of it paused the event loop for tens of milliseconds, a tail the gate's
    p99 felt. Frozen objects are still freed by reference counting; only cyclic garbage
    made of objects frozen earlier waits for the next settle (``gc.unfreeze`` first).
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class HeapPolicy:
    """The daemon's garbage-collector policy: no full collection of the whole heap on the way.

    At start: ``settle_heap``. Then every ``freeze_every`` seconds a collection of the young
    generations (only what was made since the last freeze: about a millisecond) and
    ``gc.freeze()``, which moves what survived out of the collector's sight. The young
    collection matters: freezing without it froze every request's reference cycles that
    were garbage already (an httpx response and its stream, a retry's state), tens of
    thousands of objects a minute kept until the next settle.
    Without it every automatic generation-2 collection walked everything the engine
    learned, a pause that grew with its state (50-80 ms within a minute at 500 posts/s).
    With it such a collection would only walk the last second's survivors, and is put off
    (``gen2_threshold`` generation-1 collections instead of Python's 10; under a burst one
    could still walk tens of thousands of objects): cyclic garbage among the survivors
    waits for the settle. Every ``settle_every`` seconds a full ``settle_heap`` frees
    cyclic garbage that was frozen while still alive (one pause the size of the heap,
    rare). ``run()`` is the task, ``stop()`` restores Python's thresholds; the API
    benchmark runs the same policy.
    """

    def __init__(
        self, freeze_every: float = 1.0, settle_every: float = SETTLE_SECONDS, gen2_threshold: int = 1000
    ) -> None:
        self.freeze_every = freeze_every
        self.settle_every = settle_every
        self.gen2_threshold = gen2_threshold
        self.freezes = 0
        self.settles = 0
        self._thresholds: tuple[int, int, int] | None = None

    def start(self) -> None:
        if self._thresholds is None:
            self._thresholds = gc.get_threshold()
            gc.set_threshold(self._thresholds[0], self._thresholds[1], self.gen2_threshold)
        settle_heap()
        self.settles += 1

    def stop(self) -> None:
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None

    async def run(self) -> None:
        last_settle = time.monotonic()
        while True:
            await asyncio.sleep(self.freeze_every)
            now = time.monotonic()
            if now - last_settle >= self.settle_every:
                last_settle = now
                settle_heap()
                self.settles += 1
            else:
                self.freeze()

    def freeze(self) -> None:
        """Free the garbage made since the last freeze, then freeze what survived."""
        gc.collect(1)
        gc.freeze()
        self.freezes += 1


def utcnow() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class App:
    """What the running daemon's services share."""

    config: Config
    inventory: Inventory
    store: Store
    notifier: Notifier
    vault: VaultClient | None = None
    audit: AuditTrail | None = None
    vault_ok: bool = False
    vault_error: str | None = None
    vault_state: str = "unknown"
    vault_since: str = field(default_factory=utcnow)
    store_ok: bool = True
    store_error: str | None = None
    store_since: str = field(default_factory=utcnow)
    started: str = field(default_factory=utcnow)
    errors: deque[dict[str, str]] = field(default_factory=lambda: deque(maxlen=20))
    services: list[Service] = field(default_factory=list)
    alert: Callable[..., None] | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    """The daemon's one metrics registry (``GET /metrics``); services give it their state."""

    def record_error(self, where: str, message: str) -> None:
        self.errors.append({"ts": utcnow(), "where": where, "error": message})

    def raise_alert(self, kind: str, severity: str, summary: str, **details: Any) -> None:
        """Raise an alert through the alerts service when one is running; always log it."""
        log.warning("alert.raised", alert_kind=kind, severity=severity, summary=summary)
        if self.alert is not None:
            try:
                self.alert(kind=kind, severity=severity, summary=summary, **details)
            except Exception as e:  # an alert path failure must never stop the daemon
                log.error("alert.failed", alert_kind=kind, error=str(e))


class Service(Protocol):
    """A long-running part of the daemon (API server, watcher, alert dispatcher, ...)."""

    name: str

    async def start(self, app: App) -> None: ...
    async def stop(self) -> None: ...
    async def reload(self, app: App) -> None: ...
    def status(self) -> dict[str, Any]: ...


ServiceFactory = Callable[[App], Sequence[Service]]


def default_services(app: App) -> list[Service]:
    """The services a full daemon runs; components add themselves here."""
    from sentinel.services import build_services

    return list(build_services(app))


class Daemon:
    def __init__(
        self,
        load: Callable[[], Config],
        services: ServiceFactory = default_services,
        notifier: Notifier | None = None,
        drain_timeout: float = 10.0,
    ) -> None:
        self._load = load
        self._services_factory = services
        self.notifier = notifier or Notifier()
        self.drain_timeout = drain_timeout
        self.app: App | None = None
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._keeper: TokenKeeper | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._resumes: set[asyncio.Task[Any]] = set()
        self.loop_lag_max = 0.0
        self.loop_lag = 0.0
        """The worst lag in the last complete ``LAG_WINDOW`` (``sentinel_loop_lag_seconds``)."""
        self._break_glass_error = ""
        self.reloads = 0
        self.failed_reloads = 0
        self.heap = HeapPolicy()
        self._heap_task: asyncio.Task[None] | None = None
        self._seal_task: asyncio.Task[None] | None = None
        self._seal_at = 0.0
        self._sealing = Recurring(log, "audit.seal_deferred", "audit.seal_resumed")

    # -- control from signals or tests ----------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        self._reload.set()

    # -- lifecycle ------------------------------------------------------------------------
    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig, handler in (
            (signal.SIGTERM, self.request_stop),
            (signal.SIGINT, self.request_stop),
            (signal.SIGHUP, self.request_reload),
        ):
            try:
                loop.add_signal_handler(sig, handler)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        try:
            await self.startup()
            await self.main_loop()
        finally:
            await self.shutdown()
            for sig in installed:
                loop.remove_signal_handler(sig)
        return 0

    async def startup(self) -> None:
        config = self._load()
        inventory = load_inventory(config.sentinel.inventory)
        state_dir = config.sentinel.state_dir
        try:
            private_dir(state_dir, tighten=True)  # the daemon's alone, whatever the umask
        except OSError as e:
            raise ConfigError(f"config key 'sentinel.state_dir': {state_dir}: {e.strerror}") from None
        store = Store(config.sentinel.database, busy_timeout=STORE_BUSY_SECONDS)
        app = App(config=config, inventory=inventory, store=store, notifier=self.notifier)
        self.app = app
        app.metrics.read(LOOP_LAG, lambda: self.loop_lag)
        self.notifier.status("connecting to Vault")
        self._connect_vault()
        for service in self._services_factory(app):
            await service.start(app)
            app.services.append(service)
            log.info("service.started", service=service.name)
        self._heartbeat()
        self._audit("daemon.start", {"config": config.source, "version": __version__})
        self.heap.start()
        self._heap_task = asyncio.get_running_loop().create_task(self.heap.run())
        self._tasks = [
            asyncio.get_running_loop().create_task(self._watch_vault()),
            asyncio.get_running_loop().create_task(self._measure_lag()),
        ]
        summary = self._summary()
        self.notifier.ready(summary)
        log.info(
            "sentinel.ready",
            version=__version__,
            accounts=len(inventory),
            vault=config.vault.addr,
            vault_ok=app.vault_ok,
            config=config.source,
        )

    def _connect_vault(self) -> None:
        app = self.app
        assert app is not None
        try:
            if app.vault is None:
                app.vault = VaultClient.from_settings(app.config.vault)
            if app.audit is None:
                # entries are chained locally at once; sealing them (sign, checkpoint) waits
                # for Vault and runs on a timer (``_tick_audit``), never inside a request
                app.audit = AuditTrail(app.store, audit_keystore(app.config, app.vault), eager=False)
            app.vault.health()
            self._keeper = TokenKeeper(app.vault, app.config.vault)
            self._keeper.start()
            app.vault_ok, app.vault_error, app.vault_state = True, None, "ok"
            log.info("vault.connected", addr=app.config.vault.addr, token_ttl=self._keeper.ttl)
        except SentinelError as e:
            # The health monitor says what is wrong (and alerts); this only records the attempt.
            app.vault_ok, app.vault_error = False, e.message
            app.record_error("vault", e.message)
            log.error("vault.unavailable", error=e.message)

    async def main_loop(self) -> None:
        app = self.app
        assert app is not None
        interval = self.notifier.watchdog_interval
        tick = min(1.0, interval) if interval else 1.0
        last_beat = 0.0
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._wait_any(), timeout=tick)
            except TimeoutError:
                pass
            if self._stop.is_set():
                break
            if self._reload.is_set():
                self._reload.clear()
                await self.reload()
            self.notifier.watchdog()
            await self._tick_vault()
            self._tick_audit()
            self._tick_break_glass()
            now = time.monotonic()
            if now - last_beat >= HEARTBEAT_SECONDS:
                last_beat = now
                self._heartbeat()

    async def _wait_any(self) -> None:
        stop = asyncio.ensure_future(self._stop.wait())
        reload = asyncio.ensure_future(self._reload.wait())
        try:
            await asyncio.wait({stop, reload}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            reload.cancel()

    async def _tick_vault(self) -> None:
        """Renew Sentinel's token when due (in a worker thread: never on the loop)."""
        app = self.app
        assert app is not None
        keeper = self._keeper
        if not app.vault_ok or keeper is None:
            return
        if keeper.next_renewal is None or time.monotonic() < keeper.next_renewal:
            return
        try:
            if await asyncio.to_thread(keeper.tick):
                log.info("vault.token_renewed", ttl=keeper.ttl)
        except VaultError as e:
            # The health monitor reports what this means (revoked, expired, unreachable).
            app.record_error("vault", e.message)
            log.error("vault.renewal_failed", error=e.message)

    def _tick_break_glass(self) -> None:
        """Let the responder finish a break-glass lockdown as soon as Vault is usable."""
        from sentinel.response import breakglass

        app = self.app
        assert app is not None
        try:
            if app.vault_ok and breakglass.take_pending(app.store):
                self._resume_waiting()
        except Exception as e:  # a tick must never end the daemon
            message = e.message if isinstance(e, SentinelError) else f"{e.__class__.__name__}: {e}"
            if message != self._break_glass_error:
                app.record_error("break-glass", message)
                log.error("break_glass.pending", error=message)
            self._break_glass_error = message

    # -- Vault health -----------------------------------------------------------------------
    async def _watch_vault(self) -> None:
        app = self.app
        assert app is not None
        v = app.config.vault
        probe = probe_for(v, lambda: app.vault.token if app.vault is not None else None)
        try:
            while True:
                try:
                    await self.apply_vault_health(await probe.probe())
                except Exception as e:  # the monitor must outlive any one bad probe
                    log.error("vault.probe_failed", error=f"{e.__class__.__name__}: {e}")
                await asyncio.sleep(float(app.config.vault.health_interval))
        finally:
            await probe.aclose()

    async def apply_vault_health(self, health: VaultHealth) -> None:
        """Make readiness, status, metrics and the alert follow one probe's verdict."""
        app = self.app
        assert app is not None
        was_ok, was_state = app.vault_ok, app.vault_state
        if health.ok and (self._keeper is None or app.audit is None):
            # Vault answers again but was never fully connected (down at start): connect now.
            await asyncio.to_thread(self._connect_vault)
            if not app.vault_ok:
                health = VaultHealth("error", app.vault_error or "Vault connection failed")
        if health.ok:
            app.vault_ok, app.vault_error, app.vault_state = True, None, "ok"
            if was_ok:
                return
            app.vault_since = utcnow()
            log.warning("vault.recovered", previous=was_state)
            if was_state not in ("ok", "unknown"):
                app.raise_alert(
                    "vault_unreachable",
                    "info",
                    f"Vault usable again (was: {was_state})",
                    dedup_key=VAULT_ALERT_KEY,
                    resolved=True,
                )
            self._resume_waiting()
            self._heartbeat()
            return
        app.vault_ok, app.vault_error, app.vault_state = False, health.message, health.state
        if health.state == was_state:
            return
        app.vault_since = utcnow()
        app.record_error("vault", health.message)
        log.error("vault.unusable", state=health.state, error=health.message)
        app.raise_alert(
            "vault_unreachable",
            "critical",
            f"Vault unusable ({health.state}): {health.message}",
            dedup_key=VAULT_ALERT_KEY,
            details={"state": health.state, "vault": app.config.vault.addr},
        )
        self._heartbeat()

    def _resume_waiting(self) -> None:
        """Vault is back: finish the freeze steps that waited for it (lockdowns, automatic
        freezes), and let services that need Vault catch up (the watcher adds its accounts)."""
        app = self.app
        assert app is not None
        responder = app.extras.get("responder")
        resume = getattr(responder, "resume", None)
        pending = [resume()] if resume is not None else []
        for service in app.services:
            vault_back = getattr(service, "vault_back", None)
            if vault_back is not None:
                pending.append(vault_back(app))
        for coro in pending:
            task = asyncio.get_running_loop().create_task(coro)
            self._resumes.add(task)
            task.add_done_callback(self._resumes.discard)

    async def _measure_lag(self) -> None:
        """How late a short timer fires: what every request and probe waits on top of its own work."""
        worst, since = 0.0, time.monotonic()
        while True:
            t0 = time.monotonic()
            await asyncio.sleep(LAG_TICK)
            now = time.monotonic()
            lag = max(0.0, now - t0 - LAG_TICK)
            worst = max(worst, lag)
            self.loop_lag_max = max(self.loop_lag_max, lag)
            if now - since >= LAG_WINDOW:
                self.loop_lag = worst
                worst, since = lag, now

    def _tick_audit(self) -> None:
        """Seal the audit trail (sign pending entries, checkpoint the head into Vault) at most
        ``checkpoint_interval`` after an entry was written, in a worker thread."""
        app = self.app
        assert app is not None
        now = time.monotonic()
        if app.audit is None or not app.vault_ok or now < self._seal_at:
            return
        if self._seal_task is not None and not self._seal_task.done():
            return
        self._seal_at = now + app.config.audit.checkpoint_interval
        if app.audit.unsealed():
            self._seal_task = asyncio.get_running_loop().create_task(self._seal_audit())

    async def _seal_audit(self) -> None:
        app = self.app
        if app is None or app.audit is None:
            return
        try:
            await asyncio.to_thread(app.audit.seal)
        except AuditError as e:  # Vault's checkpoint contradicts the local trail
            app.record_error("audit", e.message)
            log.critical("audit.checkpoint_conflict", error=e.message)
            app.raise_alert("audit_tampered", "critical", e.message)
        except SentinelError as e:  # Vault unreachable: entries stay chained, sealed later
            self._sealing.failed(e.message)
        else:
            self._sealing.ok()

    async def reload(self) -> bool:
        """Reload config and inventory (and let services reload rules); keep the old on error."""
        app = self.app
        assert app is not None
        self.notifier.reloading()
        log.info("sentinel.reloading")
        try:
            config = self._load()
            inventory = load_inventory(config.sentinel.inventory)
        except SentinelError as e:
            self.failed_reloads += 1
            app.record_error("reload", e.message)
            log.error("sentinel.reload_failed", error=e.message, kept="previous configuration")
            app.raise_alert(
                "config_error", "high", f"Reload failed, previous configuration kept: {e.message}"
            )
            self.notifier.ready(self._summary())
            return False
        app.config, app.inventory = config, inventory
        for service in app.services:
            try:
                await service.reload(app)
            except SentinelError as e:
                app.record_error(service.name, e.message)
                log.error("service.reload_failed", service=service.name, error=e.message)
        self.reloads += 1
        log.info("sentinel.reloaded", accounts=len(inventory), config=config.source)
        self.notifier.ready(self._summary())
        return True

    async def shutdown(self) -> None:
        app = self.app
        self.notifier.stopping()
        log.info("sentinel.stopping")
        if self._heap_task is not None:
            self._heap_task.cancel()
            await asyncio.wait({self._heap_task})
            self._heap_task = None
            self.heap.stop()
        for task in [*self._tasks, *self._resumes]:
            task.cancel()
        if self._tasks or self._resumes:
            await asyncio.wait({*self._tasks, *self._resumes})
        self._tasks = []
        if app is None:
            return
        for service in reversed(app.services):
            try:
                await asyncio.wait_for(service.stop(), timeout=self.drain_timeout)
                log.info("service.stopped", service=service.name)
            except TimeoutError:
                log.error("service.stop_timeout", service=service.name, timeout=self.drain_timeout)
            except Exception as e:
                log.error("service.stop_failed", service=service.name, error=str(e))
        app.services.clear()
        self._audit("daemon.stop", {})
        if self._seal_task is not None:
            await asyncio.wait({self._seal_task})
        await self._seal_audit()
        self._heartbeat(stopped=True)
        app.store.close()
        if app.vault is not None:
            app.vault.close()
        self.notifier.close()
        log.info("sentinel.stopped")

    def _audit(self, action: str, details: dict[str, Any]) -> None:
        app = self.app
        if app is None or app.audit is None:
            return
        if not app.audit.record("sentinel", action, "daemon", details):
            app.record_error("audit", f"the {action} entry is held until the store can be written")

    # -- status ---------------------------------------------------------------------------
    def _summary(self) -> str:
        app = self.app
        assert app is not None
        vault = "Vault ok" if app.vault_ok else "Vault UNAVAILABLE"
        return f"{len(app.inventory)} accounts, {vault}, {len(app.services)} services"

    def status(self, stopped: bool = False) -> dict[str, Any]:
        app = self.app
        assert app is not None
        return {
            "pid": os.getpid(),
            "version": __version__,
            "state": "stopped" if stopped else "running",
            "started": app.started,
            "heartbeat": utcnow(),
            "config": app.config.source,
            "accounts": len(app.inventory),
            "vault": {
                "addr": app.config.vault.addr,
                "ok": app.vault_ok,
                "state": app.vault_state,
                "since": app.vault_since,
                "error": app.vault_error,
            },
            "loop_lag_max": round(self.loop_lag_max, 4),
            "store": {"ok": app.store_ok, "since": app.store_since, "error": app.store_error},
            "platforms": HEALTH.snapshot(),
            "token_ttl": self._keeper.ttl if self._keeper else None,
            "services": {s.name: s.status() for s in app.services},
            "reloads": self.reloads,
            "failed_reloads": self.failed_reloads,
            "errors": list(app.errors),
        }

    def _heartbeat(self, stopped: bool = False) -> None:
        """Write the status; the write is also the daemon's probe of the state store."""
        app = self.app
        if app is None:
            return
        try:
            app.store.put(STATUS_KEY, json.dumps(self.status(stopped=stopped)))
        except SentinelError as e:
            if app.store_ok:  # said once per outage, not every heartbeat
                app.store_ok, app.store_error, app.store_since = False, e.message, utcnow()
                app.record_error("store", e.message)
                log.error("store.unwritable", error=e.message)
                app.raise_alert(
                    "store_unwritable",
                    "critical",
                    f"State store unwritable (the gate keeps deciding from memory): {e.message}",
                    dedup_key=STORE_ALERT_KEY,
                )
            return
        if not app.store_ok:
            since, error = app.store_since, app.store_error
            app.store_ok, app.store_error, app.store_since = True, None, utcnow()
            log.warning("store.recovered", since=since, error=error)
            if app.audit is not None:  # what was audited meanwhile, in order
                app.audit.flush_held()
            # The alert raised when it failed could not be written: say it now, resolved.
            app.raise_alert(
                "store_unwritable",
                "warning",
                f"State store was unwritable from {since} to {app.store_since}: {error}",
                dedup_key=STORE_ALERT_KEY,
                details={"since": since, "until": app.store_since},
            )
            app.raise_alert(
                "store_unwritable",
                "info",
                "State store writable again",
                dedup_key=STORE_ALERT_KEY,
                resolved=True,
            )
            self._heartbeat(stopped=stopped)
