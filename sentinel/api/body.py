"""Reading API request bodies: one JSON object, its fields checked with errors naming them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from sentinel.api.errors import ApiError

MAX_FIELD = 512


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        raise ApiError("invalid_request", "the request needs a JSON object body")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("invalid_request", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError("invalid_request", "the body must be a JSON object")
    return body


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


async def optional_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    return await json_body(request)
