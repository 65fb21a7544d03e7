"""The HTTP client that many accounts' platform adapters share (a batch of rotations, the
responder's and the watcher's adapters).

One client per batch keeps connections to each platform host open across accounts (a
rotation makes about four platform requests; a lockdown several per account). It is
httpx's own transport: these requests go to platforms on the open internet, where a mature
HTTP implementation (strict framing, TLS, proxies from the environment) is worth more than
the fraction of a millisecond a leaner one would save. Only Vault, one origin the operator
configures, is spoken to over Sentinel's own keep-alive pool (``sentinel.vault.aio``).
"""

from __future__ import annotations

import http.cookiejar
import ssl

import httpx

USER_AGENT = "sentinel-social"


def no_cookies() -> http.cookiejar.CookieJar:
    """A cookie jar that keeps nothing, for a client shared by many accounts: a cookie one
    account's answer sets must never ride along on another account's request. (No adapter
    uses cookies; each authenticates with its own token header.)"""
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def shared_client(
    tls: ssl.SSLContext, timeout: float, max_connections: int | None = None
) -> httpx.AsyncClient:
    """A client for many accounts' adapters: no cookies, no redirects followed, at most
    ``max_connections`` connections (per client) when given."""
    return httpx.AsyncClient(
        verify=tls,
        timeout=httpx.Timeout(timeout),
        headers={"user-agent": USER_AGENT},
        cookies=no_cookies(),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=max_connections) if max_connections else httpx.Limits(),
    )
