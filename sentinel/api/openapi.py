"""The OpenAPI 3.1 document for the API, written by hand (served at ``/openapi.json``).

A test checks that every route the app serves is documented here, with the same methods,
and that nothing is documented that the app does not serve.
"""

from __future__ import annotations

from typing import Any

from sentinel import __version__
from sentinel.acks import MAX_KEY, MAX_REASON, MAX_RULE, TEXT_PATTERN
from sentinel.api.errors import CODES
from sentinel.api.held import STATUSES
from sentinel.api.tuning import MAX_ACK_DAYS, MAX_DAYS
from sentinel.api.workflow import ASSIGNEE_PATTERN
from sentinel.capabilities import ACCOUNT_CAPABILITIES, CAPABILITIES, GLOBAL_CAPABILITIES

SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"vaultToken": []}]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in sorted(set(statuses)):
        codes = [c for c, (s, _) in CODES.items() if s == status]
        text = "; ".join(f"`{c}`: {CODES[c][1]}" for c in codes)
        out[str(status)] = _json(_ref("Error"), text)
        if status == 429:
            out[str(status)]["headers"] = {
                "Retry-After": {
                    "description": "Whole seconds until the request may be tried again",
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
    return out


STR = {"type": "string"}
TEXT_LIMIT = (
    "At most what the account's platform takes (docs/platforms.md, Post length: X 25,000 characters, "
    "Bluesky 300 graphemes, ...); a longer text is 422 text_too_long, before the gate decides anything."
)
NSTR = {"type": ["string", "null"]}
ACCOUNT_PARAM = {
    "name": "account",
    "in": "path",
    "required": True,
    "description": "The account id from the inventory.",
    "schema": {"type": "string", "minLength": 1},
}
HELD_PARAM = {"name": "held", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
LIMIT_PARAM = {
    "name": "limit",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": sorted(CODES)},
                    "message": STR,
                    "capability": {"type": "string", "enum": list(CAPABILITIES)},
                    "account": STR,
                    "field": STR,
                    "limit": {"type": "integer", "description": "text_too_long: the platform's maximum"},
                    "unit": {"type": "string", "enum": ["characters", "graphemes"]},
                    "max_bytes": {
                        "type": ["integer", "null"],
                        "description": "text_too_long: a UTF-8 bound too",
                    },
                    "platform": STR,
                },
            }
        },
    },
    "Finding": {
        "type": "object",
        "required": ["rule", "severity", "detail"],
        "properties": {"rule": STR, "severity": STR, "detail": STR},
    },
    "CheckRequest": {
        "type": "object",
        "required": ["account", "text"],
        "properties": {
            "account": {"type": "string", "minLength": 1, "maxLength": 512},
            "text": {
                "type": "string",
                "minLength": 1,
                "maxLength": 100000,
                "description": TEXT_LIMIT,
            },
            "client": {"type": "string", "maxLength": 512, "description": "The publishing tool."},
            "author": {
                "type": "string",
                "maxLength": 512,
                "description": "Who wrote it: the caller; naming anyone else needs assert_author.",
            },
            "ip": {
                "type": "string",
                "maxLength": 64,
                "description": "The author's IP address, as a publishing tool relays it (needs assert_author).",
            },
            "reply_to": {
                "type": "string",
                "maxLength": 512,
                "description": "Post replied to: needs only respond.",
            },
            "post_id": {"type": "string", "maxLength": 512, "description": "The tool's own id for the post."},
            "dry_run": {
                "type": "boolean",
                "description": "Decide without learning, holding or freezing (to try the gate by hand).",
            },
            "explain": {
                "type": "boolean",
                "description": "Add every rule considered, its score, how scores combined, which threshold decided.",
            },
        },
    },
    "Decision": {
        "type": "object",
        "required": ["event", "account", "post_id", "verdict", "score", "severity", "findings", "frozen"],
        "properties": {
            "event": STR,
            "account": STR,
            "post_id": STR,
            "verdict": {"type": "string", "enum": ["allow", "hold", "block"]},
            "score": {"type": "number"},
            "severity": STR,
            "findings": {"type": "array", "items": _ref("Finding")},
            "frozen": {"type": "boolean"},
            "observed": {
                "type": "array",
                "items": _ref("Finding"),
                "description": "Findings of rules on trial (mode: observe): shown, never part of the verdict.",
            },
            "would": {
                "type": "string",
                "enum": ["allow", "hold", "block", "freeze"],
                "description": "With observed: the verdict had the rules on trial counted.",
            },
            "held_id": {"type": "string", "description": "Set when held: poll GET /v1/held/{held}."},
            "dry_run": {
                "type": "boolean",
                "description": "Set on a dry run: nothing was learned, held or frozen.",
            },
            "explain": {
                "type": "object",
                "description": "With explain: true: why (see sentinel rules explain).",
            },
        },
    },
    "PostRequest": {
        "type": "object",
        "required": ["text"],
        "properties": {
            "text": {
                "type": "string",
                "minLength": 1,
                "maxLength": 100000,
                "description": TEXT_LIMIT,
            },
            "reply_to": {"type": "string", "maxLength": 512},
            "client": {"type": "string", "maxLength": 512},
            "post_id": {"type": "string", "maxLength": 512},
        },
    },
    "HeldPost": {
        "type": "object",
        "required": ["id", "kind", "account", "author", "text", "status", "findings"],
        "properties": {
            "id": STR,
            "kind": {"type": "string", "enum": ["broker", "gate"]},
            "account": STR,
            "author": STR,
            "sent_by": STR,
            "text": STR,
            "reply_to": NSTR,
            "client": STR,
            "event": STR,
            "created": STR,
            "status": {"type": "string", "enum": list(STATUSES)},
            "score": {"type": "number"},
            "findings": {"type": "array", "items": _ref("Finding")},
            "decided_by": NSTR,
            "decided_at": NSTR,
            "reason": NSTR,
            "post_id": NSTR,
            "url": NSTR,
            "error": NSTR,
        },
    },
    "PublishResult": {
        "type": "object",
        "required": ["decision", "status"],
        "properties": {
            "decision": _ref("Decision"),
            "status": {"type": "string", "enum": ["published", "held"]},
            "post": {"type": "object", "properties": {"post_id": STR, "url": STR}},
            "held": _ref("HeldPost"),
        },
    },
    "Account": {
        "type": "object",
        "required": ["id", "platform", "handle", "publishing", "tags", "retired"],
        "properties": {
            "id": STR,
            "platform": STR,
            "handle": STR,
            "display_name": STR,
            "publishing": {"type": "string", "enum": ["gated", "open"]},
            "tags": {"type": "array", "items": STR},
            "retired": {"type": "boolean"},
        },
    },
    "AccountState": {
        "type": "object",
        "description": "ok; frozen: blocked at the gate and denied in Vault; locked: frozen and locked "
        "at the platform too",
        "required": ["state", "frozen", "held"],
        "properties": {
            "state": {"type": "string", "enum": ["ok", "frozen", "locked"]},
            "frozen": {"type": "boolean"},
            "frozen_since": NSTR,
            "freeze_reason": NSTR,
            "frozen_by": NSTR,
            "automatic": {"type": ["boolean", "null"]},
            "incident": {"type": ["integer", "null"]},
            "held": {"type": "integer"},
        },
    },
    "AccountListed": {
        "allOf": [
            _ref("Account"),
            {
                "type": "object",
                "required": ["status", "capabilities"],
                "properties": {"status": _ref("AccountState"), "capabilities": _ref("Capabilities")},
            },
        ]
    },
    "Capabilities": {
        "type": "array",
        "description": "what the caller's token may do on the account (and globally)",
        "items": {"type": "string", "enum": list(CAPABILITIES)},
    },
    "AccountStatus": {
        "allOf": [
            _ref("AccountListed"),
            {
                "type": "object",
                "properties": {"timezone": STR, "domains": {"type": "array", "items": STR}},
            },
        ]
    },
    "LockdownRequest": {
        "type": "object",
        "required": ["reason"],
        "description": "Select accounts by id, by tag, by operator (every account the operator can reach "
        "through the inventory and Vault policies; their Vault entity is disabled too), or all of them "
        "(at least one selector). With an operator the answer carries 'reach': how it was computed "
        "and any warning that it may be larger.",
        "properties": {
            "reason": {"type": "string", "minLength": 1, "maxLength": 1000},
            "accounts": {"type": "array", "items": STR},
            "tags": {"type": "array", "items": STR},
            "operator": {"type": "string", "minLength": 1, "maxLength": 512},
            "all": {"type": "boolean", "default": False},
        },
        "anyOf": [
            {"required": ["accounts"], "properties": {"accounts": {"minItems": 1}}},
            {"required": ["tags"], "properties": {"tags": {"minItems": 1}}},
            {"required": ["operator"]},
            {"required": ["all"], "properties": {"all": {"const": True}}},
        ],
    },
    "UnfreezeRequest": {
        "type": "object",
        "required": ["reason", "totp"],
        "properties": {
            "reason": {"type": "string", "minLength": 1, "maxLength": 1000},
            "totp": {"type": "string", "minLength": 1, "maxLength": 16, "description": "Current TOTP code."},
        },
    },
    "Incident": {
        "type": "object",
        "required": ["id", "status", "title", "accounts"],
        "properties": {
            "id": {"type": "integer"},
            "opened": STR,
            "status": STR,
            "title": STR,
            "accounts": {"type": "array", "items": STR},
            "closed": NSTR,
            "events": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Comment": {
        "type": "object",
        "required": ["comment_id", "text", "author", "hidden", "own"],
        "properties": {
            "comment_id": {"type": "string", "description": "What hide, unhide and delete take."},
            "text": STR,
            "author": STR,
            "created_at": STR,
            "parent_id": STR,
            "hidden": {"type": "boolean"},
            "own": {"type": "boolean", "description": "Written by the account itself."},
            "url": STR,
        },
    },
    "Alert": {
        "type": "object",
        "required": ["id", "kind", "status", "severity", "summary", "accounts"],
        "properties": {
            "id": STR,
            "kind": STR,
            "status": STR,
            "severity": STR,
            "summary": STR,
            "accounts": {"type": "array", "items": STR},
        },
    },
}


