"""The console as an ASGI app, mounted by the API at ``/console``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from sentinel.console.api_client import ApiClient, OnBehalf
from sentinel.console.live import Live
from sentinel.console.login import VaultLogin
from sentinel.console.pages import Console
from sentinel.console.sessions import SessionStore

if TYPE_CHECKING:
    from sentinel.api.auth_throttle import AuthThrottle

STATIC = Path(__file__).parent / "static"


def create_console(
    api: ASGIApp,
    login: VaultLogin | None = None,
    sessions: SessionStore | None = None,
    poll: float = 1.0,
    secure_cookies: bool = False,
    throttle: AuthThrottle | None = None,
) -> Starlette:
    """The console over ``api`` (the API's own ASGI app, called in-process); ``secure_cookies``:
    the browser reaches it over TLS even if the daemon does not see it (``[api] public_url``);
    ``throttle``: the API's failed authentications per address, which password sign-ins take
    from too."""
    console = Console(ApiClient(api), login, sessions or SessionStore(), secure_cookies, throttle)
    live = Live(console, poll)
    page = console.page
    routes = [
        Route("/", page(console.overview), methods=["GET"]),
        Route("/signin", console.signin_form, methods=["GET"]),
        Route("/signin", console.signin, methods=["POST"]),
        Route("/signout", page(console.signout), methods=["POST"]),
        Route("/accounts", page(console.accounts), methods=["GET"]),
        Route("/incidents", page(console.incidents), methods=["GET"]),
        Route("/incidents/{incident:int}", page(console.incident), methods=["GET"]),
        Route("/incidents/{incident:int}/{action}", page(console.incident_action), methods=["POST"]),
        Route("/held", page(console.held), methods=["GET"]),
        Route("/held/{held}/approve", page(console.approve), methods=["POST"]),
        Route("/held/{held}/reject", page(console.reject), methods=["POST"]),
        Route("/respond", page(console.respond), methods=["GET"]),
        Route("/lockdown", page(console.lockdown), methods=["POST"]),
        Route("/accounts/{account}/unfreeze", page(console.unfreeze), methods=["POST"]),
        Route("/events", page(live.stream), methods=["GET"]),
    ]
    # its API calls on behalf of the browser's address: failed sign-ins count against that one
    app = Starlette(routes=routes, middleware=[Middleware(OnBehalf)])
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.console = console
    return app
