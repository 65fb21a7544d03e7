"""The project-wide metrics registry and its text exposition format."""

from __future__ import annotations

import pytest

from sentinel.metrics import Registry, escape_label


def test_counter_gauge_and_exposition() -> None:
    r = Registry()
    c = r.counter("sentinel_things_total", "Things done", ("kind",))
    c.inc(kind="a")
    c.inc(2, kind="b")
    c.inc(kind="a")
    g = r.gauge("sentinel_frozen_accounts", "Frozen accounts")
    g.set(3)
    g.dec()
    assert c.value(kind="a") == 2 and c.value(kind="b") == 2
    assert r.render() == (
        "# HELP sentinel_frozen_accounts Frozen accounts\n"
        "# TYPE sentinel_frozen_accounts gauge\n"
        "sentinel_frozen_accounts 2\n"
        "# HELP sentinel_things_total Things done\n"
        "# TYPE sentinel_things_total counter\n"
        'sentinel_things_total{kind="a"} 2\n'
        'sentinel_things_total{kind="b"} 2\n'
    )


def test_histogram_buckets_are_cumulative() -> None:
    r = Registry()
    h = r.histogram("sentinel_latency_seconds", "Latency", ("op",), buckets=(0.1, 1.0))
    for v in (0.05, 0.5, 0.5, 5.0):
        h.observe(v, op="x")
    lines = r.render().splitlines()
    assert 'sentinel_latency_seconds_bucket{op="x",le="0.1"} 1' in lines
    assert 'sentinel_latency_seconds_bucket{op="x",le="1"} 3' in lines
    assert 'sentinel_latency_seconds_bucket{op="x",le="+Inf"} 4' in lines
    assert 'sentinel_latency_seconds_sum{op="x"} 6.05' in lines
    assert 'sentinel_latency_seconds_count{op="x"} 4' in lines
    assert h.count(op="x") == 4


def test_same_name_returns_the_same_metric_and_conflicts_are_refused() -> None:
    r = Registry()
    assert r.counter("a_total", "A", ("x",)) is r.counter("a_total", "A", ("x",))
    with pytest.raises(ValueError, match="already registered"):
        r.gauge("a_total", "A", ("x",))
    with pytest.raises(ValueError, match="already registered"):
        r.counter("a_total", "A", ("y",))
    with pytest.raises(ValueError, match="takes labels"):
        r.counter("a_total", "A", ("x",)).inc(z="1")
    with pytest.raises(ValueError, match="cannot go down"):
        r.counter("a_total", "A", ("x",)).inc(-1, x="1")
    with pytest.raises(ValueError, match="not a valid"):
        r.counter("bad name", "B")


def test_label_values_and_help_are_escaped() -> None:
    r = Registry()
    r.counter("e_total", "line\nbreak \\ here", ("v",)).inc(v='say "hi"\n\\')
    text = r.render()
    assert "# HELP e_total line\\nbreak \\\\ here" in text
    assert 'e_total{v="say \\"hi\\"\\n\\\\"} 1' in text
    assert escape_label("plain") == "plain"


def test_callbacks_are_read_at_scrape_time_and_a_failing_one_is_skipped() -> None:
    r = Registry()
    state = {"n": 1}
    r.callback("cb_total", "From elsewhere", lambda: [({"receiver": "chat"}, state["n"])], kind="counter")

    def broken() -> list[tuple[dict[str, str], float]]:
        raise RuntimeError("boom")

    r.callback("broken", "Broken", broken)
    state["n"] = 7
    text = r.render()
    assert 'cb_total{receiver="chat"} 7' in text
    assert "broken" not in text