def _op(
    summary: str,
    ok: dict[str, Any],
    errors: tuple[int, ...],
    capability: str = "",
    body: str = "",
    params: tuple[dict[str, Any], ...] = (),
    secured: bool = True,
    optional_body: bool = False,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {**ok, **_errors(*errors)}}
    if capability:
        op["description"] = f"Needs: {capability}."
        op["x-sentinel-capability"] = capability
    if secured:
        op["security"] = SECURITY
        op["responses"].update(_errors(401, 429, 503))  # 429: too_many_auth_failures
    else:
        op["security"] = []
    if body:
        op["requestBody"] = {
            "required": not optional_body,
            "content": {"application/json": {"schema": _ref(body)}},
        }
        op["responses"].update(_errors(400, 413))
    if params:
        op["parameters"] = list(params)
        op["responses"].update(_errors(400, 404) if any(p["in"] == "path" for p in params) else _errors(400))
    return op


def document() -> dict[str, Any]:
    held_status = {
        "name": "status",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": list(STATUSES)},
    }
    paths: dict[str, Any] = {
        "/healthz": {
            "get": _op(
                "Liveness: the process serves requests",
                _ok({"type": "object", "required": ["status"], "properties": {"status": STR}}),
                (),
                secured=False,
            )
        },
        "/readyz": {
            "get": _op(
                "Readiness: Vault reachable and rules loaded",
                {
                    **_ok(_READY),
                    "503": _json(_READY, "Not ready: the checks say what is missing"),
                },
                (),
                secured=False,
            )
        },
        "/metrics": {
            "get": _op(
                "Prometheus metrics (text exposition format)",
                {"200": {"description": "Metrics", "content": {"text/plain": {"schema": STR}}}},
                (),
                secured=False,
            )
        },
        "/openapi.json": {
            "get": _op("This document", _ok({"type": "object"}), (), secured=False),
        },
        "/v1/check": {
            "post": _op(
                "Gate: ask whether a post may be published (allow, hold or block)",
                _ok(_ref("Decision")),
                (403, 404, 422),
                "publish on the account (respond when reply_to is set)",
                body="CheckRequest",
            )
        },
        "/v1/accounts": {
            "get": _op(
                "Accounts the caller holds analytics on, each with its state (ok, frozen, locked) "
                "and the caller's capabilities on it",
                _ok(
                    {
                        "type": "object",
                        "required": ["accounts"],
                        "properties": {"accounts": _arr("AccountListed")},
                    }
                ),
                (),
            )
        },
        "/v1/accounts/{account}": {
            "get": _op(
                "One account, its status and the caller's capabilities on it",
                _ok(_ref("AccountStatus")),
                (403, 404),
                "analytics on the account",
                params=(ACCOUNT_PARAM,),
            )
        },
        "/v1/accounts/{account}/posts": {
            "post": _op(
                "Broker: check the post, then publish it with the credential from Vault",
                {
                    "201": _json(_ref("PublishResult"), "Published"),
                    "202": _json(_ref("PublishResult"), "Held for approval"),
                },
                (403, 404, 422, 502),
                "publish on the account (respond when reply_to is set)",
                body="PostRequest",
                params=(ACCOUNT_PARAM,),
            )
        },
        "/v1/accounts/{account}/posts/{post}": {
            "delete": _op(
                "Moderation: delete a post",
                _ok(
                    {
                        "type": "object",
                        "required": ["deleted"],
                        "properties": {"deleted": {"type": "boolean"}},
                    }
                ),
                (403, 404, 422, 502),
                "moderate on the account",
                params=(
                    ACCOUNT_PARAM,
                    {
                        "name": "post",
                        "in": "path",
                        "required": True,
                        "description": "The platform's post id (printable ASCII, no '/').",
                        "schema": {"type": "string", "pattern": "^[!-.0-~]{1,512}$"},
                    },
                ),
            )
        },
        "/v1/accounts/{account}/unfreeze": {
            "post": _op(
                "Lift a freeze (TOTP step-up; not by the person who froze it)",
                _ok(
                    {"type": "object", "required": ["account"], "properties": {"account": STR, "record": {}}}
                ),
                (403, 404, 409),
                "unfreeze (global)",
                body="UnfreezeRequest",
                params=(ACCOUNT_PARAM,),
            )
        },
        "/v1/lockdown": {
            "post": _op(
                "Freeze the selected accounts now",
                _ok(
                    {"type": "object", "required": ["accounts"], "properties": {"accounts": {}, "report": {}}}
                ),
                (403, 404),
                "lockdown (global)",
                body="LockdownRequest",
            )
        },
        "/v1/held": {
            "get": _op(
                "Held posts",
                _ok({"type": "object", "required": ["held"], "properties": {"held": _arr("HeldPost")}}),
                (403,),
                "approve (global)",
                params=(
                    held_status,
                    {"name": "account", "in": "query", "required": False, "schema": STR},
                    LIMIT_PARAM,
                ),
            )
        },
        "/v1/held/{held}": {
            "get": _op(
                "One held post (tools poll it after a hold)",
                _ok(_ref("HeldPost")),
                (403, 404),
                "approve, or publish/respond on the post's account",
                params=(HELD_PARAM,),
            )
        },
        "/v1/held/{held}/approve": {
            "post": _op(
                "Approve a held post (broker posts are published now)",
                _ok(_ref("HeldPost")),
                (403, 404, 409, 422, 502),
                "approve (global); the approver must be neither the sender nor the author",
                params=(HELD_PARAM,),
            )
        },
        "/v1/held/{held}/reject": {
            "post": _op(
                "Reject a held post",
                _ok(_ref("HeldPost")),
                (403, 404, 409),
                "approve (global)",
                body="RejectRequest",
                params=(HELD_PARAM,),
                optional_body=True,
            )
        },
        "/v1/incidents": {
            "get": _op(
                "Incidents about accounts the caller may see (all with lockdown)",
                _ok(
                    {
                        "type": "object",
                        "required": ["incidents"],
                        "properties": {"incidents": _arr("Incident")},
                    }
                ),
                (),
                "analytics on an account of the incident, or lockdown",
                params=(
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["open", "resolved"]},
                    },
                    LIMIT_PARAM,
                ),
            )
        },
        "/v1/incidents/{incident}": {
            "get": _op(
                "One incident with its events",
                _ok(_ref("Incident")),
                (403, 404),
                "analytics on an account of the incident, or lockdown",
                params=({"name": "incident", "in": "path", "required": True, "schema": {"type": "integer"}},),
            )
        },
        "/v1/alerts": {
            "get": _op(
                "Recent alerts about accounts the caller may see (all with lockdown)",
                _ok({"type": "object", "required": ["alerts"], "properties": {"alerts": _arr("Alert")}}),
                (),
                "analytics on an account of the alert, or lockdown",
                params=(LIMIT_PARAM,),
            )
        },
    }
    paths.update(_moderation_paths())
    paths.update(_admin_paths())
    paths.update(_hook_paths())
    paths.update(_workflow_paths())
    paths.update(_tuning_paths())
    schemas = {
        **SCHEMAS,
        "RejectRequest": {"type": "object", "properties": {"reason": {"type": "string", "maxLength": 1000}}},
        "NoteRequest": _required_str("text", 4000),
        "AssignRequest": {
            "type": "object",
            "required": ["assignee"],
            "properties": {"assignee": {"type": "string", "pattern": ASSIGNEE_PATTERN}},
        },
        "CloseRequest": _required_str("reason", 1000),
        "RotateRequest": {"type": "object", "properties": {"reason": {"type": "string", "maxLength": 500}}},
        **TUNING_SCHEMAS,
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sentinel API",
            "version": __version__,
            "description": (
                "Gate, broker and response API of Sentinel. Authenticate with your own Vault token. "
                "Capabilities are Vault ACL paths: per account "
                + ", ".join(ACCOUNT_CAPABILITIES)
                + " at <prefix>/accounts/<id>/<capability>; global "
                + ", ".join(GLOBAL_CAPABILITIES)
                + " at <prefix>/global/<capability>; 'update' on the path grants it."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "A Vault token."},
                "vaultToken": {"type": "apiKey", "in": "header", "name": "X-Vault-Token"},
            },
        },
    }


