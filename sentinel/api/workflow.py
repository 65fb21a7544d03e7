"""Routes a responder works an incident with, and who the caller is.

- ``GET /v1/whoami``: the caller as Vault knows the token (actor, entity, the global
  capabilities it holds); the console signs a person in with it.
- ``POST /v1/incidents/{id}/note|assign|close``: a note in the timeline, the person the
  incident is assigned to, closing it once none of its accounts is frozen. All three need
  ``lockdown``, the responders' capability; each is recorded in the incident (by the
  caller's Vault identity) and in the audit trail.

``WorkflowRoutes`` is mixed into ``sentinel.api.routes.Api``; ``ROUTES`` lists its routes.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sentinel.api.body import field_str, json_body
from sentinel.api.caller_access import Need
from sentinel.api.deps import Host, IncidentLog
from sentinel.api.errors import ApiError
from sentinel.capabilities import GLOBAL_CAPABILITIES

ROUTES: tuple[tuple[str, str, str, str], ...] = (
    ("GET", "/v1/whoami", "whoami", "whoami"),
    ("POST", "/v1/incidents/{incident}/note", "incident_note", "incident_note"),
    ("POST", "/v1/incidents/{incident}/assign", "incident_assign", "incident_assign"),
    ("POST", "/v1/incidents/{incident}/close", "incident_close", "incident_close"),
)
MAX_NOTE = 4000
# An assignee is a person's name as Vault knows it (an entity or login name, or an e-mail
# address): plain ASCII, so no control, bidirectional or look-alike characters reach the console.
ASSIGNEE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,127}$"


def incident_number(request: Request) -> int:
    try:
        number = int(request.path_params["incident"])
    except ValueError:
        raise ApiError("not_found", "incident ids are numbers") from None
    if not 0 < number < 2**63:
        raise ApiError("not_found", f"no incident {number}")
    return number


async def _work(host: Host, request: Request, route: str) -> tuple[str, int, dict[str, Any], IncidentLog]:
    """The caller (holding ``lockdown``), the incident's number, the body and the incident log."""
    token, caller = await host.caller(request)
    number = incident_number(request)
    body = await json_body(request)
    await host.require(token, "lockdown", None, route)
    log, read = host.deps.incident_log, host.deps.incident
    if read is not None and read(number) is None:
        raise ApiError("not_found", f"no incident {number}")
    if log is None or read is None:
        raise ApiError("not_configured", "incidents are not recorded in this daemon")
    return caller.actor, number, body, log


class WorkflowRoutes:
    """The responder-workflow handlers of ``Api`` (see the module docstring)."""

    async def whoami(self: Host, request: Request) -> Response:
        token, caller = await self.caller(request)
        _, got = await self.deps.authorizer.grants(token, [Need(c) for c in GLOBAL_CAPABILITIES])
        return JSONResponse(
            {
                "actor": caller.actor,
                "entity_id": caller.entity_id or None,
                "capabilities": [n.capability for n, ok in got.items() if ok],
            }
        )

    async def incident_note(self: Host, request: Request) -> Response:
        actor, number, body, log = await _work(self, request, "incident_note")
        text = field_str(body, "text", required=True, max_len=MAX_NOTE).strip()
        if not text:
            raise ApiError("invalid_request", "field 'text' must not be blank", field="text")
        log.add_event(number, "note", actor, {"text": text})
        self.audit(actor, "incident.note", f"incident:{number}", {"length": len(text)})
        return JSONResponse({"incident": number, "note": text, "by": actor}, status_code=201)

    async def incident_assign(self: Host, request: Request) -> Response:
        actor, number, body, log = await _work(self, request, "incident_assign")
        assignee = field_str(body, "assignee", required=True, max_len=128)
        if not re.fullmatch(ASSIGNEE_PATTERN, assignee):
            raise ApiError(
                "invalid_request",
                "field 'assignee' must be a name of letters, digits, spaces and . _ @ + - (starting with a letter or digit)",
                field="assignee",
            )
        log.add_event(number, "assign", actor, {"assignee": assignee})
        self.audit(actor, "incident.assign", f"incident:{number}", {"assignee": assignee})
        return JSONResponse({"incident": number, "assignee": assignee, "by": actor})

    async def incident_close(self: Host, request: Request) -> Response:
        actor, number, body, log = await _work(self, request, "incident_close")
        reason = field_str(body, "reason", required=True, max_len=1000).strip()
        if not reason:
            raise ApiError("invalid_request", "field 'reason' must not be blank", field="reason")
        why = log.close_incident(number, actor, reason)
        if why:
            raise ApiError("conflict", why)
        self.audit(actor, "incident.close", f"incident:{number}", {"reason": reason})
        return JSONResponse({"incident": number, "status": "resolved", "by": actor})
