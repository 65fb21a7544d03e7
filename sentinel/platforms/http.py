"""The one HTTP helper every adapter uses: timeouts, bounded retries, error translation.

Retries: up to ``max_attempts`` tries on 5xx, 429 and connection failures, waiting an
exponential backoff with jitter, or what the platform asked for (``Retry-After`` as seconds
or an HTTP date; ``RateLimit-Reset`` / ``X-RateLimit-Reset`` / ``X-Rate-Limit-Reset`` as
seconds, epoch seconds or an ISO timestamp). A wait longer than ``max_wait`` is not slept
through: ``PlatformRateLimited`` is raised with ``retry_after`` so the caller can schedule.
Requests that are not idempotent (POST by default) are retried only when the platform
cannot have acted on them: connection failures, 429 and 503.

Every failure becomes a ``PlatformError`` subclass whose one-line message names the
platform, account, method and path, with any secret scrubbed.

An answer is read whole within ``deadline`` seconds and ``max_body`` bytes (decoded): a body
that drips slower or runs longer ends the attempt (``PlatformUnavailable``) instead of
holding the caller or its memory. A redirect is never followed and is not an answer: it
fails naming only the host it pointed to. A JSON body nested deeper than the decoder goes is
"not JSON" like any other.

Adapters build every request path that holds an id with ``api_path``: each segment is
percent-encoded whole, so an id (a ``reply_to`` from a request, a comment id from a
platform) is one segment and never a path, a query, a fragment or a ``..``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from sentinel.errors import PlatformError
from sentinel.logs import get_logger
from sentinel.platforms.errors import (
    PlatformAuthFailed,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformRejected,
    PlatformUnavailable,
)
from sentinel.platforms.health import HEALTH
from sentinel.redact import scrub
from sentinel.retry import RetryPolicy, TryAgain, retry_after_seconds, with_retries

__all__ = ["ErrorHook", "HttpClient", "Sleep", "api_path", "error_text", "retry_after_seconds"]

log = get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]
ErrorHook = Callable[[httpx.Response, str], PlatformError | None]
"""Platform-specific translation of an error response (``None``: use the generic one)."""

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
MAX_BODY = 8 << 20
"""The largest answer read (decoded): a page of posts or an account's state is kilobytes."""
DEADLINE = 60.0
"""The longest one attempt may take, answer included (``timeout`` bounds each wait within it)."""
_HOP_HEADERS = ("content-encoding", "content-length", "transfer-encoding")


def decode_json(response: httpx.Response) -> Any:
    """The body as JSON; ``ValueError`` when it is not (nesting too deep included)."""
    try:
        return response.json()
    except RecursionError:
        raise ValueError("JSON nested too deep") from None


def api_path(*segments: str) -> str:
    """``/seg/seg/...`` with each segment percent-encoded whole (only RFC 3986's unreserved
    characters stay as they are; ``.`` and ``..`` are encoded too, since URL normalisation
    would resolve them). An empty segment is refused: it would change which resource is meant."""
    parts = []
    for segment in segments:
        if not segment:
            raise PlatformRejected("an id in the request path is empty")
        encoded = quote(segment, safe="")
        parts.append(encoded.replace(".", "%2E") if not encoded.strip(".") else encoded)
    return "/" + "/".join(parts)


def error_text(response: httpx.Response, limit: int = 200) -> str:
    """A short, scrubbed description of an error body (JSON ``error``/``message`` preferred)."""
    text = ""
    try:
        body = decode_json(response)
    except ValueError:
        body = None
    if isinstance(body, dict):
        parts = []
        for key in ("error", "error_description", "message", "title", "detail"):
            val = body.get(key)
            if isinstance(val, str) and val:
                parts.append(val)
            elif isinstance(val, dict) and isinstance(val.get("message"), str):
                parts.append(val["message"])
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            parts.append(str(first.get("message") or first.get("detail") or first.get("title") or ""))
        text = ": ".join(p for p in parts if p)
    if not text:
        text = response.text
    text = " ".join(scrub(text).split())
    return text[:limit]


@dataclass(frozen=True, slots=True)
class _Call:
    """One request as every attempt sends it."""

    method: str
    path: str
    where: str
    idempotent: bool
    params: Mapping[str, Any] | None
    json: Any
    data: Mapping[str, Any] | None
    headers: dict[str, str]


