from __future__ import annotations

from sentinel.alerts.metrics import AlertMetrics


def test_counters_per_receiver_and_in_total() -> None:
    m = AlertMetrics()
    m.inc("deliveries_dead_lettered", "chat")
    m.inc("deliveries_dead_lettered", "pager", 2)
    m.inc("alerts_raised")
    assert m.value("deliveries_dead_lettered") == 3
    assert m.value("deliveries_dead_lettered", "pager") == 2
    assert m.value("deliveries_succeeded") == 0
    assert m.snapshot() == {"alerts_raised": {"": 1}, "deliveries_dead_lettered": {"chat": 1, "pager": 2}}
