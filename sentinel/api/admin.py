"""Account administration through the API: credential metadata and a rotation on demand.

Both need ``admin`` on the account, the capability for the people who look after an
account's access (not its content): they see what is stored and how old it is, and can
have Sentinel rotate it now (a suspected leak, a person leaving). Neither ever returns a
secret value: revealing one stays a person's deliberate, audited act with their own
Vault token (``sentinel creds show --reveal``).

``AdminRoutes`` is mixed into ``sentinel.api.routes.Api``; ``ROUTES`` lists the routes the
app serves from it (method, path, handler, route name).
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sentinel.api.body import field_str, optional_body
from sentinel.api.deps import Host
from sentinel.api.errors import ApiError
from sentinel.errors import SentinelError, VaultUnavailable
from sentinel.logs import get_logger

log = get_logger("sentinel.api")

ROUTES: tuple[tuple[str, str, str, str], ...] = (
    ("GET", "/v1/accounts/{account}/credentials", "credentials", "credentials"),
    ("POST", "/v1/accounts/{account}/rotate", "rotate", "rotate"),
)

MAX_REASON = 500


class AdminRoutes:
    """The account-administration handlers of ``Api`` (see the module docstring)."""

    async def credentials(self: Host, request: Request) -> Response:
        token, _ = await self.caller(request)
        account = self.account(request.path_params["account"])
        await self.require(token, "admin", account.id, "credentials")
        show = self.deps.credentials
        if show is None:
            raise ApiError(
                "not_configured", "credential metadata needs Vault, which this daemon does not use"
            )
        rows = await asyncio.to_thread(show, account)
        return JSONResponse({"account": account.id, "credentials": rows})

    async def rotate(self: Host, request: Request) -> Response:
        token, _ = await self.caller(request)
        account = self.account(request.path_params["account"])
        caller = await self.require(token, "admin", account.id, "rotate")
        reason = field_str(await optional_body(request), "reason", max_len=MAX_REASON)
        self.refuse_frozen(account)  # a frozen account's credentials are the responders' to rotate
        rotator = self.deps.rotator()
        if rotator is None:
            raise ApiError("not_configured", "the rotation service does not run in this daemon")
        why = f"requested by {caller.actor} through the API" + (f": {reason}" if reason else "")
        try:
            results = await rotator.force_rotate(account.id, why)
        except VaultUnavailable:
            raise
        except SentinelError as e:
            self.audit(
                caller.actor,
                "credential.rotate_requested",
                account.id,
                {"reason": reason, "error": e.message},
            )
            log.warning("api.rotate_failed", account=account.id, actor=caller.actor, error=e.message)
            raise ApiError("rotation_failed", e.message, account=account.id) from None
        out = [r.to_dict() for r in results]
        self.audit(
            caller.actor,
            "credential.rotate_requested",
            account.id,
            {"reason": reason, "results": {r["key"]: r["status"] for r in out}},
        )
        log.info("api.rotate", account=account.id, actor=caller.actor, credentials=len(out))
        return JSONResponse({"account": account.id, "ok": all(r["ok"] for r in out), "results": out})
