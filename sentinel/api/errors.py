"""Every API error has one JSON shape and a stable ``code``.

``{"error": {"code": "missing_capability", "message": "...", "capability": "publish"}}``

The codes (and their HTTP statuses) are part of the API contract and listed in the
OpenAPI document; clients switch on ``code``, never on the message.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from sentinel.errors import SentinelError

CODES: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "The request body or parameters are malformed"),
    "host_not_allowed": (400, "The Host header is not one in [api] allowed_hosts (DNS rebinding)"),
    "missing_token": (401, "No Vault token in Authorization: Bearer or X-Vault-Token"),
    "invalid_token": (401, "Vault does not know the token (expired, revoked or wrong)"),
    "missing_capability": (403, "The token lacks the capability named in 'capability'"),
    "self_approval": (
        403,
        "The approver sent the held post or is its asserted author; another person must approve it",
    ),
    "self_acknowledgement": (
        403,
        "The acknowledgement's key names the caller; another person must acknowledge findings about them",
    ),
    "step_up_failed": (403, "The TOTP code is missing, wrong or already used"),
    "invalid_signature": (403, "A webhook delivery or handshake is not signed with the platform's secret"),
    "post_blocked": (403, "The gate blocked the post; nothing was published"),
    "not_found": (404, "No such account, post, held post, incident, rule, acknowledgement or route"),
    "method_not_allowed": (405, "The route exists but not with this method"),
    "step_up_locked": (429, "Too many wrong TOTP codes from this identity; step-up is refused for a while"),
    "too_many_auth_failures": (
        429,
        "Too many failed authentications from this address; retry after Retry-After seconds",
    ),
    "conflict": (409, "The resource is not in a state that allows this"),
    "body_too_large": (413, "The request body is larger than [api] max_body_bytes"),
    "account_frozen": (423, "The account is frozen: nothing acts on it until a responder unfreezes it"),
    "not_supported": (422, "The account's platform cannot do this through its API"),
    "text_too_long": (
        422,
        "The post's text is longer than the account's platform takes ('limit' in 'unit'); nothing was checked",
    ),
    "platform_error": (502, "The platform refused or failed the call"),
    "rotation_failed": (502, "A credential could not be rotated; the current one stays valid"),
    "not_configured": (503, "The component this endpoint needs does not run in this daemon"),
    "vault_unavailable": (503, "Vault cannot be reached; authorization cannot be decided"),
    "authz_grace_expired": (503, "Vault cannot be reached for longer than [api] authz_grace; fails closed"),
    "store_unavailable": (
        503,
        "The state database cannot be written (full disk, or locked by another process); try again",
    ),
    "internal_error": (500, "An unexpected error; the daemon log has the details"),
}


class ApiError(SentinelError):
    """An error answered to the caller: a stable code, a readable message, extra fields."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        if code not in CODES:
            raise ValueError(f"unknown API error code {code!r}")
        super().__init__(message)
        self.code = code
        self.status = CODES[code][0]
        self.headers: dict[str, str] = {}
        """Headers the answer carries (``Retry-After``)."""
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers={**self.headers, **(headers or {})})


def error_response(code: str, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="sentinel"'} if CODES[code][0] == 401 else None
    return ApiError(code, message, **extra).response(headers)
