from __future__ import annotations

import base64

import pytest

from sentinel.alerts.model import Alert
from sentinel.alerts.receivers.webhook import WebhookReceiver, secret_key, sign
from sentinel.alerts.render import Message, build_message
from sentinel.errors import ConfigError
from tests.alerts.conftest import receiver_settings
from tests.alerts.receivers.conftest import Capture, worm_alerts
from tests.alerts.verify import verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def hook() -> WebhookReceiver:
    return WebhookReceiver(
        "hook",
        receiver_settings(type="webhook", url="https://soar.example.org/in", token=SECRET),
        url="https://soar.example.org/in",
        token=SECRET,
    )


def test_signature_matches_the_standard_webhooks_example() -> None:
    # The example from the Standard Webhooks specification.
    sig = sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_secret_forms() -> None:
    assert secret_key("whsec_" + base64.b64encode(b"k" * 24).decode()) == b"k" * 24
    assert secret_key("plain-secret") == b"plain-secret"
    with pytest.raises(ConfigError):
        secret_key("whsec_not base64!")


async def test_signed_delivery_verifies_and_carries_raw_alerts() -> None:
    alerts = worm_alerts(3)
    message = build_message(alerts, "firing", "inc-worm", now=1_800_000_000)
    r = hook()
    body = r.render_for(message, alerts)
    cap = Capture()
    async with cap.client() as client:
        assert (await r.send(client, body, "abc123")).delivered
        assert (await r.send(client, body, "abc123")).delivered
    first, second = cap.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "msg_abc123"
    for req in (first, second):
        assert verify(SECRET, dict(req.headers), req.content)
    tampered = first.content.replace(b"inc-worm", b"inc-xxxx")
    assert not verify(SECRET, dict(first.headers), tampered)
    sent = cap.json(0)
    assert sent["type"] == "account.frozen" and sent["timestamp"] == "2027-01-15T08:00:00Z"
    assert len(sent["data"]["alerts"]) == 3 and sent["data"]["incident_key"] == "inc-worm"
    assert sent["data"]["alerts"][0]["post_excerpt"].startswith("Free BTC at https://evil.com")


def test_resolved_type(resolved_message: Message) -> None:
    assert hook().render(resolved_message)["type"] == "alert.resolved"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("held_post", "post.held"),
        ("freeze", "account.frozen"),
        ("lockdown", "account.frozen"),
        ("unfreeze", "account.unfrozen"),
        ("rotation_failed", "rotation.failed"),
        ("out_of_band_post", "alert.firing"),
        ("vault_unreachable", "alert.firing"),
    ],
)
def test_integrator_event_types(kind: str, expected: str) -> None:
    message = build_message([Alert(kind=kind, summary="s", accounts=("brand-x",))], "firing", "k")
    body = hook().render(message)
    assert body["type"] == expected and body["data"]["kind"] == kind


def test_render_without_alerts_has_an_empty_list() -> None:
    m = build_message([Alert(kind="test", summary="t")], "firing", "k")
    assert hook().render(m)["data"]["alerts"] == []


def test_big_groups_carry_every_id_but_at_most_200_alerts() -> None:
    alerts = worm_alerts(250)
    body = hook().render_for(build_message(alerts, "firing", "inc-worm"), alerts)
    data = body["data"]
    assert len(data["alerts"]) == 200 and data["alerts_truncated"] is True
    assert len(data["alert_ids"]) == 250
