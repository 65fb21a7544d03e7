"""A tiny router for httpx.MockTransport: documented request/response shapes per endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

Reply = httpx.Response | Callable[[httpx.Request], httpx.Response]


class MockApi:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, url: str, *replies: Reply) -> MockApi:
        """Answer ``method url`` (scheme+host+path, no query) with the replies in turn (last repeats)."""
        self.routes[(method.upper(), url)] = list(replies)
        return self

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, str(request.url.copy_with(query=None)))
        replies = self.routes.get(key)
        if not replies:
            return httpx.Response(404, json={"error": f"no mock for {key}"})
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        return reply(request) if callable(reply) else reply

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def last(self, method: str, url: str) -> httpx.Request:
        for r in reversed(self.requests):
            if r.method == method and str(r.url.copy_with(query=None)) == url:
                return r
        raise AssertionError(f"no {method} {url} request was sent")


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def form(request: httpx.Request) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(request.content.decode()))


async def no_sleep(_: float) -> None:
    return None
