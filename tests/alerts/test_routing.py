from __future__ import annotations

import dataclasses

from sentinel.alerts.model import Alert
from sentinel.alerts.routing import (
    Timing,
    flush_at_after_add,
    group_key,
    group_labels,
    receivers_for,
    repeat_due,
    urgent,
)
from tests.alerts.conftest import alerts_settings

RECEIVERS = {
    "chat": {"type": "slack", "url": "http://127.0.0.1:1/chat"},
    "pager": {"type": "pagerduty", "token": "routing-key-123"},
    "brand": {"type": "mattermost", "url": "http://127.0.0.1:1/mm"},
}


def test_without_routes_every_receiver_gets_everything() -> None:
    s = alerts_settings({"receivers": RECEIVERS})
    assert receivers_for(Alert(kind="test", summary="", severity="info"), s) == ("chat", "pager", "brand")


def test_routes_by_severity_tags_accounts_and_kind() -> None:
    s = alerts_settings(
        {
            "receivers": RECEIVERS,
            "routes": [
                {"receivers": ["pager"], "min_severity": "critical"},
                {"receivers": ["brand"], "tags": ["brand"], "accounts": ["brand-*"]},
                {"receivers": ["chat"], "kinds": ["held_post"], "stop": True},
                {"receivers": ["chat", "brand"]},
            ],
        }
    )
    crit = Alert(kind="freeze", summary="", severity="critical", accounts=("corp-1",))
    assert receivers_for(crit, s) == ("pager", "chat", "brand")
    held = Alert(kind="held_post", summary="", severity="warning", accounts=("brand-1",), tags=("brand",))
    assert receivers_for(held, s) == ("brand", "chat")
    held_other = Alert(kind="held_post", summary="", severity="warning", accounts=("corp-1",))
    assert receivers_for(held_other, s) == ("chat",)


def test_group_labels_and_key() -> None:
    a = Alert(kind="freeze", summary="", rule="worm", accounts=("b", "a"), dedup_key="k")
    assert group_key(group_labels(a, ("kind", "rule"))) == "kind=freeze|rule=worm"
    assert group_key(group_labels(a, ("account",))) == "account=a,b"
    assert group_key(group_labels(a, ("dedup_key",))) == "dedup_key=k"
    assert group_key({}) == "all"


def test_group_timing_like_alertmanager() -> None:
    t = Timing(group_wait=10, group_interval=120, repeat_interval=3600)
    assert flush_at_after_add(None, None, 1000, t) == 1010  # new group waits group_wait
    assert flush_at_after_add(1010, None, 1005, t) == 1010  # later alerts join the same flush
    assert flush_at_after_add(None, 1010, 1030, t) == 1130  # after a send: group_interval
    assert flush_at_after_add(None, 1010, 2000, t) == 2000  # long quiet: send at once
    # urgent (a critical alert naming accounts not yet notified): critical_interval, not group_interval
    assert flush_at_after_add(None, 1010, 1012, t, is_urgent=True) == 1020
    assert flush_at_after_add(None, 1010, 1030, t, is_urgent=True) == 1030
    assert flush_at_after_add(1130, 1010, 1030, t, is_urgent=True) == 1030  # brings a later flush forward
    assert flush_at_after_add(None, None, 1030, t, is_urgent=True) == 1040  # a new group still waits

    assert not repeat_due(1000, 4599, t)
    assert repeat_due(1000, 4600, t)
    assert not repeat_due(1000, 99999, Timing(10, 120, 0))


def test_urgent_means_a_firing_critical_alert_with_accounts_not_yet_notified() -> None:
    alert = Alert(kind="freeze", severity="critical", summary="worm", accounts=("a", "b"))
    assert urgent(alert, {"a"})
    assert not urgent(alert, {"a", "b", "c"})
    assert not urgent(dataclasses.replace(alert, severity="error"), set())
    assert not urgent(dataclasses.replace(alert, status="resolved"), set())
