"""Reading API request bodies: bounded, decoded strictly, one JSON object, fields checked.

``BodyLimit`` (ASGI middleware, outermost in the app) reads every request body before any
handler runs, so before authorization: a declared ``Content-Length`` over the limit is
refused at once (``413``), a chunked body as soon as it passes the limit, and nothing
larger than the limit is ever held. Handlers decode it after authenticating the caller
(``json_body`` / ``optional_body``): strict UTF-8, JSON, at most ``MAX_DEPTH`` levels of
nesting, no lone surrogates (``\\ud800`` is valid JSON but no text); anything else is
``400`` naming the problem.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sentinel.api.errors import ApiError

MAX_FIELD = 512
MAX_BODY_BYTES = 1 << 20
"""Default of ``[api] max_body_bytes``: 1 MiB."""
MAX_DEPTH = 32
"""Objects and arrays nest at most this deep."""


def decode_json(raw: bytes) -> Any:
    """The JSON value in ``raw``, or ``ApiError`` (400) saying what is wrong with it."""
    try:
        text = raw.decode("utf-8")  # strict: refuses invalid bytes and UTF-8-encoded surrogates
    except UnicodeDecodeError as e:
        raise ApiError("invalid_request", f"the body is not valid UTF-8 (byte {e.start})") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep() from None
    except json.JSONDecodeError as e:
        raise ApiError(
            "invalid_request", f"the body is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})"
        ) from None
    _check_text_and_depth(value)
    return value


def _too_deep() -> ApiError:
    return ApiError("invalid_request", f"the body nests objects and arrays deeper than {MAX_DEPTH} levels")


def _check_text_and_depth(value: Any) -> None:
    """Walk ``value`` without recursion: no container deeper than ``MAX_DEPTH``, no lone surrogate."""
    stack: list[tuple[Any, int, str | None]] = [(value, 1, None)]
    while stack:
        item, depth, field = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_DEPTH:
                raise _too_deep()
            for key, sub in item.items():
                _check_text(key, field)
                stack.append((sub, depth + 1, key if depth == 1 and _is_text(key) else field))
        elif isinstance(item, list):
            if depth > MAX_DEPTH:
                raise _too_deep()
            stack.extend((sub, depth + 1, field) for sub in item)
        elif isinstance(item, str):
            _check_text(item, field)


def _is_text(s: str) -> bool:
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_text(s: str, field: str | None) -> None:
    if _is_text(s):
        return
    where = f"field {field!r}" if field is not None else "the body"
    extra = {"field": field} if field is not None else {}
    raise ApiError(
        "invalid_request", f"{where} holds a lone surrogate (\\ud800-\\udfff): not valid Unicode", **extra
    )


class BodyLimit:
    """ASGI middleware: each request body read whole (at most ``max_bytes``) before the app runs."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = None, False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        try:
            length = int(declared) if declared is not None else None
        except ValueError:
            await ApiError("invalid_request", "Content-Length is not a number").response()(
                scope, receive, send
            )
            return
        if not chunked and not length:
            await self.app(scope, receive, send)
            return
        if length is not None and length > self.max_bytes:
            await self.too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self.too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Connection: close, so that the server drops the rest of the body instead of reading it.
        error = ApiError(
            "body_too_large", f"the request body is larger than {self.max_bytes} bytes", limit=self.max_bytes
        )
        await error.response({"Connection": "close"})(scope, receive, send)


def _replay(raw: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return replay


async def _decoded(request: Request) -> Any:
    """The body's JSON value, ``None`` without a body (Starlette caches what it read)."""
    raw = await request.body()
    return decode_json(raw) if raw.strip() else None


def _object(body: Any) -> dict[str, Any]:
    if body is None:
        raise ApiError("invalid_request", "the request needs a JSON object body")
    if not isinstance(body, dict):
        raise ApiError("invalid_request", "the body must be a JSON object")
    return body


async def json_body(request: Request) -> dict[str, Any]:
    return _object(await _decoded(request))


async def optional_body(request: Request) -> dict[str, Any]:
    body = await _decoded(request)
    return {} if body is None else _object(body)


def field_str(
    body: Mapping[str, Any], key: str, required: bool = False, max_len: int = MAX_FIELD, min_len: int = 0
) -> str:
    value = body.get(key)
    if value is None:
        if required:
            raise ApiError("invalid_request", f"field {key!r} is required", field=key)
        return ""
    if not isinstance(value, str):
        raise ApiError("invalid_request", f"field {key!r} must be a string", field=key)
    if len(value) > max_len:
        raise ApiError("invalid_request", f"field {key!r} is longer than {max_len} characters", field=key)
    if len(value) < max(min_len, 1 if required else 0):
        raise ApiError("invalid_request", f"field {key!r} must not be empty", field=key)
    return value


def field_list(body: Mapping[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError("invalid_request", f"field {key!r} must be a list of strings", field=key)
    return value


def field_bool(body: Mapping[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise ApiError("invalid_request", f"field {key!r} must be true or false", field=key)
    return value