_READY = {
    "type": "object",
    "required": ["ready", "checks"],
    "properties": {"ready": {"type": "boolean"}, "checks": {"type": "object"}},
}


def _ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"200": _json(schema, "OK")}


def _arr(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


def _required_str(name: str, max_len: int) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [name],
        # "\\S": not blank (the server strips the text and refuses what is left empty)
        "properties": {name: {"type": "string", "minLength": 1, "maxLength": max_len, "pattern": "\\S"}},
    }


def _workflow_paths() -> dict[str, Any]:
    """Who am I, and working an incident (``sentinel.api.workflow``)."""
    incident = {"name": "incident", "in": "path", "required": True, "schema": {"type": "integer"}}
    by = {"by": STR, "incident": {"type": "integer"}}
    out: dict[str, Any] = {
        "/v1/whoami": {
            "get": _op(
                "The caller as Vault knows the token, and the global capabilities it holds",
                _ok(
                    {
                        "type": "object",
                        "required": ["actor", "capabilities"],
                        "properties": {
                            "actor": STR,
                            "entity_id": NSTR,
                            "capabilities": {"type": "array", "items": STR},
                        },
                    }
                ),
                (),
            )
        },
    }
    for action, summary, body, ok, errors in (
        ("note", "Add a note to an incident's timeline", "NoteRequest", "201", (403, 404)),
        ("assign", "Assign an incident to a person", "AssignRequest", "200", (403, 404)),
        ("close", "Close an incident (none of its accounts frozen)", "CloseRequest", "200", (403, 404, 409)),
    ):
        out[f"/v1/incidents/{{incident}}/{action}"] = {
            "post": _op(
                summary,
                {ok: _json({"type": "object", "properties": by}, "Done")},
                errors,
                "lockdown (global)",
                body=body,
                params=(incident,),
            )
        }
    return out


