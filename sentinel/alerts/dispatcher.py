"""The delivery loop the daemon runs: groups due alerts into notifications and sends them.

``Dispatcher(outbox, receivers).run()`` runs until ``stop()``: one scheduler task turns due
groups into deliveries (woken at once by ``raise_alert`` in this process, otherwise every
``poll_interval``), and one worker per receiver sends that receiver's deliveries in order,
one at a time, respecting its rate (``min_interval``), ``Retry-After`` answers and an
exponential backoff with jitter after failures. A delivery is marked delivered only after
the receiver accepted it; a crash in between means it is sent again after restart with the
same idempotency key (Matrix transaction id, webhook-id, PagerDuty dedup key).

``tick()`` does one pass of everything without waiting for timers (tests use it).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from sentinel.alerts.model import Alert
from sentinel.alerts.outbox import AlertOutbox, Delivery
from sentinel.alerts.receivers import Outcome, Receiver
from sentinel.alerts.render import Message
from sentinel.logs import get_logger
from sentinel.redact import scrub
from sentinel.retry import backoff_delay

log = get_logger(__name__)

MAX_INLINE_WAIT = 2.0
"""Pauses up to this long (rate limits) happen inside a worker's pass; longer ones end it."""
MAX_FAILURES_PER_PASS = 3
MAX_RETRY_AFTER = 3600.0


