"""The outbox with a fake clock: commit before delivery, grouping, repeats, resolve, silences, dead letters."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from sentinel.alerts.model import Alert, Step
from sentinel.alerts.outbox import AlertOutbox
from sentinel.alerts.render import Message
from sentinel.metrics import ALERT_EVENTS, counted
from sentinel.store import Store
from tests.alerts.conftest import FakeClock, make_outbox

CFG: dict[str, Any] = {
    "receivers": {
        "chat": {"type": "slack", "url": "http://127.0.0.1:9/chat"},
        "pager": {"type": "pagerduty", "token": "pd-routing-key-0001"},
    },
    "routes": [{"receivers": ["pager"], "min_severity": "critical"}, {"receivers": ["chat"]}],
    "group_wait": "10s",
    "group_interval": "2m",
    "repeat_interval": "1h",
}


class Renders:
    """Records what the outbox asked to render; bodies are the neutral message as JSON."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Message]] = []

    def __call__(self, receiver: str, message: Message, alerts: Sequence[Alert]) -> dict[str, Any]:
        self.messages.append((receiver, message))
        return {"title": message.title, "status": message.status, "text": message.text(), "n": len(alerts)}


def freeze(account: str, rule: str = "campaign.cross_account", **kw: Any) -> Alert:
    return Alert(
        kind="freeze",
        severity=kw.pop("severity", "critical"),
        summary=f"{account} posted the worm{kw.pop('summary_suffix', '')}",
        accounts=(account,),
        rule=rule,
        dedup_key=kw.pop("dedup_key", "incident-worm"),
        steps=(Step("gate_block", True), Step("platform_revoke", account != "acct-07", "timeout")),
        **kw,
    )


def test_raise_commits_before_any_delivery(store: Store, clock: FakeClock) -> None:
    outbox = make_outbox(store, clock, CFG)
    stored = outbox.raise_alert(freeze("acct-01"))
    # Another handle on the same database (as after a crash) sees the alert and its group membership.
    other = Store(store.path)
    try:
        row = other.query_one("SELECT kind, status FROM alerts WHERE id = ?", (stored.id,))
        assert row is not None and (row["kind"], row["status"]) == ("freeze", "firing")
        members = other.query("SELECT receiver, state FROM alert_members")
        assert sorted((m["receiver"], m["state"]) for m in members) == [("chat", "new"), ("pager", "new")]
        assert other.query("SELECT * FROM alert_deliveries") == []
    finally:
        other.close()
    assert stored.next_steps and stored.dedup_key == "incident-worm"


def test_a_40_account_worm_is_one_message_listing_the_accounts(store: Store, clock: FakeClock) -> None:
    outbox = make_outbox(store, clock, CFG)
    for i in range(40):
        outbox.raise_alert(freeze(f"acct-{i:02d}"))
        clock.advance(0.1)
    renders = Renders()
    assert outbox.flush_due(renders) == 0  # still inside group_wait
    clock.advance(10)
    assert outbox.flush_due(renders) == 2  # one for chat, one for pager
    chat = [m for r, m in renders.messages if r == "chat"]
    assert len(chat) == 1
    msg = chat[0]
    assert len(msg.alert_ids) == 40 and len(msg.accounts) == 40
    text = msg.text()
    assert "Accounts (40)" in text and "acct-00" in text and "acct-39" in text
    assert "platform_revoke FAILED" in text and "acct-07 (timeout)" in text
    assert msg.incident_key == "incident-worm"
    pending = outbox.pending()
    assert [d.receiver for d in pending] == ["chat", "pager"]
    assert all(d.next_attempt_at == clock.now for d in pending)
    assert outbox.flush_due(renders) == 0  # nothing new


def test_group_interval_batches_later_alerts_and_repeat_reminds(store: Store, clock: FakeClock) -> None:
    outbox = make_outbox(store, clock, {**CFG, "routes": [{"receivers": ["chat"]}]})
    renders = Renders()
    outbox.raise_alert(freeze("acct-01", severity="error"))
    clock.advance(10)
    assert outbox.flush_due(renders) == 1
    clock.advance(5)
    outbox.raise_alert(freeze("acct-02", severity="error"))
    outbox.raise_alert(freeze("acct-03", severity="error"))
    clock.advance(60)
    assert outbox.flush_due(renders) == 0  # group_interval (2m) not yet over
    clock.advance(56)
    assert outbox.flush_due(renders) == 1
    assert renders.messages[-1][1].accounts == ("acct-02", "acct-03")
    # An open freeze is repeated after repeat_interval, listing everything still open.
    clock.advance(3599)
    assert outbox.flush_due(renders) == 0
    clock.advance(2)
    assert outbox.flush_due(renders) == 1
    reminder = renders.messages[-1][1]
    assert reminder.repeat and reminder.title.startswith("Still open")
    assert set(reminder.accounts) == {"acct-01", "acct-02", "acct-03"}


