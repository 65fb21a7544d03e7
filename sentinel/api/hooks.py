"""Webhooks platforms push to the daemon: ``/v1/hooks/meta`` and ``/v1/hooks/x``.

These routes take no Vault token (a platform has none): their authentication is the
platform's signature, checked against a secret read from Vault (``<kv_mount>/system/hooks/
<platform>``) before a byte of the body is parsed:

- **Meta** (Facebook Page ``feed``, Instagram): the subscription handshake ``GET
  ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...`` answers the challenge when
  the verify token matches (``verify_token``); a delivery's ``X-Hub-Signature-256`` is
  ``sha256=<hex HMAC-SHA256 of the raw body>`` keyed with the app secret (``app_secret``).
  The body's ``entry[].id`` is the Page or Instagram account.
- **X** (Account Activity API): the CRC ``GET ?crc_token=...`` answers ``{"response_token":
  "sha256=<base64 HMAC-SHA256 of the token>"}`` keyed with the consumer secret
  (``consumer_secret``); a delivery's ``x-twitter-webhooks-signature`` is the same HMAC of
  the raw body. ``for_user_id`` is the account.

A verified delivery only wakes the reconcile of the accounts it names (``Watcher.wake``):
what reaches the engine is what the platform lists, so a forged, replayed or altered
delivery cannot put a post into the engine that is not on the platform. A body already
seen in the last hour (by its digest) is answered ``duplicate`` and wakes nothing again.
Bodies are bounded like every request's (``[api] max_body_bytes``, 413 ``body_too_large``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from sentinel.api.body import decode_json
from sentinel.api.deps import Host
from sentinel.api.errors import ApiError
from sentinel.logs import get_logger

log = get_logger("sentinel.api.hooks")

ROUTES: tuple[tuple[str, str, str, str], ...] = (
    ("GET", "/v1/hooks/{platform}", "hook_verify", "hook_verify"),
    ("POST", "/v1/hooks/{platform}", "hook_deliver", "hook_deliver"),
)
HOOKS = ("meta", "x")
SECRETS = {"meta": ("app_secret", "verify_token"), "x": ("consumer_secret",)}
MAX_CHALLENGE = 512
SEEN_SECONDS = 3600.0
SEEN_MAX = 10_000
SECRET_TTL = 60.0
"""Seconds a secret read from Vault is used before it is read again (so a rotation applies)."""
SecretReader = Callable[[str], Mapping[str, str] | None]
Wake = Callable[[str, Sequence[str]], list[str]]


def hmac_sha256(secret: str, data: bytes) -> bytes:
    return hmac.new(secret.encode(), data, hashlib.sha256).digest()


def meta_signature(app_secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` of ``body``."""
    return "sha256=" + hmac_sha256(app_secret, body).hex()


def x_signature(consumer_secret: str, data: bytes) -> str:
    """``x-twitter-webhooks-signature`` of a body, and the CRC ``response_token`` of a token."""
    return "sha256=" + base64.b64encode(hmac_sha256(consumer_secret, data)).decode()


def accounts_named(hook: str, payload: Any) -> list[str]:
    """The platform account ids a verified delivery is about."""
    if not isinstance(payload, dict):
        return []
    if hook == "x":
        user = payload.get("for_user_id")
        return [str(user)] if isinstance(user, str | int) else []
    entries = payload.get("entry")
    if not isinstance(entries, list):
        return []
    ids = [str(e["id"]) for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str | int)]
    return list(dict.fromkeys(ids))


class HookState:
    """Secrets read from Vault (briefly cached) and the digests of recent deliveries."""

    def __init__(self, read: SecretReader, clock: Callable[[], float] = time.monotonic) -> None:
        self.read = read
        self.clock = clock
        self._secrets: dict[str, tuple[float, Mapping[str, str] | None]] = {}
        self._seen: OrderedDict[bytes, float] = OrderedDict()

    async def secrets(self, hook: str) -> Mapping[str, str]:
        now = self.clock()
        cached = self._secrets.get(hook)
        if cached is None or now - cached[0] > SECRET_TTL:
            cached = (now, await asyncio.to_thread(self.read, hook))
            self._secrets[hook] = cached
        found = cached[1] or {}
        if not all(found.get(k) for k in SECRETS[hook]):
            raise ApiError("not_found", f"webhooks for {hook!r} are not set up in this Sentinel")
        return found

    def first_time(self, body: bytes) -> bool:
        """True the first time a verified body arrives within ``SEEN_SECONDS``."""
        now = self.clock()
        while self._seen and (
            len(self._seen) > SEEN_MAX or next(iter(self._seen.values())) < now - SEEN_SECONDS
        ):
            self._seen.popitem(last=False)
        digest = hashlib.sha256(body).digest()
        if digest in self._seen:
            return False
        self._seen[digest] = now
        return True


def _hook(request: Request) -> str:
    hook = str(request.path_params["platform"])
    if hook not in HOOKS:
        raise ApiError("not_found", f"no webhook for {hook[:40]!r}; Sentinel receives: {', '.join(HOOKS)}")
    return hook


def _matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class HookRoutes:
    """The webhook handlers of ``Api`` (see the module docstring)."""

    async def hook_verify(self: Host, request: Request) -> Response:
        hook = _hook(request)
        state = _state(self)
        secrets = await state.secrets(hook)
        q = request.query_params
        if hook == "meta":
            challenge = q.get("hub.challenge", "")
            if (
                q.get("hub.mode") != "subscribe"
                or not challenge
                or len(challenge) > MAX_CHALLENGE
                or not _matches(q.get("hub.verify_token", ""), secrets["verify_token"])
            ):
                raise ApiError("invalid_signature", "the subscription's verify token does not match")
            return PlainTextResponse(challenge)
        token = q.get("crc_token", "")
        if not token or len(token) > MAX_CHALLENGE:
            raise ApiError("invalid_request", "parameter 'crc_token' is required", field="crc_token")
        return JSONResponse({"response_token": x_signature(secrets["consumer_secret"], token.encode())})

    async def hook_deliver(self: Host, request: Request) -> Response:
        hook = _hook(request)
        state = _state(self)
        secrets = await state.secrets(hook)
        header = "x-hub-signature-256" if hook == "meta" else "x-twitter-webhooks-signature"
        given = request.headers.get(header, "")
        if not given:
            raise ApiError("invalid_signature", f"the delivery has no {header} header")
        body = await request.body()  # bounded by the app's BodyLimit ([api] max_body_bytes)
        expected = (
            meta_signature(secrets["app_secret"], body)
            if hook == "meta"
            else x_signature(secrets["consumer_secret"], body)
        )
        if not _matches(given, expected):
            log.warning("hooks.bad_signature", hook=hook, bytes=len(body))
            raise ApiError("invalid_signature", f"the {header} header does not sign this body")
        if not state.first_time(body):
            return JSONResponse({"accepted": True, "duplicate": True, "woken": []})
        ids = accounts_named(hook, decode_json(body))
        woken = self.deps.wake(hook, ids) if self.deps.wake is not None else []
        log.info("hooks.delivered", hook=hook, ids=len(ids), woken=woken)
        return JSONResponse({"accepted": True, "duplicate": False, "woken": woken})


def _state(host: Host) -> HookState:
    if host.deps.hook_secrets is None:
        raise ApiError("not_found", "webhooks are not set up in this Sentinel")
    state = host.deps.extras.get("hooks")
    if not isinstance(state, HookState):
        state = HookState(host.deps.hook_secrets)
        host.deps.extras["hooks"] = state
    return state
