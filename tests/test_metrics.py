"""The daemon's metrics registry (prometheus_client) and its text exposition."""

from __future__ import annotations

import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from sentinel.metrics import (
    ALERT_EVENTS,
    ALERT_OUTBOX,
    API_REQUESTS,
    CONTENT_TYPE,
    FROZEN_ACCOUNTS,
    INSTRUMENTS,
    LOOP_LAG,
    PLATFORM_ERRORS,
    READ_ERRORS,
    STATE,
    STORE_UP,
    VAULT_SECONDS,
    VAULT_UP,
    Metrics,
    StateMetric,
    counted,
)


def lines(m: Metrics) -> list[str]:
    return m.render().decode().splitlines()


def test_the_exposition_is_the_text_format_0_0_4_and_parses() -> None:
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"
    m = Metrics()
    m.read(VAULT_UP, lambda: True)
    API_REQUESTS.labels(route="exposition-test", status=200).inc()
    families = {f.name: f for f in text_string_to_metric_families(m.render().decode())}
    assert families["sentinel_vault_up"].type == "gauge"
    assert families["sentinel_api_requests"].type == "counter"
    assert families["sentinel_api_request_seconds"].type == "histogram"
    # the library's process and Python facts come with it, and no *_created series
    assert "python_info" in families
    if sys.platform == "linux":
        assert families["process_resident_memory_bytes"].samples[0].value > 0
    assert not [name for name in families if name.endswith("_created")]
    assert not [line for line in lines(m) if line.split("{")[0].split(" ")[0].endswith("_created")]


def test_instruments_count_where_it_happens_and_every_registry_exports_them() -> None:
    first, second = Metrics(), Metrics()
    API_REQUESTS.labels(route="count-test", status=503).inc()
    API_REQUESTS.labels(route="count-test", status=503).inc()
    API_REQUESTS.labels(route="count-test", status=200).inc()
    for m in (first, second):
        text = lines(m)
        assert "# HELP sentinel_api_requests_total API requests by route and status" in text
        assert "# TYPE sentinel_api_requests_total counter" in text
        assert 'sentinel_api_requests_total{route="count-test",status="503"} 2.0' in text
        assert 'sentinel_api_requests_total{route="count-test",status="200"} 1.0' in text
    assert counted(API_REQUESTS, route="count-test") == 3
    assert counted(API_REQUESTS, route="count-test", status="503") == 2
    assert counted(API_REQUESTS, route="never-called") == 0


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    for v in (0.0004, 0.02, 0.02, 20.0):
        VAULT_SECONDS.labels(operation="bucket-test").observe(v)
    text = lines(Metrics())
    assert 'sentinel_vault_request_seconds_bucket{le="0.0005",operation="bucket-test"} 1.0' in text
    assert 'sentinel_vault_request_seconds_bucket{le="0.01",operation="bucket-test"} 1.0' in text
    assert 'sentinel_vault_request_seconds_bucket{le="0.025",operation="bucket-test"} 3.0' in text
    assert 'sentinel_vault_request_seconds_bucket{le="10.0",operation="bucket-test"} 3.0' in text
    assert 'sentinel_vault_request_seconds_bucket{le="+Inf",operation="bucket-test"} 4.0' in text
    assert 'sentinel_vault_request_seconds_count{operation="bucket-test"} 4.0' in text
    total = next(
        line
        for line in text
        if line.startswith('sentinel_vault_request_seconds_sum{operation="bucket-test"}')
    )
    assert float(total.split()[-1]) == pytest.approx(20.0404)


def test_state_is_read_at_each_scrape_and_belongs_to_its_registry() -> None:
    daemon, other = Metrics(), Metrics()
    frozen = {"n": 0}
    daemon.read(FROZEN_ACCOUNTS, lambda: frozen["n"])
    daemon.read(STORE_UP, lambda: False)
    daemon.read(ALERT_OUTBOX, lambda: {"pending": 2, "dead": 1})
    daemon.read(PLATFORM_ERRORS, lambda: {("x",): 3})
    assert "sentinel_frozen_accounts 0.0" in lines(daemon)
    frozen["n"] = 4
    text = lines(daemon)
    assert "# TYPE sentinel_frozen_accounts gauge" in text
    assert "sentinel_frozen_accounts 4.0" in text
    assert "sentinel_store_up 0.0" in text
    assert 'sentinel_alert_outbox{state="pending"} 2.0' in text
    assert 'sentinel_alert_outbox{state="dead"} 1.0' in text
    assert 'sentinel_platform_consecutive_errors{platform="x"} 3.0' in text
    # a metric nobody reads is not exported; another daemon's readers are not this one's
    assert not [line for line in text if line.startswith("sentinel_loop_lag_seconds")]
    assert not [
        line for line in lines(other) if line.startswith(("sentinel_frozen_accounts", "sentinel_store_up"))
    ]
    # a reloaded component replaces its reader
    daemon.read(FROZEN_ACCOUNTS, lambda: 1)
    assert "sentinel_frozen_accounts 1.0" in lines(daemon)