class Dispatcher:
    def __init__(
        self,
        outbox: AlertOutbox,
        receivers: Mapping[str, Receiver],
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.outbox = outbox
        self.receivers = dict(receivers)
        self.settings = outbox.settings
        self.clock = clock or outbox.clock
        self.rng = rng or random.Random()
        self._own_client = client is None
        self.client = client or httpx.AsyncClient(
            timeout=float(self.settings.timeout), transport=transport, follow_redirects=False
        )
        self._not_before: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._stopping = False
        self._stopped = asyncio.Event()
        self._wake: asyncio.Event | None = None
        self._events: dict[str, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- one pass -------------------------------------------------------------------------
    def render(self, receiver: str, message: Message, alerts: Sequence[Alert]) -> dict[str, Any] | None:
        r = self.receivers.get(receiver)
        return None if r is None else r.render_for(message, alerts)

    def flush(self) -> int:
        now = self.clock()
        self.outbox.sweep_dead(now, self.receivers)
        return self.outbox.flush_due(self.render, now)

    async def tick(self) -> int:
        """Flush due groups, then send everything due for every receiver; return deliveries sent."""
        self.flush()
        results = await asyncio.gather(*(self.drain(name) for name in self.receivers))
        return sum(results)

    async def drain(self, name: str) -> int:
        """Send this receiver's due deliveries until none is due or it must wait; return how many succeeded."""
        receiver = self.receivers[name]
        sent = failed = 0
        while not self._stopping and failed < MAX_FAILURES_PER_PASS:
            now = self.clock()
            wait = self._not_before.get(name, 0.0) - now
            if wait > MAX_INLINE_WAIT:
                break
            delivery = self.outbox.next_due(name, now + max(wait, 0.0))
            if delivery is None:
                break
            if wait > 0 and not await self._pause(name, wait):
                break
            if await self.attempt(receiver, delivery):
                sent += 1
            else:
                failed += 1
        return sent

    async def attempt(self, receiver: Receiver, delivery: Delivery) -> bool:
        """One try at one delivery, with its bookkeeping; True when delivered."""
        try:
            outcome = await receiver.send(self.client, delivery.body, delivery.key)
        except Exception as e:  # a receiver bug must not kill the loop: count it as a failed attempt
            log.exception("alert.receiver_error", receiver=receiver.name, delivery_id=delivery.id)
            outcome = Outcome(False, error=scrub(f"{e.__class__.__name__}: {e}"))
        now = self.clock()
        name = receiver.name
        if outcome.delivered:
            self.outbox.mark_delivered(delivery, now)
            self._failures[name] = 0
            self._not_before[name] = now + receiver.settings.effective_min_interval
            return True
        if outcome.permanent:
            self.outbox.mark_dead(delivery, now, f"rejected: {outcome.error}")
            self._not_before[name] = now + receiver.settings.effective_min_interval
            return False
        if now - delivery.created_at >= float(self.settings.dead_after):
            self.outbox.mark_dead(
                delivery, now, f"still failing after {delivery.attempts + 1} attempts: {outcome.error}"
            )
            return False
        failures = self._failures.get(name, 0) + 1
        self._failures[name] = failures
        initial, cap = float(self.settings.backoff_initial), float(self.settings.backoff_max)
        delay = backoff_delay(delivery.attempts + 1, initial, cap, self.rng)
        # One failure after a success may be that message's bad luck: the others go on. Two in a
        # row mean the service is struggling: the whole receiver backs off.
        pause = backoff_delay(failures - 1, initial, cap, self.rng) if failures >= 2 else 0.0
        if outcome.retry_after is not None:
            # The service said when to come back: honour it (within reason) for this receiver.
            delay = pause = min(max(outcome.retry_after, 0.0), MAX_RETRY_AFTER)
        self.outbox.mark_retry(delivery, now, outcome.error, now + delay)
        self._not_before[name] = now + max(pause, receiver.settings.effective_min_interval)
        return False

    async def _pause(self, name: str, seconds: float) -> bool:
        """Sleep up to ``seconds`` (real time); False if stopping cut it short."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)
        return not self._stopping

    # -- the loop -------------------------------------------------------------------------
    def wake(self) -> None:
        """Ask the scheduler to look for due groups now (safe from any thread)."""
        loop, event = self._loop, self._wake
        if loop is None or event is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    async def start(self) -> None:
        """Start the scheduler and one worker per receiver as tasks of the running loop."""
        if self._tasks:
            return
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._stopped.clear()
        self._wake = asyncio.Event()
        self._events = {name: asyncio.Event() for name in self.receivers}
        self.outbox.add_listener(self.wake)
        self._tasks = [asyncio.create_task(self._scheduler(), name="alerts-scheduler")]
        self._tasks += [asyncio.create_task(self._worker(n), name=f"alerts-{n}") for n in self.receivers]
        log.info("alert.dispatcher_started", receivers=list(self.receivers), **self.outbox.counts())

    async def run(self) -> None:
        """Run until ``stop()`` is called (or the task is cancelled)."""
        await self.start()
        try:
            await asyncio.gather(*self._tasks)
        finally:
            await self.stop()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop after in-flight sends finish (at most ``grace`` seconds, then cancel them).

        A cancelled send stays pending in the outbox and is sent again on the next start.
        """
        self._stopping = True
        self.outbox.remove_listener(self.wake)
        self._stopped.set()
        if self._wake is not None:
            self._wake.set()
        for event in self._events.values():
            event.set()
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace)
            for t in late:
                t.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._tasks = []
        if self._own_client and not self.client.is_closed:
            await self.client.aclose()
        log.info("alert.dispatcher_stopped", **self.outbox.counts())

    async def _sleep_until(self, event: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(seconds, 0.01))

    async def _scheduler(self) -> None:
        assert self._wake is not None
        poll = float(self.settings.poll_interval)
        while not self._stopping:
            self._wake.clear()
            try:
                created = self.flush()
            except Exception:
                log.exception("alert.scheduler_error")
                created = 0
            if created:
                for event in self._events.values():
                    event.set()
            nxt = self.outbox.next_flush_at()
            delay = poll if nxt is None else min(poll, nxt - self.clock())
            await self._sleep_until(self._wake, delay)

    async def _worker(self, name: str) -> None:
        event = self._events[name]
        poll = float(self.settings.poll_interval)
        while not self._stopping:
            event.clear()
            try:
                await self.drain(name)
            except Exception:
                log.exception("alert.worker_error", receiver=name)
            now = self.clock()
            delay = poll
            nxt = self.outbox.next_attempt_at(name)
            if nxt is not None:
                delay = min(delay, max(nxt, self._not_before.get(name, 0.0)) - now)
            await self._sleep_until(event, delay)


async def send_test(receiver: Receiver, message: Message, client: httpx.AsyncClient | None = None) -> Outcome:
    """Send one message straight to ``receiver`` (``sentinel alerts test``), bypassing the outbox."""
    owned = client is None
    c = client or httpx.AsyncClient(timeout=10.0)
    try:
        key = f"test-{int(time.time() * 1000)}"
        return await receiver.send(c, receiver.render(message), key)
    finally:
        if owned:
            await c.aclose()
