"""schemathesis against the served OpenAPI document: no 5xx, responses match the document,
and no request is served without a valid token (schemathesis' ``ignored_auth`` check
replays each authenticated call without and with a wrong token). Every operation with a
body also gets one over the body limit, one nested too deep, a lone surrogate and invalid
UTF-8: each answered as documented (413 or 400 naming the problem), never 5xx; and incident
reads by tokens of different reach never show an incident of an account the token cannot see.

A real uvicorn server on loopback, real OpenBao and the sandbox platform; bounded to a few
dozen examples per operation.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from sentinel.api.openapi import document
from tests.api.conftest import World
from tests.api.served import ServedApi

ACCOUNTS = ["acct-a", "acct-b", "acct-c"]


INCIDENTS = {
    n: {
        "id": n,
        "opened": "2026-03-01T10:00:00Z",
        "status": "open",
        "title": f"freeze of {a}",
        "accounts": [a],
    }
    for n, a in ((1, "acct-a"), (2, "acct-c"))
}


class IncidentNotes:
    """Incident notes, assignments and closings, kept in memory (the fuzzed incidents are fixed)."""

    def __init__(self) -> None:
        self.events: list[tuple[int, str, str]] = []

    def add_event(
        self, incident: int, kind: str, actor: str, data: Mapping[str, Any], account: str = ""
    ) -> None:
        self.events.append((incident, kind, actor))

    def close_incident(self, incident: int, actor: str, reason: str) -> str:
        return f"incident {incident} stays open in this test"


@pytest.fixture(scope="module")
def served(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    with ServedApi(
        world,
        tmp_path_factory.mktemp("fuzz"),
        incidents=lambda: list(INCIDENTS.values()),
        incident=INCIDENTS.get,
        incident_log=IncidentNotes(),
    ) as api:
        yield api


@pytest.fixture(scope="module")
def api_schema(served: ServedApi) -> Any:
    return schemathesis.openapi.from_url(f"{served.handle.url}/openapi.json")


RNG = random.Random(6)


def only_the_platforms_errors(ctx: Any, response: Any, case: Any) -> None:
    """A 5xx only as the documented ``502 platform_error`` (the sandbox refused the post)."""
    if response.status_code < 500:
        return
    code = response.json().get("error", {}).get("code") if response.status_code == 502 else None
    assert code == "platform_error", f"server error {response.status_code}: {response.text[:200]}"


BODY_LIMIT = 1 << 20


def refused_or_over_the_body_limit(ctx: Any, response: Any, case: Any) -> None:
    """Invalid data is refused as schemathesis expects, or, when the invalid body it drew is
    larger than the body limit, with the documented ``413 body_too_large`` before it is read."""
    body = response.request.body or b""
    if response.status_code == 413 and len(body) > BODY_LIMIT:
        assert response.json()["error"]["code"] == "body_too_large"
        return
    negative_data_rejection(ctx, response, case)


OPERATIONS = [(path, method.upper()) for path, ops in document()["paths"].items() for method in ops]


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"]
)
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_api_conforms_and_refuses_unauthenticated_calls(
    path: str, method: str, mode: GenerationMode, api_schema: Any, world: World
) -> None:
    spec = document()["paths"][path][method.lower()]
    if mode == GenerationMode.NEGATIVE and not (spec.get("parameters") or spec.get("requestBody")):
        pytest.skip("nothing to make invalid: the operation takes no input")
    operation = api_schema[path][method]
    token = world.tokens["op-all"]
    # One seed per operation and mode: what one test draws never shifts another's examples.
    rng = random.Random(f"{method} {path} {mode.value}")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=25 if mode == GenerationMode.POSITIVE else 10,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        # Steer about half the generated account ids to real accounts, so authorization,
        # the engine and the platform are exercised, not only the 404 path.
        if case.path_parameters and "account" in case.path_parameters and rng.random() < 0.5:
            case.path_parameters["account"] = rng.choice(ACCOUNTS)
        # (only an account id the schema allows: steering an invalid one would make a negative case valid)
        account = case.body.get("account") if isinstance(case.body, dict) else None
        if isinstance(account, str) and rng.random() < 0.5 and 1 <= len(account) <= 512:
            case.body["account"] = rng.choice(ACCOUNTS)
        headers = {"Authorization": f"Bearer {token}"} if rng.random() < 0.9 else None
        case.call_and_validate(
            headers=headers,
            excluded_checks=[not_a_server_error, negative_data_rejection],
            additional_checks=[only_the_platforms_errors, refused_or_over_the_body_limit],
        )

    run()


BODY_OPERATIONS = [
    (path, method.upper())
    for path, ops in document()["paths"].items()
    for method, op in ops.items()
    if "requestBody" in op
]
LIMITS = {
    # kind: (raw body, status, a phrase of the message)
    "over-the-body-limit": (b" " * (BODY_LIMIT + 1), 413, "larger than 1048576 bytes"),
    "nested-deeper-than-32": (b'{"text": ' + b"[" * 33 + b"]" * 33 + b"}", 400, "deeper than 32 levels"),
    "lone-surrogate": (b'{"account": "acct-a", "text": "\\udfff"}', 400, "lone surrogate"),
    "invalid-utf-8": (b'{"account": "acct-a", "text": "\xc3\x28"}', 400, "not valid UTF-8"),
}


@pytest.fixture(scope="module")
def held_id(served: ServedApi, world: World) -> str:
    resp = httpx.post(
        f"{served.handle.url}/v1/check",
        json={"account": "acct-a", "text": "HOLDME"},
        headers={"Authorization": f"Bearer {world.tokens['op-all']}"},
    )
    return str(resp.json()["held_id"])


# A webhook's body is checked against the platform's signature before it is decoded
# (tests/security/test_webhooks.py): only the size limit, which comes first, applies to it.
LIMIT_CASES = [
    (path, method, kind)
    for path, method in BODY_OPERATIONS
    for kind in LIMITS
    if not path.startswith("/v1/hooks/") or kind == "over-the-body-limit"
]


@pytest.mark.parametrize(
    ("path", "method", "kind"), LIMIT_CASES, ids=[f"{m} {p}-{k}" for p, m, k in LIMIT_CASES]
)
def test_limits_and_encodings_are_answered_as_documented(
    path: str, method: str, kind: str, api_schema: Any, served: ServedApi, world: World, held_id: str
) -> None:
    raw, status, phrase = LIMITS[kind]
    params = {"account": "acct-a", "held": held_id, "platform": "x", "incident": "1"}
    case = api_schema[path][method].Case(
        path_parameters={k: v for k, v in params.items() if "{" + k + "}" in path},
        media_type="application/json",
    )
    resp = httpx.request(
        method,
        served.handle.url + case.formatted_path,
        content=raw,
        headers={"Authorization": f"Bearer {world.tokens['op-all']}", "Content-Type": "application/json"},
    )
    assert resp.status_code == status, resp.text
    assert phrase in resp.json()["error"]["message"]
    case.validate_response(
        resp,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


# Who may see which account's incidents (analytics on the account, or lockdown: everything).
VISIBLE = {
    "op-mod": {"acct-a"},
    "op-editor": {"acct-a", "acct-b"},
    "op-pub": set(),
    "op-nobody": set(),
    "op-analyst": set(ACCOUNTS),
    "op-lock": set(ACCOUNTS),
}


def test_a_token_sees_only_the_incidents_of_its_accounts(served: ServedApi, world: World) -> None:
    def ids(person: str) -> list[int]:
        resp = httpx.get(f"{served.handle.url}/v1/incidents", headers=world.auth(person))
        return [i["id"] for i in resp.json()["incidents"]]

    assert (ids("op-mod"), ids("op-pub"), ids("op-analyst")) == ([1], [], [1, 2])
    hidden = httpx.get(f"{served.handle.url}/v1/incidents/2", headers=world.auth("op-mod"))
    assert hidden.status_code == 403


@pytest.mark.parametrize("path", ["/v1/incidents", "/v1/incidents/{incident}"])
def test_generated_incident_reads_never_show_another_accounts_incident(
    path: str, api_schema: Any, world: World
) -> None:
    operation = api_schema[path]["GET"]

    @given(case=operation.as_strategy(), person=st.sampled_from(sorted(VISIBLE)))
    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any, person: str) -> None:
        if case.path_parameters and RNG.random() < 0.7:
            case.path_parameters["incident"] = RNG.choice(list(INCIDENTS))
        resp = case.call(headers=world.auth(person))
        case.validate_response(
            resp, checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
        )
        if resp.status_code == 200:
            body = resp.json()
            for row in body.get("incidents", [body]):
                assert VISIBLE[person].intersection(row["accounts"]), (person, row)

    run()