class HttpClient:
    """An ``httpx.AsyncClient`` with Sentinel's retry and error rules, for one account."""

    def __init__(
        self,
        platform: str,
        account: str,
        base_url: str = "",
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
        timeout: float = 15.0,
        max_attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_wait: float = 30.0,
        max_body: int = MAX_BODY,
        deadline: float = DEADLINE,
        sleep: Sleep | None = None,
        error_hook: ErrorHook | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.platform = platform
        self.account = account
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.policy = RetryPolicy(self.max_attempts, backoff, max_backoff)
        self.max_wait = max_wait
        self.max_body = max_body
        self.deadline = deadline
        self._sleep: Sleep = sleep or asyncio.sleep
        self._error_hook = error_hook
        self._owns_client = client is None
        # On a shared client the account's own default headers go with each request.
        self._headers = dict(headers or {}) if client is not None else {}
        # A shared client (many accounts, one connection pool) is not re-based: paths are prefixed.
        self._prefix = base_url.rstrip("/") if client is not None else ""
        self._client = client or httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers={"user-agent": "sentinel-social", **(headers or {})},
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def _url(self, path: str) -> str:
        if not self._prefix or path.startswith(("http://", "https://")):
            return path
        return f"{self._prefix}/{path.lstrip('/')}"

    def _where(self, method: str, path: str) -> str:
        return f"account {self.account!r} on {self.platform}: {method} {path}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one request (retrying as described above); return a 2xx response or raise.

        While the platform's ``Retry-After`` for this account runs, nothing is sent, whoever
        calls: what is left of a wait up to ``max_wait`` is slept first (as a retry would), a
        longer one raises ``PlatformRateLimited`` with the time left at once.
        """
        wait = HEALTH.account_wait(self.platform, self.account)
        if wait > self.max_wait:
            raise PlatformRateLimited(
                f"{self._where(method.upper(), path)}: the platform asked to wait {wait:.0f} s more",
                retry_after=wait,
            )
        if wait > 0:
            await self._sleep(wait)
        try:
            response = await self._request(method, path, params, json, data, headers, token, idempotent)
        except (PlatformUnavailable, PlatformRateLimited, PlatformAuthFailed) as e:
            HEALTH.failed(self.platform, e.message)
            raise
        except PlatformError:
            HEALTH.ok(self.platform)  # the platform answered (the request was wrong, or the thing absent)
            raise
        HEALTH.ok(self.platform, self.account)
        return response

    async def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        token: str | None,
        idempotent: bool | None,
    ) -> httpx.Response:
        method = method.upper()
        hdrs = {**self._headers, **(headers or {})}
        if token:
            hdrs["authorization"] = f"Bearer {token}"
        call = _Call(
            method,
            path,
            self._where(method, path),
            method in _IDEMPOTENT if idempotent is None else idempotent,
            params,
            json,
            data,
            hdrs,
        )
        try:
            return await self._attempts(call)
        except PlatformError as e:
            error = e
        # Raised afresh from here, with no traceback or context of the attempts: a caller that
        # keeps the error (a status, a last error, a task's result) keeps this one small
        # frame, not the response, its headers, the retry state and every attempt's frames.
        error.__context__ = error.__cause__ = None
        raise error.with_traceback(None)

    async def _attempts(self, call: _Call) -> httpx.Response:
        def retried(attempt: int, delay: float, again: TryAgain) -> None:
            log.warning(
                "platform.retry",
                where=call.where,
                attempt=attempt,
                reason=again.reason,
                delay=round(delay, 3),
            )

        try:
            return await with_retries(self.policy, self._sleep, lambda: self._once(call), retried)
        except TryAgain as e:  # out of attempts: the error the last one would have ended with
            raise e.error from None

    async def _once(self, call: _Call) -> httpx.Response:
        """One try: the response, a final error, or ``TryAgain`` with the error it would end in."""
        error: PlatformError
        where = call.where
        try:
            response = await self._fetch(call)
        except TimeoutError:
            error = PlatformUnavailable(f"{where}: no whole answer within {self.deadline:g} s")
            if not call.idempotent:
                raise error from None
            raise TryAgain(error, reason="deadline") from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:
            error = PlatformUnavailable(f"{where}: cannot connect: {scrub(str(e)) or type(e).__name__}")
            raise TryAgain(error, reason=f"connect: {type(e).__name__}") from None
        except httpx.TransportError as e:
            error = PlatformUnavailable(f"{where}: {type(e).__name__}: {scrub(str(e))}")
            if not call.idempotent:  # the platform may have acted on it
                raise error from None
            raise TryAgain(error, reason=type(e).__name__) from None
        status = response.status_code
        if status < 300:
            return response
        if status < 400:
            target = httpx.URL(response.headers.get("location", "")).host or "nowhere"
            raise PlatformUnavailable(f"{where} -> HTTP {status}: redirected to {target}, not followed")
        retryable = status in (429, 503) or (status >= 500 and call.idempotent)
        wait = retry_after_seconds(response.headers) if retryable else None
        if wait is not None:
            HEALTH.rate_limited(self.platform, wait, self.account)
        error = self._translate(response, where, wait)
        if retryable and (wait is None or wait <= self.max_wait):
            raise TryAgain(error, asked=wait, reason=f"HTTP {status}")
        raise error

    async def _fetch(self, call: _Call) -> httpx.Response:
        """The whole answer to one attempt, read within ``deadline`` and ``max_body``."""
        request = self._client.build_request(
            call.method,
            self._url(call.path),
            params=call.params,
            json=call.json,
            data=call.data,
            headers=call.headers,
        )
        async with asyncio.timeout(self.deadline):
            response = await self._client.send(request, stream=True)
            try:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_body:
                        raise PlatformUnavailable(
                            f"{call.where} -> HTTP {response.status_code}: answer longer than "
                            f"{self.max_body} bytes, not read"
                        )
            finally:
                await response.aclose()
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _HOP_HEADERS]
        return httpx.Response(response.status_code, headers=headers, content=bytes(body), request=request)

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """``request`` and decode a JSON body (an empty body is ``{}``)."""
        response = await self.request(method, path, **kwargs)
        if not response.content:
            return {}
        try:
            return decode_json(response)
        except ValueError:
            raise PlatformRejected(
                f"{self._where(method.upper(), path)}: answer is not JSON (HTTP {response.status_code})"
            ) from None

    def _translate(self, response: httpx.Response, where: str, wait: float | None) -> PlatformError:
        status = response.status_code
        detail = error_text(response)
        if self._error_hook is not None:
            specific = self._error_hook(response, f"{where} -> HTTP {status}: {detail}")
            if specific is not None:
                return specific
        msg = f"{where} -> HTTP {status}: {detail}" if detail else f"{where} -> HTTP {status}"
        if status == 429:
            if wait is None:
                wait = retry_after_seconds(response.headers)
            return PlatformRateLimited(msg, retry_after=wait)
        if status in (401, 403):
            return PlatformAuthFailed(msg)
        if status in (404, 410):
            return PlatformNotFound(msg)
        if status >= 500:
            return PlatformUnavailable(msg)
        return PlatformRejected(msg)
