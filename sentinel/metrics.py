"""Sentinel's metrics, through ``prometheus_client``: every metric is declared here, once.

Two kinds:

- **Instruments** count what happens, where it happens: ``API_REQUESTS.labels(route=...,
  status=...).inc()``, ``VAULT_SECONDS.labels(operation=...).observe(s)``. They are the
  process's (module-level, like any ``prometheus_client`` metric) but registered in no
  registry of the library's: only a ``Metrics`` exports them.
- **State** (``StateMetric``) is read when Prometheus scrapes, not kept up to date by hand:
  Vault up, frozen accounts, platform health, loop lag, outbox depth. The component that
  knows the value gives a reader (``app.metrics.read(VAULT_UP, lambda: app.vault_ok)``);
  a metric nobody reads is not exported. A reader that raises costs only its own metric:
  the failure is logged once per metric and kind of error, and counted in
  ``sentinel_metrics_read_errors_total{metric}``.

``Metrics`` is the daemon's one ``CollectorRegistry`` (``App.metrics``; never the library's
global one, so each daemon or test has its own state readers) with the instruments, the
state, and the library's process and Python collectors. ``GET /metrics`` serves
``Metrics.render()`` as ``CONTENT_TYPE`` (the text format 0.0.4).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from sentinel.logs import get_logger

log = get_logger(__name__)

# Counters and histograms export their samples only (no ``*_created`` series): the names
# Prometheus rules and dashboards use are the whole exposition.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Latency buckets in seconds (the gate answers in milliseconds; Vault calls take longer)."""


def _counter(name: str, help: str, labels: tuple[str, ...] = ()) -> Counter:
    return Counter(name, help, labels, registry=None)


def _histogram(name: str, help: str, labels: tuple[str, ...] = ()) -> Histogram:
    return Histogram(name, help, labels, registry=None, buckets=BUCKETS)


# -- instruments: counted where it happens ---------------------------------------------------
API_REQUESTS = _counter(
    "sentinel_api_requests_total", "API requests by route and status", ("route", "status")
)
API_SECONDS = _histogram("sentinel_api_request_seconds", "API request latency by route", ("route",))
POSTS_CHECKED = _counter("sentinel_posts_checked_total", "Posts checked at the gate by verdict", ("verdict",))
POSTS_PUBLISHED = _counter("sentinel_posts_published_total", "Posts the broker published", ("account",))
AUTHZ_DECISIONS = _counter(
    "sentinel_api_authz_decisions_total",
    "Authorization decisions by capability and result",
    ("capability", "result"),
)
AUTHZ_GRACE = _counter(
    "sentinel_api_authz_grace_total",
    "Authorization while Vault could not answer: from remembered answers, or refused",
    ("result",),
)
TOKEN_REFUSALS = _counter(
    "sentinel_api_token_refusals_total",
    "Requests refused for their token without asking Vault: throttled (too many failed "
    "authentications from the address), cached_invalid (Vault said invalid moments ago)",
    ("reason",),
)
VAULT_SECONDS = _histogram(
    "sentinel_vault_request_seconds", "Latency of Vault calls made by Sentinel", ("operation",)
)
VAULT_AUDIT_ENTRIES = _counter("sentinel_vault_audit_entries_total", "Vault audit-log entries read")
VAULT_AUDIT_MALFORMED = _counter(
    "sentinel_vault_audit_malformed_total", "Vault audit-log lines that were not a JSON audit entry"
)
VAULT_AUDIT_SINK_FAILURES = _counter(
    "sentinel_vault_audit_sink_failures_total", "Vault audit-log entries the sink failed on (skipped)"
)
VAULT_AUDIT_ROTATIONS = _counter(
    "sentinel_vault_audit_rotations_total", "Vault audit-log rotations followed", ("how",)
)
TAKEOVER_EVENTS = _counter(
    "sentinel_takeover_events_total", "Account events and Vault audit entries handed to the guard", ("kind",)
)
ACCOUNT_SNAPSHOTS = _counter(
    "sentinel_account_snapshots_total", "Account-state snapshots taken", ("platform", "outcome")
)
ACCOUNT_CHANGES = _counter("sentinel_account_changes_total", "Account events from snapshot diffs", ("field",))
WATCHER_PUSHES = _counter(
    "sentinel_watcher_pushes_total",
    "Changes streams and webhooks reported for watched accounts",
    ("source", "kind"),
)
ROTATIONS = _counter(
    "sentinel_rotations_total",
    "Credential rotations by result (rotated, resumed, parked, ...) and kind",
    ("status", "kind"),
)
FREEZES = _counter(
    "sentinel_freezes_total", "Accounts frozen, by trigger (automatic, responder)", ("trigger",)
)
ALERT_EVENTS = _counter(
    "sentinel_alert_events_total",
    "Alert pipeline events by receiver (alerts_raised, deliveries_dead_lettered, ...; receiver '' when not per receiver)",
    ("event", "receiver"),
)
CONSOLE_REVOCATIONS = _counter(
    "sentinel_console_token_revocations_total",
    "Vault tokens the console obtained, revoked as their session ended, by outcome "
    "(revoked, invalid, refused, retried, gave_up)",
    ("outcome",),
)
BACKLOG_DROPS = _counter(
    "sentinel_backlog_dropped_total",
    "Items a full in-memory backlog (the store unwritable) dropped, by backlog (alert, audit) and severity",
    ("what", "severity"),
)
READ_ERRORS = _counter(
    "sentinel_metrics_read_errors_total",
    "State metrics whose reading failed at a scrape (left out)",
    ("metric",),
)

