from __future__ import annotations

from sentinel.alerts.model import Alert, Finding, Step, alert_from_dict, default_next_steps, severity_rank
from sentinel.redact import REDACTED, register_secret


def test_defaults_fill_dedup_key_next_steps_and_runbook() -> None:
    a = Alert(kind="freeze", summary="s", accounts=("brand-x",), rule="oob").with_defaults(
        "https://wiki/runbook"
    )
    assert a.dedup_key == "freeze:oob:brand-x"
    assert a.next_steps == ('sentinel unfreeze brand-x --reason "..."',)
    assert a.runbook_url == "https://wiki/runbook"
    assert a.is_ongoing


def test_incident_id_names_the_incident_and_the_command() -> None:
    a = Alert(kind="freeze", summary="s", accounts=("a", "b"), incident_id="inc-7").with_defaults()
    assert a.dedup_key == "freeze:incident:inc-7"
    assert a.next_steps[0] == "sentinel incidents show inc-7"
    assert 'sentinel unfreeze b --reason "..."' in a.next_steps


def test_lockdown_command_for_a_suspicious_post_and_odd_account_ids_are_quoted() -> None:
    a = Alert(kind="out_of_band_post", summary="s", accounts=("x y",))
    assert default_next_steps(a) == ("sentinel lockdown 'x y' --reason \"...\"",)
    assert default_next_steps(Alert(kind="vault_unreachable", summary="")) == ("sentinel vault check",)
    assert default_next_steps(Alert(kind="freeze", summary="", status="resolved")) == ()


def test_explicit_values_are_kept() -> None:
    a = Alert(
        kind="freeze", summary="s", dedup_key="k", next_steps=("do this",), ongoing=False
    ).with_defaults("u")
    assert (a.dedup_key, a.next_steps, a.is_ongoing) == ("k", ("do this",), False)


def test_round_trip_through_dict() -> None:
    a = Alert(
        kind="held_post",
        summary="held",
        severity="warning",
        accounts=("a",),
        rule="r",
        findings=(Finding("r", "m", "high"),),
        steps=(Step("gate_block", True), Step("rotate", False, "vault down", "a")),
        tags=("t",),
        details={"client": "x"},
        post_excerpt="hi",
        ongoing=True,
    )
    assert alert_from_dict(a.to_dict()) == a


def test_scrubbed_removes_registered_secrets_and_secret_keys() -> None:
    register_secret("hunter2-super-secret")
    a = Alert(
        kind="rotation_failed",
        summary="rotation failed with password hunter2-super-secret",
        details={"password": "abc123xyz", "client": "tweetdeck"},
        post_excerpt="leaked hunter2-super-secret",
    ).scrubbed()
    text = str(a.to_dict())
    assert "hunter2-super-secret" not in text
    assert a.details["password"] == REDACTED
    assert a.details["client"] == "tweetdeck"


def test_severity_rank_orders_most_severe_first() -> None:
    assert (
        severity_rank("critical") < severity_rank("error") < severity_rank("warning") < severity_rank("info")
    )
    assert severity_rank("nonsense") == severity_rank("info")