def test_label_values_and_help_are_escaped() -> None:
    m = Metrics()
    m.read(ALERT_OUTBOX, lambda: {'say "hi"\n\\': 1})
    assert 'sentinel_alert_outbox{state="say \\"hi\\"\\n\\\\"} 1.0' in lines(m)
    (family,) = [
        f for f in text_string_to_metric_families(m.render().decode()) if f.name == "sentinel_alert_outbox"
    ]
    assert family.samples[0].labels == {"state": 'say "hi"\n\\'}


def test_a_failing_reader_is_left_out_counted_and_logged_once_per_kind() -> None:
    m = Metrics()
    m.read(VAULT_UP, lambda: True)
    failure: list[Exception] = [RuntimeError("database is locked")]

    def broken() -> float:
        raise failure[0]

    m.read(LOOP_LAG, broken)
    errors_before = counted(READ_ERRORS, metric="sentinel_loop_lag_seconds")
    with capture_logs() as logs:
        for _ in range(3):
            text = lines(m)
            assert "sentinel_vault_up 1.0" in text  # the rest of the scrape is whole
            assert not [line for line in text if line.startswith("sentinel_loop_lag_seconds")]
        failure[0] = KeyError("gone")
        lines(m)
        lines(m)
    told = [e for e in logs if e["event"] == "metrics.read_failed"]
    assert [(e["metric"], e["error"], e["log_level"]) for e in told] == [
        ("sentinel_loop_lag_seconds", "RuntimeError: database is locked", "error"),
        ("sentinel_loop_lag_seconds", "KeyError: 'gone'", "error"),
    ]
    assert counted(READ_ERRORS, metric="sentinel_loop_lag_seconds") == errors_before + 5
    # a scrape counts its own failure: this one fails once more
    assert (
        f'sentinel_metrics_read_errors_total{{metric="sentinel_loop_lag_seconds"}} {errors_before + 6}'
        in lines(m)
    )


def test_a_reading_of_the_wrong_shape_is_a_failure_of_that_metric_only() -> None:
    m = Metrics()
    m.read(ALERT_OUTBOX, lambda: 3.0)  # labelled by state: one bare value says nothing
    m.read(PLATFORM_ERRORS, lambda: {("x", "extra"): 1})
    m.read(STORE_UP, lambda: True)
    before = counted(READ_ERRORS)
    with capture_logs() as logs:
        text = lines(m)
    assert "sentinel_store_up 1.0" in text
    assert not [line for line in text if line.startswith(("sentinel_alert_outbox", "sentinel_platform"))]
    assert counted(READ_ERRORS) == before + 2
    assert {e["error"].split(":")[0] for e in logs if e["event"] == "metrics.read_failed"} == {"TypeError"}


def test_only_declared_state_metrics_can_be_read() -> None:
    with pytest.raises(ValueError, match="not declared"):
        Metrics().read(StateMetric("sentinel_elsewhere", "Declared outside sentinel.metrics"), lambda: 1)


def test_alert_events_are_also_exported_under_the_pipeline_name() -> None:
    ALERT_EVENTS.labels(event="deliveries_dead_lettered", receiver="alias-test").inc(2)
    text = lines(Metrics())
    assert 'sentinel_alert_events_total{event="deliveries_dead_lettered",receiver="alias-test"} 2.0' in text
    assert (
        'sentinel_alert_pipeline_total{counter="deliveries_dead_lettered",receiver="alias-test"} 2.0' in text
    )


def test_every_metric_is_declared_once_and_described_by_the_registry() -> None:
    described = {f.name for c in (*INSTRUMENTS, Metrics().state) for f in c.describe()}
    assert len(described) == len(INSTRUMENTS) + len(STATE)
    assert all(name.startswith("sentinel_") for name in described)
    assert {m.name for m in STATE} <= described
