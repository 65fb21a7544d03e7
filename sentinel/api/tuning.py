"""Detection tuning through the API: what each rule fired on, and acknowledgements.

- ``GET /v1/rules/stats?days=N``: per rule, mode (``enforce`` or ``observe``) and verdict,
  how often it fired over the last days (the counts ``sentinel rules stats`` shows): on the
  accounts the caller holds ``tune`` on (``scope: accounts``, those ``accounts`` listed), or
  organisation-wide for a ``lockdown`` holder or a caller with ``tune`` on every account
  (``scope: organisation``); ``tune`` on no account and no ``lockdown`` is refused.
- ``GET /v1/rules/acks?all=true``: acknowledgements of the accounts the caller holds
  ``tune`` or ``analytics`` on (every one with ``lockdown``).
- ``POST /v1/rules/acks``: acknowledge ``rule`` on ``account`` for ``key`` for the next
  ``days`` (1 to 366) because ``reason``; needs ``tune`` on the account.
  ``DELETE /v1/rules/acks/{ack}`` revokes one, with the same capability.

Checking, storing and auditing are ``sentinel.acks.Tuning``'s, shared with the CLI; who acts
is the caller's Vault identity. ``TuningRoutes`` is mixed into ``sentinel.api.routes.Api``;
``ROUTES`` lists its routes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sentinel.acks import MAX_AHEAD, AckInvalid, AckUnknown, SelfAcknowledgement, Tuning
from sentinel.api.body import json_body
from sentinel.api.caller_access import Need
from sentinel.api.deps import Host
from sentinel.api.errors import ApiError
from sentinel.rulestats import RuleCount

ROUTES: tuple[tuple[str, str, str, str], ...] = (
    ("GET", "/v1/rules/stats", "rule_stats", "rule_stats"),
    ("GET", "/v1/rules/acks", "acks", "acks"),
    ("POST", "/v1/rules/acks", "ack_create", "ack_create"),
    ("DELETE", "/v1/rules/acks/{ack}", "ack_revoke", "ack_revoke"),
)
MAX_DAYS = 3650
MAX_ACK_DAYS = MAX_AHEAD // 86400


def _tuning(host: Host) -> Tuning:
    if host.deps.tuning is None:
        raise ApiError("not_configured", "acknowledgements are not kept in this daemon")
    return host.deps.tuning


def _days(request: Request) -> int:
    raw = request.query_params.get("days")
    if raw is None:
        return 7
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise ApiError("invalid_request", f"days must be a whole number from 1 to {MAX_DAYS}", field="days")
    return int(raw)


def _ack_days(value: object) -> int:
    """``days`` of an acknowledgement: a JSON integer (289.0 is one too) from 1 to a year."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        value = None
    if value is not None and float(value).is_integer() and 1 <= value <= MAX_ACK_DAYS:
        return int(value)
    raise ApiError("invalid_request", f"days must be a whole number from 1 to {MAX_ACK_DAYS}", field="days")


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "false":
        return False
    if raw == "true":
        return True
    raise ApiError("invalid_request", f"{name} must be 'true' or 'false'", field=name)


async def _holding(host: Host, token: str, capabilities: Iterable[str]) -> tuple[bool, set[str]]:
    """Whether the token holds ``lockdown``, and the accounts it holds any of ``capabilities`` on."""
    accounts = [a.id for a in host.deps.inventory()]
    needs = [Need("lockdown")] + [Need(c, a) for a in accounts for c in capabilities]
    _, got = await host.deps.authorizer.grants(token, needs)
    return got[Need("lockdown")], {n.account for n, ok in got.items() if ok and n.account}


class TuningRoutes:
    """The detection-tuning handlers of ``Api`` (see the module docstring)."""

    async def rule_stats(self: Host, request: Request) -> Response:
        token, caller = await self.caller(request)
        days = _days(request)
        read = self.deps.rule_stats
        lockdown, tuned = await _holding(self, token, ["tune"])
        self.deps.authorizer.record(caller, Need("tune"), lockdown or bool(tuned), "rule_stats")
        if not (lockdown or tuned):
            raise ApiError(
                "missing_capability",
                "rule statistics need 'tune' on an account or 'lockdown'",
                capability="tune",
            )
        if read is None:
            raise ApiError("not_configured", "rule statistics are not kept in this daemon")
        since = time.time() - days * 86400
        if lockdown or tuned.issuperset(a.id for a in self.deps.inventory()):
            counts: list[RuleCount] = read(since, None)
            return JSONResponse(
                {"days": days, "scope": "organisation", "rules": [c.to_dict() for c in counts]}
            )
        counts = read(since, tuned)
        body = {
            "days": days,
            "scope": "accounts",
            "accounts": sorted(tuned),
            "rules": [c.to_dict() for c in counts],
        }
        return JSONResponse(body)

    async def acks(self: Host, request: Request) -> Response:
        token, _ = await self.caller(request)
        everything = _flag(request, "all")
        tuning = _tuning(self)
        lockdown, seen = await _holding(self, token, ["tune", "analytics"])
        rows = [a.to_dict() for a in tuning.list(active_only=not everything) if lockdown or a.account in seen]
        return JSONResponse({"acks": rows})

    async def ack_create(self: Host, request: Request) -> Response:
        token, _ = await self.caller(request)
        body = await json_body(request)
        tuning = _tuning(self)
        until = tuning.clock() + _ack_days(body.get("days")) * 86400
        try:
            req = tuning.check(
                body.get("rule"), body.get("account"), body.get("key"), until, body.get("reason")
            )
        except AckUnknown as e:
            raise ApiError("not_found", e.message, field=e.field) from None
        except AckInvalid as e:
            raise ApiError("invalid_request", e.message, field=e.field) from None
        caller = await self.require(token, "tune", req.account, "ack_create")
        try:
            got = tuning.add(req, caller.actor, self.audit)
        except SelfAcknowledgement as e:
            raise ApiError("self_acknowledgement", e.message, field=e.field) from None
        return JSONResponse(got.to_dict(), status_code=201)

    async def ack_revoke(self: Host, request: Request) -> Response:
        token, _ = await self.caller(request)
        raw = request.path_params["ack"]
        tuning = _tuning(self)
        found = tuning.active(int(raw)) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None
        if found is None:
            raise ApiError("not_found", f"no active acknowledgement {raw!r}")
        caller = await self.require(token, "tune", found.account, "ack_revoke")
        got = tuning.revoke(found, caller.actor, self.audit)
        if got is None:
            raise ApiError("not_found", f"no active acknowledgement {raw!r}")
        return JSONResponse({**got.to_dict(), "revoked_by": caller.actor})