INSTRUMENTS: tuple[Counter | Histogram, ...] = (
    API_REQUESTS,
    API_SECONDS,
    POSTS_CHECKED,
    POSTS_PUBLISHED,
    AUTHZ_DECISIONS,
    AUTHZ_GRACE,
    TOKEN_REFUSALS,
    VAULT_SECONDS,
    VAULT_AUDIT_ENTRIES,
    VAULT_AUDIT_MALFORMED,
    VAULT_AUDIT_SINK_FAILURES,
    VAULT_AUDIT_ROTATIONS,
    TAKEOVER_EVENTS,
    ACCOUNT_SNAPSHOTS,
    ACCOUNT_CHANGES,
    WATCHER_PUSHES,
    ROTATIONS,
    FREEZES,
    ALERT_EVENTS,
    CONSOLE_REVOCATIONS,
    BACKLOG_DROPS,
    READ_ERRORS,
)


def counted(counter: Counter, **labels: str) -> float:
    """What ``counter`` counted for ``labels``, summed over the labels not given."""
    total = 0.0
    for family in counter.collect():
        for s in family.samples:
            if s.name.endswith("_total") and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


class _AlertPipelineAlias:
    """``sentinel_alert_pipeline_total{counter,receiver}``: ``ALERT_EVENTS`` under the name
    and label the status endpoint first exported them as (kept for existing queries)."""

    name = "sentinel_alert_pipeline"
    help = "Alert pipeline counters (raised, deliveries, ...)"

    def describe(self) -> Iterable[Metric]:
        return [CounterMetricFamily(self.name, self.help, labels=("counter", "receiver"))]

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(self.name, self.help, labels=("counter", "receiver"))
        for s in next(iter(ALERT_EVENTS.collect())).samples:
            if s.name.endswith("_total"):
                family.add_metric((s.labels["event"], s.labels["receiver"]), s.value)
        return [family]


# -- state: read at scrape -----------------------------------------------------------------------
@dataclass(frozen=True)
class StateMetric:
    """A gauge whose value is read from its owner at each scrape."""

    name: str
    help: str
    labels: tuple[str, ...] = ()


Value = float | bool
Reading = Value | Mapping[str, Value] | Mapping[tuple[str, ...], Value]
"""A reader's answer: the value, or for a labelled metric the value per label value(s)."""
Reader = Callable[[], Reading]

