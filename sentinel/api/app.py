"""The Starlette application: routes, the OpenAPI document, JSON errors for unknown routes,
and every request body bounded and decoded before any handler (``sentinel.api.body``)."""

from __future__ import annotations

import json
from importlib.resources import files

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route

from sentinel.api.admin import ROUTES as ADMIN_ROUTES
from sentinel.api.body import MAX_BODY_BYTES, BodyLimit
from sentinel.api.deps import Deps
from sentinel.api.errors import error_response
from sentinel.api.hooks import ROUTES as HOOK_ROUTES
from sentinel.api.moderation import ROUTES as MODERATION_ROUTES
from sentinel.api.openapi import document
from sentinel.api.routes import Api, endpoint
from sentinel.api.tuning import ROUTES as TUNING_ROUTES
from sentinel.api.workflow import ROUTES as WORKFLOW_ROUTES
from sentinel.console import create_console
from sentinel.console.pages import SECURITY_HEADERS

# (method, path, handler, route name): the one list the app and the OpenAPI test read.
ROUTES: tuple[tuple[str, str, str, str], ...] = (
    ("GET", "/healthz", "healthz", "healthz"),
    ("GET", "/readyz", "readyz", "readyz"),
    ("GET", "/metrics", "metrics", "metrics"),
    ("POST", "/v1/check", "check", "check"),
    ("GET", "/v1/accounts", "accounts", "accounts"),
    ("GET", "/v1/accounts/{account}", "account_status", "account"),
    ("POST", "/v1/accounts/{account}/posts", "publish", "publish"),
    ("DELETE", "/v1/accounts/{account}/posts/{post}", "delete_post", "delete_post"),
    ("POST", "/v1/accounts/{account}/unfreeze", "unfreeze", "unfreeze"),
    ("POST", "/v1/lockdown", "lockdown", "lockdown"),
    ("GET", "/v1/held", "held_list", "held_list"),
    ("GET", "/v1/held/{held}", "held_get", "held_get"),
    ("POST", "/v1/held/{held}/approve", "held_approve", "held_approve"),
    ("POST", "/v1/held/{held}/reject", "held_reject", "held_reject"),
    ("GET", "/v1/incidents", "incidents", "incidents"),
    ("GET", "/v1/incidents/{incident}", "incident", "incident"),
    ("GET", "/v1/alerts", "alerts", "alerts"),
    *MODERATION_ROUTES,
    *ADMIN_ROUTES,
    *HOOK_ROUTES,
    *WORKFLOW_ROUTES,
    *TUNING_ROUTES,
)


VIEWER = files("sentinel.console").joinpath("static", "apidocs.html").read_bytes()


async def api_docs(request: Request) -> Response:
    """The OpenAPI document in the viewer shipped in the package (no CDN, no internet)."""
    return Response(VIEWER, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)


def create_app(deps: Deps, max_body_bytes: int = MAX_BODY_BYTES, secure_cookies: bool = False) -> Starlette:
    api = Api(deps)
    spec = json.dumps(document()).encode()

    async def openapi(request: Request) -> Response:
        return Response(spec, media_type="application/json")

    routes = [
        Route(path, endpoint(name, getattr(api, handler), api.audit), methods=[method])
        for method, path, handler, name in ROUTES
    ]
    routes.append(Route("/openapi.json", openapi, methods=["GET"]))

    async def home(request: Request) -> Response:
        return RedirectResponse("/console/", status_code=307)

    routes.append(Route("/", home, methods=["GET"], include_in_schema=False))
    routes.append(Route("/docs", api_docs, methods=["GET"], include_in_schema=False))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            response = error_response(
                "method_not_allowed", f"{request.method} is not allowed on {request.url.path}"
            )
            response.headers.update(exc.headers or {})
            return response
        if exc.status_code == 404:
            return error_response("not_found", f"no route {request.url.path}")
        return error_response("invalid_request", str(exc.detail))

    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error},
        middleware=[Middleware(BodyLimit, max_bytes=max_body_bytes)],
    )
    app.state.api = api
    # the console calls this app's own routes in-process, with the signed-in person's token
    console = create_console(
        app, deps.login, secure_cookies=secure_cookies, throttle=deps.authorizer.throttle
    )
    app.router.routes.append(Mount("/console", app=console))
    app.state.console = console.state.console
    return app