def _moderation_paths() -> dict[str, Any]:
    """Comment moderation (``sentinel.api.moderation``)."""

    def platform_id(name: str, description: str) -> dict[str, Any]:
        pattern = "^[!-.0-~]{1,512}$"
        return {
            "name": name,
            "in": "path",
            "required": True,
            "description": description,
            "schema": {"type": "string", "pattern": pattern},
        }

    comment = platform_id("comment", "The platform's comment id, as the comment listing gives it.")
    post = platform_id("post", "The platform's post id (printable ASCII, no '/').")
    done = {
        "type": "object",
        "required": ["account", "comment_id"],
        "properties": {
            "account": STR,
            "comment_id": STR,
            "hidden": {"type": "boolean"},
            "deleted": {"type": "boolean"},
        },
    }
    limit = {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
    }

    def action(summary: str) -> dict[str, Any]:
        return _op(
            summary,
            _ok(done),
            (403, 404, 409, 422, 502),
            "moderate on the account",
            params=(ACCOUNT_PARAM, comment),
        )

    return {
        "/v1/accounts/{account}/posts/{post}/comments": {
            "get": _op(
                "Moderation: the replies and comments under a post",
                _ok(
                    {
                        "type": "object",
                        "required": ["account", "post_id", "comments"],
                        "properties": {"account": STR, "post_id": STR, "comments": _arr("Comment")},
                    }
                ),
                (403, 404, 422, 502),
                "moderate or analytics on the account",
                params=(ACCOUNT_PARAM, post, limit),
            )
        },
        "/v1/accounts/{account}/comments/{comment}/hide": {
            "post": action("Moderation: hide a reply or comment from the post's readers")
        },
        "/v1/accounts/{account}/comments/{comment}/unhide": {
            "post": action("Moderation: show a hidden reply or comment again")
        },
        "/v1/accounts/{account}/comments/{comment}": {
            "delete": action("Moderation: delete a reply or comment (where the platform lets the account)")
        },
    }