def test_a_critical_group_gaining_accounts_is_sent_at_once_rate_limited(
    store: Store, clock: FakeClock
) -> None:
    """A worm's first notification named 4 of its 8 accounts; the other 4 are not held back for
    group_interval (2m) but sent at once, at most every critical_interval (10 s)."""
    outbox = make_outbox(store, clock, {**CFG, "routes": [{"receivers": ["chat"]}]})
    renders = Renders()
    for i in range(4):
        outbox.raise_alert(freeze(f"acct-{i:02d}"))
    clock.advance(10)
    assert outbox.flush_due(renders) == 1  # group_wait: the first four
    clock.advance(30)
    outbox.raise_alert(freeze("acct-04"))
    assert outbox.next_flush_at() == clock.now  # 30 s after the last notification: at once
    assert outbox.flush_due(renders) == 1
    assert renders.messages[-1][1].accounts == ("acct-04",)
    clock.advance(1)
    outbox.raise_alert(freeze("acct-05"))
    outbox.raise_alert(freeze("acct-06"))
    assert outbox.flush_due(renders) == 0  # rate-limited: 10 s after the last notification
    clock.advance(9)
    assert outbox.flush_due(renders) == 1
    assert renders.messages[-1][1].accounts == ("acct-05", "acct-06")
    # A critical alert about accounts already notified, and a milder one about a new account,
    # wait for group_interval as before.
    clock.advance(30)
    outbox.raise_alert(freeze("acct-05", summary_suffix=" again"))
    outbox.raise_alert(freeze("acct-07", severity="warning"))
    assert outbox.flush_due(renders) == 0
    clock.advance(90)
    assert outbox.flush_due(renders) == 1
    assert set(renders.messages[-1][1].accounts) == {"acct-05", "acct-07"}


def test_resolve_sends_a_resolved_notice_to_the_same_receivers(store: Store, clock: FakeClock) -> None:
    outbox = make_outbox(store, clock, CFG)
    renders = Renders()
    outbox.raise_alert(freeze("acct-01", dedup_key="inc-1"))
    clock.advance(10)
    outbox.flush_due(renders)
    assert outbox.resolve("nothing-open") is None
    notice = outbox.resolve(
        "inc-1", summary="acct-01 unfrozen by alice", steps=(Step("restore_policy", True),)
    )
    assert notice is not None and notice.status == "resolved" and notice.accounts == ("acct-01",)
    assert outbox.resolve("inc-1") is None  # already resolved
    clock.advance(120)
    assert outbox.flush_due(renders) == 2
    resolved = {r: m for r, m in renders.messages[-2:]}
    assert set(resolved) == {"chat", "pager"}
    assert all(m.status == "resolved" and m.incident_key == "inc-1" for m in resolved.values())
    assert resolved["chat"].title.startswith("Resolved")
    assert resolved["chat"].commands == ()
    # Resolved incidents are not repeated.
    clock.advance(7200)
    assert outbox.flush_due(renders) == 0


def test_silences_mute_matching_alerts_only_while_active(store: Store, clock: FakeClock) -> None:
    outbox = make_outbox(store, clock, {**CFG, "routes": [{"receivers": ["chat"]}]})
    renders = Renders()
    before = counted(ALERT_EVENTS, event="alerts_silenced", receiver="chat")
    s = outbox.add_silence("account", "noisy-*", 600, author="alice", comment="migration")
    outbox.raise_alert(Alert(kind="held_post", summary="held", accounts=("noisy-1",), rule="r"))
    outbox.raise_alert(Alert(kind="held_post", summary="held", accounts=("quiet-1",), rule="r"))
    clock.advance(10)
    assert outbox.flush_due(renders) == 1
    assert renders.messages[-1][1].accounts == ("quiet-1",)
    assert counted(ALERT_EVENTS, event="alerts_silenced", receiver="chat") == before + 1
    assert [x.id for x in outbox.silences()] == [s.id]
    assert outbox.expire_silence(s.id)
    assert outbox.silences() == []
    outbox.raise_alert(Alert(kind="held_post", summary="held", accounts=("noisy-1",), rule="r"))
    clock.advance(120)
    assert outbox.flush_due(renders) == 1
    assert renders.messages[-1][1].accounts == ("noisy-1",)


