"""Comment moderation: list the replies under an account's post, hide or show one, delete one.

Each route needs ``moderate`` on the account (listing also accepts ``analytics``), asks the
platform's ``PlatformInfo`` first (a platform without the API answers ``422 not_supported``
with the manual step, before any credential is read), then acts through the account's
adapter with the credential from Vault. Every hide, unhide and delete is written to the
audit trail with the caller as actor.

``ModerationRoutes`` is mixed into ``sentinel.api.routes.Api``; ``ROUTES`` lists the routes
the app serves from it (method, path, handler, route name).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sentinel.api.caller_access import Need
from sentinel.api.deps import Host
from sentinel.api.errors import ApiError
from sentinel.inventory import Account
from sentinel.logs import get_logger
from sentinel.platforms.base import Capability, PlatformAdapter
from sentinel.platforms.errors import PlatformNotFound, PlatformNotSupported, PlatformRejected
from sentinel.platforms.registry import capabilities_for

log = get_logger("sentinel.api")

ROUTES: tuple[tuple[str, str, str, str], ...] = (
    ("GET", "/v1/accounts/{account}/posts/{post}/comments", "comments_list", "comments_list"),
    ("POST", "/v1/accounts/{account}/comments/{comment}/hide", "comment_hide", "comment_hide"),
    ("POST", "/v1/accounts/{account}/comments/{comment}/unhide", "comment_unhide", "comment_unhide"),
    ("DELETE", "/v1/accounts/{account}/comments/{comment}", "comment_delete", "comment_delete"),
)

PLATFORM_ID = re.compile(r"[!-.0-~]{1,512}")
"""Post and comment ids in paths: 1-512 printable ASCII characters, no ``/``."""
MAX_COMMENTS = 100


def path_id(request: Request, name: str) -> str:
    value = str(request.path_params[name])
    if not PLATFORM_ID.fullmatch(value):
        raise ApiError("invalid_request", f"{name} ids are 1-512 printable ASCII characters", field=name)
    return value


def comment_limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return 50
    try:
        limit = int(raw)
    except ValueError:
        raise ApiError("invalid_request", "limit must be a whole number", field="limit") from None
    if not 1 <= limit <= MAX_COMMENTS:
        raise ApiError("invalid_request", f"limit must be between 1 and {MAX_COMMENTS}", field="limit")
    return limit


def offered(account: Account, capability: Capability) -> None:
    """``422 not_supported`` (with the manual step) when the platform's API lacks ``capability``."""
    try:
        capabilities_for(account.platform).require(capability, account.id)
    except PlatformNotSupported as e:
        raise unsupported(e, account) from None


def unsupported(e: PlatformNotSupported, account: Account) -> ApiError:
    extra = {"instructions": e.instructions} if e.instructions else {}
    return ApiError("not_supported", e.message, account=account.id, **extra)


@asynccontextmanager
async def platform(host: Host, account: Account) -> AsyncIterator[PlatformAdapter]:
    """The account's adapter, closed afterwards; platform answers become API errors: gone is
    ``not_found``, refused as not the account's to moderate is ``conflict``."""
    host.refuse_frozen(account)
    factory = host.deps.adapters()
    if factory is None:
        raise ApiError("not_configured", "no platform adapters are configured in this daemon")
    adapter = await factory(account)
    try:
        yield adapter
    except PlatformNotFound as e:
        raise ApiError("not_found", e.message, account=account.id) from None
    except PlatformRejected as e:
        raise ApiError("conflict", e.message, account=account.id) from None
    except PlatformNotSupported as e:
        raise unsupported(e, account) from None
    finally:
        await adapter.aclose()


class ModerationRoutes:
    """The moderation handlers of ``Api`` (see the module docstring)."""

    async def comments_list(self: Host, request: Request) -> Response:
        token, caller = await self.caller(request)
        account = self.account(request.path_params["account"])
        post_id = path_id(request, "post")
        limit = comment_limit(request)
        authz = self.deps.authorizer
        needs = [Need("moderate", account.id), Need("analytics", account.id)]
        _, got = await authz.grants(token, needs)
        granted = next((n for n in needs if got[n]), None)
        authz.record(caller, granted or needs[0], granted is not None, "comments_list")
        if granted is None:
            raise ApiError(
                "missing_capability",
                f"listing comments needs 'moderate' or 'analytics' on account {account.id!r}",
                capability="moderate",
                account=account.id,
            )
        offered(account, Capability.LIST_COMMENTS)
        async with platform(self, account) as adapter:
            comments = await adapter.list_comments(post_id, limit)
        return JSONResponse(
            {"account": account.id, "post_id": post_id, "comments": [c.to_dict() for c in comments[:limit]]}
        )

    async def comment_hide(self: Host, request: Request) -> Response:
        return await _moderate(self, request, "hide")

    async def comment_unhide(self: Host, request: Request) -> Response:
        return await _moderate(self, request, "unhide")

    async def comment_delete(self: Host, request: Request) -> Response:
        return await _moderate(self, request, "delete")


_ACTIONS: dict[str, tuple[Capability, str]] = {
    "hide": (Capability.HIDE_COMMENT, "comment_hide"),
    "unhide": (Capability.HIDE_COMMENT, "comment_unhide"),
    "delete": (Capability.DELETE_COMMENT, "comment_delete"),
}


async def _moderate(host: Host, request: Request, action: str) -> Response:
    capability, route = _ACTIONS[action]
    token, _ = await host.caller(request)
    account = host.account(request.path_params["account"])
    comment_id = path_id(request, "comment")
    caller = await host.require(token, "moderate", account.id, route)
    offered(account, capability)
    async with platform(host, account) as adapter:
        if action == "delete":
            await adapter.delete_comment(comment_id)
        else:
            await adapter.hide_comment(comment_id, hidden=action == "hide")
    host.audit(caller.actor, f"comment.{action}", account.id, {"comment_id": comment_id})
    log.info("moderation.done", action=action, account=account.id, comment_id=comment_id, actor=caller.actor)
    out: dict[str, Any] = {"account": account.id, "comment_id": comment_id}
    out.update({"deleted": True} if action == "delete" else {"hidden": action == "hide"})
    return JSONResponse(out)
