"""Request bodies: bounded while read, decoded strictly, nesting and surrogates refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sentinel.api.body import MAX_DEPTH, BodyLimit, decode_json, json_body, optional_body
from sentinel.api.errors import ApiError


def nested(depth: int) -> bytes:
    return b"[" * (depth - 1) + b"{}" + b"]" * (depth - 1)


def test_decode_accepts_json_up_to_the_nesting_limit() -> None:
    value = decode_json(nested(MAX_DEPTH))
    for _ in range(MAX_DEPTH - 1):
        value = value[0]
    assert value == {}


@pytest.mark.parametrize("raw", [nested(MAX_DEPTH + 1), b'{"a": ' * 40 + b"1" + b"}" * 40, b"[" * 200_000])
def test_decode_refuses_deeper_nesting(raw: bytes) -> None:
    with pytest.raises(ApiError, match=f"deeper than {MAX_DEPTH} levels") as e:
        decode_json(raw)
    assert e.value.status == 400


def test_decode_names_the_field_holding_a_lone_surrogate() -> None:
    with pytest.raises(ApiError, match="lone surrogate") as e:
        decode_json(b'{"ok": "fine", "text": ["x", {"deep": "\\udc00"}]}')
    assert e.value.extra == {"field": "text"}


def test_a_surrogate_in_a_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ApiError, match="the body holds a lone surrogate") as e:
        decode_json(b'{"\\ud800": 1}')
    assert e.value.extra == {}
    e.value.message.encode("utf-8")  # the answer itself is valid text


def test_decode_keeps_valid_unicode_and_pairs() -> None:
    assert decode_json('{"text": "café \\ud83d\\ude00 ✓"}'.encode()) == {"text": "café \U0001f600 ✓"}


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b'{"text": "\xff"}', "not valid UTF-8 (byte 10)"),
        (b'{"text": "\xed\xa0\x80"}', "not valid UTF-8"),
        (b'{"text": ', "not valid JSON (Expecting value at line 1 column 10)"),
    ],
)
def test_decode_names_encoding_and_syntax_errors(raw: bytes, problem: str) -> None:
    with pytest.raises(ApiError) as e:
        decode_json(raw)
    assert problem in e.value.message


class Recorder:
    def __init__(self) -> None:
        self.seen: list[Any] = []


def app(limit: int, recorder: Recorder) -> Starlette:
    async def required(request: Request) -> Response:
        try:
            recorder.seen.append(await json_body(request))
        except ApiError as e:
            return e.response()
        return JSONResponse({"ok": True})

    async def optional(request: Request) -> Response:
        recorder.seen.append(await optional_body(request))
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[Route("/r", required, methods=["POST"]), Route("/o", optional, methods=["POST"])],
        middleware=[Middleware(BodyLimit, max_bytes=limit)],
    )


async def post(limit: int, path: str, **kw: Any) -> tuple[httpx.Response, Recorder]:
    recorder = Recorder()
    transport = httpx.ASGITransport(app=app(limit, recorder))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post(path, **kw), recorder


async def test_a_declared_length_over_the_limit_is_refused_without_reaching_the_handler() -> None:
    resp, recorder = await post(1000, "/r", content=b"x" * 1001)
    assert resp.status_code == 413
    assert resp.json()["error"] == {
        "code": "body_too_large",
        "message": "the request body is larger than 1000 bytes",
        "limit": 1000,
    }
    assert resp.headers["connection"] == "close"
    assert recorder.seen == []


async def test_a_streamed_body_is_cut_off_once_past_the_limit() -> None:
    pulled = 0

    async def stream() -> Any:
        nonlocal pulled
        for _ in range(100):
            pulled += 1
            yield b" " * 100

    resp, recorder = await post(1000, "/r", content=stream())
    assert resp.status_code == 413
    assert recorder.seen == []
    assert pulled < 100


async def test_a_body_at_the_limit_reaches_the_handler_decoded() -> None:
    body = b'{"text": "' + b"x" * 988 + b'"}'
    assert len(body) == 1000
    resp, recorder = await post(1000, "/r", content=body)
    assert resp.status_code == 200
    assert recorder.seen == [{"text": "x" * 988}]


async def test_bad_json_is_answered_400_naming_the_field() -> None:
    resp, recorder = await post(1000, "/r", content=b'{"a": "\\ud800"}')
    assert resp.status_code == 400
    assert resp.json()["error"]["field"] == "a"
    assert recorder.seen == []


async def test_no_body_is_an_empty_optional_body_and_a_missing_required_one() -> None:
    resp, recorder = await post(1000, "/o")
    assert resp.status_code == 200
    assert recorder.seen == [{}]
    resp, _ = await post(1000, "/r")
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == "the request needs a JSON object body"


async def test_a_json_value_that_is_not_an_object_is_refused() -> None:
    resp, _ = await post(1000, "/r", content=b"[1, 2]")
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == "the body must be a JSON object"