def test_receiver_not_configured_here_leaves_the_group_then_dead_letters(
    store: Store, clock: FakeClock
) -> None:
    outbox = make_outbox(store, clock, CFG)
    outbox.raise_alert(freeze("acct-01"))
    clock.advance(10)

    def only_chat(receiver: str, message: Message, alerts: Sequence[Alert]) -> dict[str, Any] | None:
        return {"t": message.title} if receiver == "chat" else None

    assert outbox.flush_due(only_chat) == 1
    assert outbox.waiting_alerts() == 1  # pager's share waits for a process that has pager
    assert outbox.flush_due(Renders()) == 1
    assert outbox.waiting_alerts() == 0
    # A delivery for a receiver this process does not know is dead-lettered once old.
    before = counted(ALERT_EVENTS, event="deliveries_dead_lettered", receiver="pager")
    assert outbox.sweep_dead(clock.now, ["chat"]) == 0
    clock.advance(24 * 3600)
    assert outbox.sweep_dead(clock.now, ["chat"]) == 1
    assert [d.receiver for d in outbox.dead()] == ["pager"]
    assert "not configured" in outbox.dead()[0].last_error
    assert counted(ALERT_EVENTS, event="deliveries_dead_lettered", receiver="pager") == before + 1
    assert outbox.retry(receiver="pager") == 1
    assert [d.receiver for d in outbox.pending()] == ["chat", "pager"]


def test_nothing_secret_is_stored(store: Store, clock: FakeClock) -> None:
    from sentinel.redact import register_secret

    register_secret("app-password-zzz-9876")
    outbox = make_outbox(store, clock, CFG)
    outbox.raise_alert(
        Alert(
            kind="rotation_failed",
            severity="critical",
            summary="rotation failed: platform said 'bad password app-password-zzz-9876'",
            accounts=("acct-01",),
            details={"token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnop"},
        )
    )
    clock.advance(10)
    outbox.flush_due(Renders())
    dump = json.dumps([dict(r) for r in store.query("SELECT * FROM alerts")])
    dump += json.dumps([dict(r) for r in store.query("SELECT * FROM alert_deliveries")])
    assert "app-password-zzz-9876" not in dump
    assert "eyJhbGciOiJIUzI1NiJ9" not in dump
    assert "pd-routing-key-0001" not in dump


def test_outbox_survives_reopening(store: Store, clock: FakeClock) -> None:
    outbox = make_outbox(store, clock, CFG)
    outbox.raise_alert(freeze("acct-01"))
    store.close()
    reopened = Store(store.path)
    try:
        again = AlertOutbox(reopened, outbox.settings, clock=clock)
        clock.advance(10)
        assert again.flush_due(Renders()) == 2
        assert len(again.pending()) == 2
    finally:
        reopened.close()


def test_identical_alerts_of_an_open_incident_are_not_repeated(store: Store, clock: FakeClock) -> None:
    outbox = make_outbox(store, clock, {**CFG, "routes": [{"receivers": ["chat"]}]})
    vault = Alert(
        kind="vault_unreachable",
        severity="critical",
        summary="Vault at 127.0.0.1:8200 refused the connection",
    )
    first = outbox.raise_alert(vault)
    clock.advance(5)
    assert outbox.raise_alert(vault).id == first.id
    changed = outbox.raise_alert(
        Alert(kind="vault_unreachable", severity="critical", summary="Vault is sealed")
    )
    assert changed.id != first.id
    clock.advance(10)
    renders = Renders()
    assert outbox.flush_due(renders) == 1
    assert len(renders.messages[0][1].alert_ids) == 2
    outbox.resolve(first.dedup_key)
    assert outbox.raise_alert(vault).id == first.id  # the same alert object again: stored once
    again = outbox.raise_alert(dataclasses.replace(vault, id="new-occurrence"))
    assert again.id == "new-occurrence"  # a new incident after the resolution


def test_disabled_alerts_are_stored_but_not_routed(store: Store, clock: FakeClock) -> None:
    outbox = make_outbox(store, clock, {**CFG, "enabled": False})
    a = outbox.raise_alert(freeze("acct-01"))
    assert outbox.alert(a.id) == a
    clock.advance(60)
    assert outbox.flush_due(Renders()) == 0 and outbox.waiting_alerts() == 0
