"""Process-wide metrics in the Prometheus text exposition format, without a dependency.

Any component records into the one registry::

    from sentinel import metrics

    metrics.counter("sentinel_posts_checked_total", "Posts checked at the gate", ("verdict",)).inc(
        verdict="allow"
    )
    metrics.histogram("sentinel_vault_request_seconds", "Vault latency", ("operation",)).observe(
        0.004, operation="lookup"
    )

``counter``/``gauge``/``histogram`` return the existing metric when called again with the
same name (so call sites need not keep a reference), and raise ``ValueError`` when the name
is already taken by another type or label set. ``callback`` registers a function read at
scrape time (for values another component already keeps, e.g. the alert counters).
``render()`` is what ``GET /metrics`` serves.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal

Kind = Literal["counter", "gauge", "histogram"]
LabelValues = tuple[str, ...]
Sample = tuple[Mapping[str, str], float]
"""One value of a callback metric: its labels and the value."""

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
DEFAULT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _labels_text(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{escape_label(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class _Metric:
    kind: Kind

    def __init__(self, name: str, help: str, labels: Sequence[str]) -> None:
        if not _NAME.match(name):
            raise ValueError(f"metric name {name!r} is not a valid Prometheus name")
        for label in labels:
            if not _LABEL.match(label) or label.startswith("__") or label == "le":
                raise ValueError(f"metric {name}: label name {label!r} is not allowed")
        self.name = name
        self.help = help
        self.labels = tuple(labels)
        self._lock = threading.Lock()

    def _key(self, given: Mapping[str, object]) -> LabelValues:
        if set(given) != set(self.labels):
            raise ValueError(
                f"metric {self.name} takes labels ({', '.join(self.labels)}), got ({', '.join(sorted(given))})"
            )
        return tuple(str(given[n]) for n in self.labels)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]

    def lines(self) -> list[str]:
        raise NotImplementedError


class Counter(_Metric):
    """A value that only goes up (``*_total``)."""

    kind: Kind = "counter"

    def __init__(self, name: str, help: str, labels: Sequence[str]) -> None:
        super().__init__(name, help, labels)
        self._values: dict[LabelValues, float] = {}

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        if amount < 0:
            raise ValueError(f"counter {self.name} cannot go down")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: object) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_labels_text(self.labels, k)} {format_value(v)}" for k, v in items]


class Gauge(Counter):
    """A value that goes up and down."""

    kind: Kind = "gauge"

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, **labels: object) -> None:
        self.inc(-amount, **labels)

    def set(self, value: float, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)


class Histogram(_Metric):
    """Observations counted into cumulative buckets, with their sum and count."""

    kind: Kind = "histogram"

    def __init__(
        self, name: str, help: str, labels: Sequence[str], buckets: Sequence[float] = DEFAULT_BUCKETS
    ) -> None:
        super().__init__(name, help, labels)
        bounds = sorted(float(b) for b in buckets if not math.isinf(b))
        if not bounds or len(set(bounds)) != len(bounds):
            raise ValueError(f"histogram {self.name}: buckets must be distinct and not empty")
        self.buckets = (*bounds, math.inf)
        self._counts: dict[LabelValues, list[int]] = {}
        self._sums: dict[LabelValues, float] = {}

    def observe(self, value: float, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            counts = self._counts.get(key)
            if counts is None:
                counts = self._counts[key] = [0] * len(self.buckets)
                self._sums[key] = 0.0
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[i] += 1
                    break
            self._sums[key] += value

    def count(self, **labels: object) -> int:
        with self._lock:
            return sum(self._counts.get(self._key(labels), ()))

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted((k, list(c), self._sums[k]) for k, c in self._counts.items())
        out: list[str] = []
        for key, counts, total in items:
            running = 0
            for bound, n in zip(self.buckets, counts, strict=True):
                running += n
                le = f'le="{format_value(bound)}"'
                out.append(f"{self.name}_bucket{_labels_text(self.labels, key, le)} {running}")
            out.append(f"{self.name}_sum{_labels_text(self.labels, key)} {format_value(total)}")
            out.append(f"{self.name}_count{_labels_text(self.labels, key)} {running}")
        return out


class _Callback(_Metric):
    def __init__(self, name: str, help: str, kind: Kind, fn: Callable[[], Iterable[Sample]]) -> None:
        super().__init__(name, help, ())
        self.kind = kind
        self.fn = fn

    def lines(self) -> list[str]:
        out = []
        for labels, value in self.fn():
            names = sorted(labels)
            for n in names:
                if not _LABEL.match(n):
                    raise ValueError(f"metric {self.name}: label name {n!r} is not allowed")
            out.append(f"{self.name}{_labels_text(names, [labels[n] for n in names])} {format_value(value)}")
        return out


class Registry:
    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._lock = threading.Lock()

    def _get(
        self, cls: type[_Metric], name: str, labels: Sequence[str], make: Callable[[], _Metric]
    ) -> _Metric:
        with self._lock:
            existing = self._metrics.get(name)
            if existing is None:
                existing = self._metrics[name] = make()
            elif type(existing) is not cls or existing.labels != tuple(labels):
                raise ValueError(
                    f"metric {name} is already registered as a {existing.kind} "
                    f"with labels ({', '.join(existing.labels)})"
                )
            return existing

    def counter(self, name: str, help: str, labels: Sequence[str] = ()) -> Counter:
        m = self._get(Counter, name, labels, lambda: Counter(name, help, labels))
        assert isinstance(m, Counter)
        return m

    def gauge(self, name: str, help: str, labels: Sequence[str] = ()) -> Gauge:
        m = self._get(Gauge, name, labels, lambda: Gauge(name, help, labels))
        assert isinstance(m, Gauge)
        return m

    def histogram(
        self, name: str, help: str, labels: Sequence[str] = (), buckets: Sequence[float] = DEFAULT_BUCKETS
    ) -> Histogram:
        m = self._get(Histogram, name, labels, lambda: Histogram(name, help, labels, buckets))
        assert isinstance(m, Histogram)
        return m

    def callback(
        self, name: str, help: str, fn: Callable[[], Iterable[Sample]], kind: Kind = "gauge"
    ) -> None:
        """Register (or replace) a metric whose samples ``fn`` returns at scrape time."""
        if kind == "histogram":
            raise ValueError("callback metrics are counters or gauges")
        metric = _Callback(name, help, kind, fn)
        with self._lock:
            existing = self._metrics.get(name)
            if existing is not None and not isinstance(existing, _Callback):
                raise ValueError(f"metric {name} is already registered as a {existing.kind}")
            self._metrics[name] = metric

    def unregister(self, name: str) -> None:
        with self._lock:
            self._metrics.pop(name, None)

    def render(self) -> str:
        """Every metric in the text exposition format (version 0.0.4)."""
        with self._lock:
            metrics = sorted(self._metrics.values(), key=lambda m: m.name)
        out: list[str] = []
        for m in metrics:
            try:
                lines = m.lines()
            except Exception:  # noqa: S112 - a failing callback must not break the whole scrape
                continue
            out.extend(m.header())
            out.extend(lines)
        return "\n".join(out) + "\n" if out else ""


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REGISTRY = Registry()


def counter(name: str, help: str, labels: Sequence[str] = ()) -> Counter:
    return REGISTRY.counter(name, help, labels)


def gauge(name: str, help: str, labels: Sequence[str] = ()) -> Gauge:
    return REGISTRY.gauge(name, help, labels)


def histogram(
    name: str, help: str, labels: Sequence[str] = (), buckets: Sequence[float] = DEFAULT_BUCKETS
) -> Histogram:
    return REGISTRY.histogram(name, help, labels, buckets)


def callback(name: str, help: str, fn: Callable[[], Iterable[Sample]], kind: Kind = "gauge") -> None:
    REGISTRY.callback(name, help, fn, kind)


def render() -> str:
    return REGISTRY.render()
