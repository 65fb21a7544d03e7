"""The CLI's way to the running daemon's API, with the person's own Vault token.

Held posts live in the daemon (it publishes an approved broker post), and incident work is
authorized as the API authorizes it; commands that do these talk to ``[api] host:port``
so the four-eyes rule and the capability checks are the API's own, whoever calls.
"""

from __future__ import annotations

from typing import Any

import httpx

from sentinel.cli.context import Context
from sentinel.errors import SentinelError


class ApiCallFailed(SentinelError):
    """The daemon's API refused the request; the message is its own."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class DaemonUnreachable(SentinelError):
    exit_code = 3


# API error codes -> the CLI's exit codes (see ``sentinel --help``)
EXIT = {"missing_capability": 6, "self_approval": 6, "step_up_failed": 6, "invalid_token": 3}


def call(ctx: Context, method: str, path: str, json: dict[str, Any] | None = None, **params: str) -> Any:
    api = ctx.config.api
    if not api.enabled:
        raise DaemonUnreachable("this needs the daemon's API, and [api] enabled is false in the config")
    host = f"[{api.host}]" if ":" in api.host else api.host
    host = "127.0.0.1" if host in ("0.0.0.0", "[::]") else host  # noqa: S104 - where to reach a wildcard bind
    url = f"http://{host}:{api.port}"
    try:
        resp = httpx.request(
            method,
            url + path,
            json=json,
            params=params or None,
            headers={"X-Vault-Token": ctx.person_token()},
            timeout=60,
        )
    except httpx.HTTPError as e:
        raise DaemonUnreachable(
            f"the daemon's API at {url} does not answer ({e.__class__.__name__}); is `sentinel run` running?"
        ) from None
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code >= 400:
        err = body.get("error", {}) if isinstance(body, dict) else {}
        code = str(err.get("code", ""))
        raise ApiCallFailed(str(err.get("message") or f"HTTP {resp.status_code}"), EXIT.get(code, 1))
    return body
