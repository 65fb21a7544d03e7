"""Messages and a capturing transport for the receiver payload tests.

These check each service's documented payload shape and limits; the services themselves
(Slack, Teams, Discord, ...) cannot run here, so requests go to ``httpx.MockTransport``.
Matrix is also tested end to end against a real Synapse (tests/alerts/test_matrix_e2e.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sentinel.alerts.model import Alert, Finding, Step
from sentinel.alerts.render import Message, build_message


def worm_alerts(
    n: int = 40, excerpt: str = "Free BTC at https://evil.com/claim @everyone", vary: bool = False
) -> list[Alert]:
    return [
        Alert(
            kind="freeze",
            severity="critical",
            summary="posted the campaign text",
            accounts=(f"brand-{i:03d}",),
            rule="campaign.cross_account",
            findings=(Finding("campaign.cross_account", "same text on 40 accounts with link to evil.com"),),
            post_excerpt=f"{i}: {excerpt}" if vary else excerpt,
            steps=(
                Step("gate_block", True),
                Step("vault_deny", True),
                Step("platform_revoke", i % 10 != 3, "HTTP 502"),
            ),
            dedup_key="inc-worm",
            runbook_url="https://wiki.example.org/runbooks/hijack",
        ).with_defaults()
        for i in range(n)
    ]


@pytest.fixture
def message() -> Message:
    return build_message(worm_alerts(), "firing", "inc-worm", "Example Corp", now=1_800_000_000)


@pytest.fixture
def huge_message() -> Message:
    alerts = worm_alerts(400, excerpt="x" * 5000 + " https://evil.com", vary=True)
    return build_message(alerts, "firing", "inc-worm", "Example Corp", now=1_800_000_000)


@pytest.fixture
def resolved_message() -> Message:
    notice = Alert(
        kind="freeze", severity="critical", summary="unfrozen", status="resolved", dedup_key="inc-worm"
    )
    return build_message([notice], "resolved", "inc-worm", "Example Corp", now=1_800_000_100)


class Capture:
    def __init__(self, reply: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.reply = reply or (lambda r: httpx.Response(200, text="ok"))

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.reply(request)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))

    def json(self, i: int = -1) -> Any:
        return json.loads(self.requests[i].content)
