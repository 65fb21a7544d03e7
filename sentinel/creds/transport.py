"""The HTTP transport of clients that many accounts' platform adapters share (a batch of
rotations, the responder's and the watcher's adapters).

A rotation makes about four platform requests (log in, change, log in with the new secret,
end that session). Through httpx's default transport (httpcore, anyio, h11) each costs
~0.5 ms of CPU, more than the platform spends answering it; this transport hands httpx's
requests to the keep-alive pool of ``sentinel.vault.aio`` (one per origin) instead. httpx
still builds the requests, decodes the answers (content encodings included) and applies
its timeouts-as-errors contract: pool errors become the ``httpx`` exceptions the adapters'
retry rules expect (``ConnectError``/``ConnectTimeout`` when nothing was sent).

Used only where it is safe to: no proxy is configured in the environment (httpx would
honour one; this pool does not speak to proxies), plain ``http``/``https`` origins.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import ssl
import urllib.request

import httpx

from sentinel.vault.aio import ConnectFailed, Pool


def proxied() -> bool:
    """True when the environment names an HTTP(S) proxy (then httpx's transport is used)."""
    env = urllib.request.getproxies_environment()
    return any(k in env for k in ("http", "https", "all"))


def no_cookies() -> http.cookiejar.CookieJar:
    """A cookie jar that keeps nothing, for a client shared by many accounts: a cookie one
    account's answer sets must never ride along on another account's request. (No adapter
    uses cookies; each authenticates with its own token header.)"""
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


class PooledTransport(httpx.AsyncBaseTransport):
    def __init__(self, tls: ssl.SSLContext, timeout: float, max_connections: int | None = None) -> None:
        """``max_connections``: per origin (platform host)."""
        self.tls = tls
        self.timeout = timeout
        self.max_connections = max_connections
        self._pools: dict[tuple[str, str, int | None], Pool] = {}

    def _pool(self, url: httpx.URL) -> Pool:
        key = (url.scheme, url.host, url.port)
        pool = self._pools.get(key)
        if pool is None:
            host = f"[{url.host}]" if ":" in url.host else url.host
            port = url.port or (443 if url.scheme == "https" else 80)
            pool = self._pools[key] = Pool(
                f"{url.scheme}://{host}:{port}", self.tls, self.timeout, self.max_connections
            )
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._pool(request.url)
        body = await request.aread()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        target = request.url.raw_path.decode("ascii")
        sent = request.method in ("POST", "PUT", "PATCH") or bool(body)
        try:
            answer = await pool.request(request.method, target, headers, body if sent else None)
        except ConnectFailed as e:
            raise httpx.ConnectError(str(e), request=request) from None
        except TimeoutError:
            raise httpx.ReadTimeout("timed out waiting for the answer", request=request) from None
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            raise httpx.ReadError(f"{e.__class__.__name__}: {e}", request=request) from None
        return httpx.Response(
            answer.status,
            headers=list(answer.raw_headers),
            stream=httpx.ByteStream(answer.body),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