def _admin_paths() -> dict[str, Any]:
    """Account administration (``sentinel.api.admin``)."""
    credential = {
        "type": "object",
        "required": ["key", "kind", "stored"],
        "properties": {"key": STR, "kind": STR, "stored": {"type": "boolean"}},
        "description": "Metadata only (phase, versions, rotated, rotation period, who changed it); never a value.",
    }
    result = {
        "type": "object",
        "required": ["account", "key", "kind", "status", "ok"],
        "properties": {"account": STR, "key": STR, "kind": STR, "status": STR, "ok": {"type": "boolean"}},
    }
    return {
        "/v1/accounts/{account}/credentials": {
            "get": _op(
                "Administration: the account's credentials, metadata only",
                _ok(
                    {
                        "type": "object",
                        "required": ["account", "credentials"],
                        "properties": {"account": STR, "credentials": {"type": "array", "items": credential}},
                    }
                ),
                (403, 404),
                "admin on the account",
                params=(ACCOUNT_PARAM,),
            )
        },
        "/v1/accounts/{account}/rotate": {
            "post": _op(
                "Administration: rotate the account's credentials now (forced, audited)",
                _ok(
                    {
                        "type": "object",
                        "required": ["account", "ok", "results"],
                        "properties": {
                            "account": STR,
                            "ok": {"type": "boolean"},
                            "results": {"type": "array", "items": result},
                        },
                    }
                ),
                (400, 403, 404, 502),
                "admin on the account",
                body="RotateRequest",
                params=(ACCOUNT_PARAM,),
                optional_body=True,
            )
        },
    }