VAULT_UP = StateMetric("sentinel_vault_up", "Whether Sentinel reaches Vault")
STORE_UP = StateMetric("sentinel_store_up", "Whether the daemon can write its state store")
FROZEN_ACCOUNTS = StateMetric("sentinel_frozen_accounts", "Accounts frozen now")
LOOP_LAG = StateMetric(
    "sentinel_loop_lag_seconds", "How late the event loop ran a timer (worst in the last 5 s)"
)
ALERT_OUTBOX = StateMetric(
    "sentinel_alert_outbox", "Alert outbox size: pending, delivered, dead, waiting", ("state",)
)
PLATFORM_LAST_SUCCESS = StateMetric(
    "sentinel_platform_last_success_timestamp_seconds",
    "When a call to the platform last succeeded (Unix time; 0: never)",
    ("platform",),
)
PLATFORM_ERRORS = StateMetric(
    "sentinel_platform_consecutive_errors",
    "Calls to the platform that failed (after retries) since the last success",
    ("platform",),
)
PLATFORM_RATE_LIMIT_WAIT = StateMetric(
    "sentinel_platform_rate_limit_wait_seconds",
    "How much longer the platform asked Sentinel to wait (0: not rate-limited)",
    ("platform",),
)
STATE: tuple[StateMetric, ...] = (
    VAULT_UP,
    STORE_UP,
    FROZEN_ACCOUNTS,
    LOOP_LAG,
    ALERT_OUTBOX,
    PLATFORM_LAST_SUCCESS,
    PLATFORM_ERRORS,
    PLATFORM_RATE_LIMIT_WAIT,
)


def _family(metric: StateMetric, reading: Reading) -> GaugeMetricFamily:
    if not isinstance(reading, Mapping):
        if metric.labels:
            raise TypeError(f"takes labels ({', '.join(metric.labels)}), the reader gave one value")
        return GaugeMetricFamily(metric.name, metric.help, value=float(reading))
    family = GaugeMetricFamily(metric.name, metric.help, labels=metric.labels)
    for key, value in reading.items():
        values = (key,) if isinstance(key, str) else key
        if len(values) != len(metric.labels):
            raise TypeError(f"takes labels ({', '.join(metric.labels)}), the reader gave {values!r}")
        family.add_metric(values, float(value))
    return family


class StateCollector:
    """The ``StateMetric``s of one daemon, each read from its reader at every scrape."""

    def __init__(self) -> None:
        self._readers: dict[StateMetric, Reader] = {}
        self._lock = threading.Lock()
        self._told: set[tuple[str, str]] = set()

    def read(self, metric: StateMetric, reader: Reader) -> None:
        """Export ``metric`` from ``reader`` (replacing the one it had: a reloaded component)."""
        if metric not in STATE:
            raise ValueError(f"{metric.name} is not declared in sentinel.metrics.STATE")
        with self._lock:
            self._readers[metric] = reader

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(m.name, m.help, labels=m.labels) for m in STATE]

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            readers = sorted(self._readers.items(), key=lambda item: item[0].name)
        for metric, reader in readers:
            try:
                family = _family(metric, reader())
            except Exception as e:  # one broken reader must not cost the whole scrape
                self._failed(metric, e)
                continue
            yield family

    def _failed(self, metric: StateMetric, error: Exception) -> None:
        READ_ERRORS.labels(metric=metric.name).inc()
        kind = (metric.name, error.__class__.__name__)
        if kind not in self._told:  # the counter tells how often; the log says why, once
            self._told.add(kind)
            log.error("metrics.read_failed", metric=metric.name, error=f"{error.__class__.__name__}: {error}")


class Metrics:
    """The daemon's one registry: the instruments, its state readers, process and Python facts."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.state = StateCollector()
        # first: a reader that fails is counted in READ_ERRORS of the same scrape
        self.registry.register(self.state)
        for instrument in INSTRUMENTS:
            self.registry.register(instrument)
        self.registry.register(_AlertPipelineAlias())
        prometheus_client.ProcessCollector(registry=self.registry)
        prometheus_client.PlatformCollector(registry=self.registry)
        prometheus_client.GCCollector(registry=self.registry)

    def read(self, metric: StateMetric, reader: Reader) -> None:
        self.state.read(metric, reader)

    def render(self) -> bytes:
        """The exposition ``GET /metrics`` serves (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)
