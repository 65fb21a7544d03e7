"""The shared HTTP helper: retries, Retry-After, error translation, scrubbing."""

from __future__ import annotations

import gc
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tenacity import AsyncRetrying, RetryCallState

from sentinel.platforms import (
    PlatformAuthFailed,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformRejected,
    PlatformUnavailable,
)
from sentinel.platforms.http import HttpClient, api_path, retry_after_seconds
from sentinel.redact import register_secret


class Recorder:
    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def client(self, **kw: object) -> HttpClient:
        return HttpClient(
            "test",
            "acct-1",
            "https://api.example",
            transport=httpx.MockTransport(self.handler),
            sleep=self.sleep,
            **kw,  # type: ignore[arg-type]
        )


async def test_retries_5xx_with_backoff_then_succeeds() -> None:
    rec = Recorder(httpx.Response(502), httpx.Response(500), httpx.Response(200, json={"ok": True}))
    assert await rec.client().json("GET", "/x") == {"ok": True}
    assert len(rec.requests) == 3
    assert len(rec.sleeps) == 2 and 0 < rec.sleeps[0] <= rec.sleeps[1] * 2


async def test_429_honours_retry_after_seconds() -> None:
    rec = Recorder(httpx.Response(429, headers={"retry-after": "7"}), httpx.Response(200, json={}))
    await rec.client().json("GET", "/x")
    assert rec.sleeps == [7.0]


async def test_long_retry_after_raises_rate_limited_for_the_caller_to_schedule() -> None:
    rec = Recorder(httpx.Response(429, headers={"retry-after": "600"}, json={"error": "slow down"}))
    with pytest.raises(PlatformRateLimited) as err:
        await rec.client(max_wait=30).json("GET", "/x")
    assert err.value.retry_after == 600
    assert rec.sleeps == []


async def test_bounded_attempts_end_in_unavailable() -> None:
    rec = Recorder(*[httpx.Response(503) for _ in range(3)])
    with pytest.raises(PlatformUnavailable, match="acct-1"):
        await rec.client(max_attempts=3).json("GET", "/x")
    assert len(rec.requests) == 3


async def test_post_is_not_retried_on_500_but_is_on_connect_error() -> None:
    rec = Recorder(httpx.Response(500))
    with pytest.raises(PlatformUnavailable):
        await rec.client().json("POST", "/publish", json={})
    assert len(rec.requests) == 1
    rec2 = Recorder(httpx.ConnectError("refused"), httpx.Response(200, json={"id": 1}))
    assert await rec2.client().json("POST", "/publish", json={}) == {"id": 1}


@pytest.mark.parametrize(
    ("status", "cls"),
    [(401, PlatformAuthFailed), (403, PlatformAuthFailed), (404, PlatformNotFound), (422, PlatformRejected)],
)
async def test_status_translation(status: int, cls: type[Exception]) -> None:
    rec = Recorder(httpx.Response(status, json={"error": "nope"}))
    with pytest.raises(cls, match=f"GET /x -> HTTP {status}: nope"):
        await rec.client().json("GET", "/x")


async def test_error_messages_scrub_secrets_echoed_by_the_platform() -> None:
    secret = "tok-SECRET-value-123"
    register_secret(secret)
    rec = Recorder(httpx.Response(401, json={"error": f"token {secret} is invalid"}))
    with pytest.raises(PlatformAuthFailed) as err:
        await rec.client().json("GET", "/x", token=secret)
    assert secret not in str(err.value)
    assert rec.requests[0].headers["authorization"] == f"Bearer {secret}"


def test_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert retry_after_seconds({"retry-after": "12"}, now) == 12
    assert retry_after_seconds({"x-rate-limit-reset": str(int(now) + 30)}, now) == 30
    assert retry_after_seconds({"retry-after": "Tue, 14 Nov 2023 22:13:40 GMT"}, now) == 20
    assert retry_after_seconds({"x-ratelimit-reset": "2023-11-14T22:14:20Z"}, now) == 60
    assert retry_after_seconds({}, now) is None


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    st.lists(
        st.text(
            alphabet=st.one_of(st.sampled_from("/?#&=.%;"), st.characters(exclude_categories=("Cs",))),
            min_size=1,
        ),
        min_size=1,
        max_size=5,
    )
)
def test_api_path_segments_survive_url_parsing_whole(segments: list[str]) -> None:
    url = httpx.URL("https://api.example/v1" + api_path(*segments) + "?q=1")
    raw, _, query = url.raw_path.decode("ascii").partition("?")
    assert [unquote(s) for s in raw.split("/")[2:]] == segments
    assert query == "q=1"


@pytest.mark.parametrize(
    ("segment", "encoded"),
    [("1234/feed?x=", "1234%2Ffeed%3Fx%3D"), ("..", "%2E%2E"), (".", "%2E"), ("a.b", "a.b"), ("é", "%C3%A9")],
)
def test_api_path_encodes_each_segment_whole(segment: str, encoded: str) -> None:
    assert api_path("api", segment, "comments") == f"/api/{encoded}/comments"


def test_api_path_refuses_an_empty_id() -> None:
    with pytest.raises(PlatformRejected, match="empty"):
        api_path("api", "")


def _live(*types: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, types))


async def test_errors_a_caller_keeps_hold_no_response_or_retry_state() -> None:
    """A caller may keep the errors it gets (a last error, a status, a task's result): a
    hundred of them hold no response, headers, retry state or the frames of the attempts."""
    before = _live(httpx.Response, AsyncRetrying, RetryCallState)
    retried = [httpx.Response(503, json={"error": "busy"}) for _ in range(100)]
    final = [httpx.Response(423, json={"error": "locked"}) for _ in range(50)]
    rec = Recorder(*retried, *final)
    client = rec.client(max_attempts=2)
    kept: list[Exception] = []
    for _ in range(50):
        with pytest.raises(PlatformUnavailable) as unavailable:
            await client.json("GET", "/x")
        kept.append(unavailable.value)
    for _ in range(50):
        with pytest.raises(PlatformRejected) as rejected:
            await client.json("GET", "/x")
        kept.append(rejected.value)
    del retried, final
    assert _live(httpx.Response, AsyncRetrying, RetryCallState) == before
    assert all(e.__context__ is None and e.__cause__ is None for e in kept)
    assert "HTTP 503" in str(kept[0]) and "HTTP 423" in str(kept[-1])  # the message stays whole