def _hook_paths() -> dict[str, Any]:
    """Webhooks (``sentinel.api.hooks``): authenticated by the platform's signature, not a token."""
    platform = {
        "name": "platform",
        "in": "path",
        "required": True,
        "description": "The pushing platform: 'meta' (Facebook Pages, Instagram) or 'x'.",
        "schema": {"type": "string", "enum": ["meta", "x"]},
    }
    query = tuple(
        {"name": name, "in": "query", "required": False, "schema": {"type": "string", "maxLength": 512}}
        for name in ("hub.mode", "hub.verify_token", "hub.challenge", "crc_token")
    )
    signature = (
        "No Vault token: a platform has none. The request is authenticated by the platform's "
        "signature, checked with a secret read from Vault (<kv_mount>/system/hooks/<platform>: "
        "meta app_secret and verify_token, x consumer_secret) before the body is parsed."
    )
    delivered = {
        "type": "object",
        "required": ["accepted", "duplicate", "woken"],
        "properties": {
            "accepted": {"type": "boolean"},
            "duplicate": {"type": "boolean"},
            "woken": {"type": "array", "items": STR},
        },
    }
    verify = _op(
        "Webhook handshake: Meta's hub.challenge (verify token) or X's CRC (HMAC-SHA256 response_token)",
        {
            "200": {
                "description": "Meta: the challenge as text; X: the response token",
                "content": {
                    "text/plain": {"schema": STR},
                    "application/json": {"schema": {"type": "object", "properties": {"response_token": STR}}},
                },
            }
        },
        (403, 404, 503),
        params=(platform, *query),
        secured=False,
    )
    deliver = _op(
        "Webhook delivery: verified (X-Hub-Signature-256 or x-twitter-webhooks-signature), then "
        "wakes the named accounts' reconcile; never creates a post itself",
        _ok(delivered),
        (400, 403, 404, 413, 503),
        params=(
            platform,
            {"name": "X-Hub-Signature-256", "in": "header", "required": False, "schema": STR},
            {"name": "x-twitter-webhooks-signature", "in": "header", "required": False, "schema": STR},
        ),
        secured=False,
    )
    for op in (verify, deliver):
        op["description"] = signature
        op["x-sentinel-authentication"] = "platform-signature"
    deliver["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    return {"/v1/hooks/{platform}": {"get": verify, "post": deliver}}


def _text(max_len: int, description: str) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_len, "pattern": TEXT_PATTERN, "description": description}


TUNING_SCHEMAS: dict[str, Any] = {
    "AckRequest": {
        "type": "object",
        "required": ["rule", "account", "key", "days", "reason"],
        "properties": {
            "rule": _text(MAX_RULE, "A rule id in force."),
            "account": _text(MAX_KEY, "The account id from the inventory."),
            "key": _text(
                MAX_KEY, "What the finding is about: a link's domain or host, the client, the author."
            ),
            "days": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_ACK_DAYS,
                "description": "It expires this many days from now (at most a year: a silence, not a new rule).",
            },
            "reason": _text(MAX_REASON, "Why it is expected (kept in the audit trail)."),
        },
    },
    "Ack": {
        "type": "object",
        "required": ["id", "rule", "account", "key", "until", "reason", "by"],
        "properties": {
            "id": {"type": "integer"},
            "rule": STR,
            "account": STR,
            "key": STR,
            "until": STR,
            "reason": STR,
            "by": {"type": "string", "description": "Who acknowledged it: their Vault identity."},
            "created": NSTR,
            "revoked": NSTR,
            "revoked_by": STR,
        },
    },
    "RuleCount": {
        "type": "object",
        "required": ["rule", "mode", "verdict", "count"],
        "properties": {
            "rule": STR,
            "mode": {"type": "string", "enum": ["enforce", "observe"]},
            "verdict": STR,
            "count": {"type": "integer"},
        },
    },
}


def _tuning_paths() -> dict[str, Any]:
    """Rule statistics and acknowledgements (``sentinel.api.tuning``)."""
    days = {
        "name": "days",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": 7},
    }
    everything = {
        "name": "all",
        "in": "query",
        "required": False,
        "description": "Include expired and revoked acknowledgements.",
        "schema": {"type": "boolean", "default": False},
    }
    ack = {"name": "ack", "in": "path", "required": True, "schema": {"type": "integer"}}
    acks = {"type": "object", "required": ["acks"], "properties": {"acks": _arr("Ack")}}
    return {
        "/v1/rules/stats": {
            "get": _op(
                "Tuning: what each rule fired on over the last days, observe mode included, on the "
                "accounts the caller may tune (organisation-wide with lockdown)",
                _ok(
                    {
                        "type": "object",
                        "required": ["days", "scope", "rules"],
                        "properties": {
                            "days": {"type": "integer"},
                            "scope": {"type": "string", "enum": ["organisation", "accounts"]},
                            "accounts": {
                                "type": "array",
                                "items": {"type": "string"},
                                "description": "With scope 'accounts': the accounts counted",
                            },
                            "rules": _arr("RuleCount"),
                        },
                    }
                ),
                (403,),
                "tune on the accounts counted, or lockdown for the organisation",
                params=(days,),
            )
        },
        "/v1/rules/acks": {
            "get": _op(
                "Tuning: acknowledgements of the accounts the caller holds tune or analytics on",
                _ok(acks),
                (),
                "tune or analytics on the account (lockdown: all)",
                params=(everything,),
            ),
            "post": _op(
                "Tuning: acknowledge a rule on an account for a key until a date (audited)",
                {"201": _json(_ref("Ack"), "Acknowledged; the daemon applies it within a second")},
                (403, 404),
                "tune on the account",
                body="AckRequest",
            ),
        },
        "/v1/rules/acks/{ack}": {
            "delete": _op(
                "Tuning: revoke an active acknowledgement (audited)",
                _ok(_ref("Ack")),
                (403, 404),
                "tune on the acknowledgement's account",
                params=(ack,),
            )
        },
    }
