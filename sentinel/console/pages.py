"""The console's pages and forms (server-rendered, no script needed to act).

Every handler finds the session from its cookie (else redirects to sign-in), reads and
acts through the API in-process with the session's Vault token (``ApiClient``), and
renders a Jinja2 template. Forms are POSTs with the session's CSRF token; after an action
the browser is redirected (post/redirect/get) and the outcome shown once.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from sentinel.alerts.defang import defuse
from sentinel.console.api_client import Answer, ApiClient, SignedOut
from sentinel.console.login import LoginFailed, VaultLogin
from sentinel.console.revocations import Revocations
from sentinel.console.sessions import Session, SessionStore
from sentinel.logs import get_logger
from sentinel.net import client_key

if TYPE_CHECKING:
    from sentinel.api.auth_throttle import AuthThrottle

log = get_logger("sentinel.console")

COOKIE = "sentinel_console"
SIGNIN_COOKIE = "sentinel_signin"
MAX_FORM = 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
PERSON_STEPS = ("manual", "failed", "todo")
"""Step statuses that leave work for a person (the platform's API could not, or it failed)."""
Handler = Callable[[Request], Awaitable[Response]]


class Refused(Exception):
    """A console request refused before reaching the API (status and message for the page)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def when(value: object) -> str:
    """A timestamp for people: ISO strings and epoch seconds alike, to the second, UTC."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return str(value or "")[:19].replace("T", " ")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("sentinel.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["defang"] = lambda v: defuse(str(v if v is not None else ""))
    env.filters["when"] = when
    return env


async def form_of(request: Request) -> dict[str, str]:
    """The urlencoded form (one value per field; bounded size)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise Refused(415, "forms are sent as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM:
        raise Refused(413, "the form is too large")
    try:
        parsed = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=200, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "the form could not be read") from None
    return {k: v[-1] for k, v in parsed.items()}


def _same_origin(request: Request) -> bool:
    """A browser's Origin (or Referer) must be this console's own, when it sends one."""
    origin = request.headers.get("origin") or ""
    if not origin or origin == "null":
        referer = request.headers.get("referer") or ""
        if not referer:
            return origin != "null"
        origin = "/".join(referer.split("/", 3)[:3])
    own = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    return hmac.compare_digest(origin.encode(), own.encode())


class Console:
    def __init__(
        self,
        api: ApiClient,
        login: VaultLogin | None,
        sessions: SessionStore,
        secure_cookies: bool = False,
        throttle: AuthThrottle | None = None,
    ) -> None:
        self.api = api
        self.login = login
        self.throttle = throttle
        """Failed authentications per client address, shared with the API: a password sign-in
        takes a try before Vault is asked and gives it back when Vault accepts the password."""
        self.revocations = Revocations(login) if login is not None else None
        self.sessions = sessions
        sessions.ended = self.ended
        self.secure_cookies = secure_cookies
        """Cookies are ``Secure`` even over plain HTTP (``[api] public_url`` is https: a proxy ends TLS)."""
        self.env = _environment()

    # -- sessions ending ----------------------------------------------------------------
    def ended(self, session: Session) -> None:
        """A session left the store (however): a token the console obtained is revoked."""
        if session.owned:
            self.forget(session.token)

    def forget(self, token: str) -> None:
        """Revoke a token the console obtained, off the request."""
        if self.revocations is not None:
            self.revocations.submit(token)

    async def expire_sessions(self, interval: float = 60.0) -> None:
        """End expired sessions every ``interval`` seconds (their tokens revoked), also when
        nobody comes back to the console."""
        while True:
            await asyncio.sleep(interval)
            self.sessions.sweep()

    async def aclose(self) -> None:
        """The daemon stops: every session ends (a restart signs everyone out anyway)."""
        self.sessions.end_all()
        if self.revocations is not None:
            await self.revocations.aclose()

    # -- plumbing ---------------------------------------------------------------------
    def render(
        self, request: Request, template: str, session: Session | None, status: int = 200, **ctx: Any
    ) -> HTMLResponse:
        started = getattr(request.state, "started", time.perf_counter())
        html = self.env.get_template(template).render(
            session=session,
            actor=session.actor if session else "",
            csrf=session.csrf if session else "",
            flash=session.take_flash() if session else [],
            path=request.url.path,
            root=request.scope.get("root_path", ""),
            **ctx,
        )
        resp = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
        resp.headers["Server-Timing"] = f"render;dur={(time.perf_counter() - started) * 1000:.1f}"
        return resp

    def url(self, request: Request, path: str) -> str:
        return f"{request.scope.get('root_path', '')}{path}"

    def redirect(self, request: Request, path: str) -> RedirectResponse:
        return RedirectResponse(self.url(request, path), status_code=303, headers=SECURITY_HEADERS)

    def cookie(self, request: Request, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=self.url(request, "/") or "/",
            secure=self.secure_cookies or request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )

    def session(self, request: Request) -> Session | None:
        return self.sessions.get(request.cookies.get(COOKIE))

    def page(self, fn: Callable[[Request, Session], Awaitable[Response]]) -> Handler:
        """A page or form for signed-in people: no session -> sign-in (GET) or 401 (POST)."""

        async def handle(request: Request) -> Response:
            request.state.started = time.perf_counter()
            session = self.session(request)
            try:
                if session is None:
                    if request.method == "GET":
                        return self.redirect(request, "/signin")
                    raise Refused(401, "not signed in (or the session expired): sign in again")
                if request.method == "POST":
                    if not _same_origin(request):
                        raise Refused(403, "the form came from another site")
                    form = await form_of(request)
                    if not session.check_csrf(form.get("csrf", "")):
                        raise Refused(403, "the form's CSRF token is wrong or missing: reload the page")
                    request.state.form = form
                return await fn(request, session)
            except SignedOut:
                self.sessions.drop(request.cookies.get(COOKIE))
                if request.method == "GET":
                    return self.redirect(request, "/signin")
                return self.refusal(request, 401, "Vault no longer accepts your token: sign in again")
            except Refused as e:
                return self.refusal(request, e.status, e.message)

        return handle

    def refusal(self, request: Request, status: int, message: str) -> HTMLResponse:
        log.info("console.refused", path=request.url.path, status=status, reason=message)
        return self.render(request, "refused.html", None, status=status, message=message)

    # -- sign-in --------------------------------------------------------------------------
    async def signin_form(self, request: Request) -> Response:
        if self.session(request) is not None:
            return self.redirect(request, "/")
        nonce = secrets.token_urlsafe(24)
        # no message from the URL: a link must not put its words on the console's own page
        resp = self.render(request, "signin.html", None, nonce=nonce, error="")
        self.cookie(request, resp, SIGNIN_COOKIE, nonce, 600)
        return resp

    async def signin(self, request: Request) -> Response:
        try:
            if not _same_origin(request):
                raise Refused(403, "the form came from another site")
            form = await form_of(request)
            nonce = request.cookies.get(SIGNIN_COOKIE, "")
            if not nonce or not hmac.compare_digest(nonce.encode(), form.get("nonce", "").encode()):
                raise Refused(403, "the sign-in form expired or came from elsewhere: reload it")
        except Refused as e:
            return self.refusal(request, e.status, e.message)
        owned = False
        address = request.client.host if request.client else ""
        try:
            if form.get("method") == "password":
                if self.login is None:
                    raise LoginFailed("password sign-in is not available in this daemon")
                wait = self.throttle.take(address) if self.throttle is not None else None
                if wait is not None:
                    return self.throttled(request, wait)
                token = await asyncio.to_thread(
                    self.login.password,
                    form.get("mount", "userpass").strip() or "userpass",
                    form.get("username", "").strip(),
                    form.get("password", ""),
                )
                if self.throttle is not None:
                    self.throttle.give_back(address)
                owned = True
            else:
                token = form.get("token", "").strip()
                if not token or len(token) > 4096 or not token.isprintable():
                    raise LoginFailed("field 'token': paste your Vault token")
            answer = await self.api.get(token, "/v1/whoami")
        except LoginFailed as e:
            return self.signin_again(request, e.message, 401)
        except SignedOut:
            return self.signin_again(request, "Vault does not accept this token", 401)
        if not answer.ok:
            if owned:
                self.forget(token)
            if answer.code == "too_many_auth_failures":
                return self.throttled(request, int(answer.body["error"].get("retry_after", 1)))
            return self.signin_again(request, answer.error, answer.status)
        actor = str(answer.body.get("actor", ""))
        entityless = not answer.body.get("entity_id")
        session_id, _ = self.sessions.create(
            token, actor, owned, entityless=entityless, address=client_key(address)
        )
        log.info("console.signed_in", actor=actor, method=form.get("method") or "token")
        resp = self.redirect(request, "/")
        self.cookie(request, resp, COOKIE, session_id, int(self.sessions.lifetime))
        resp.delete_cookie(SIGNIN_COOKIE, path=self.url(request, "/") or "/")
        return resp

    def throttled(self, request: Request, wait: int) -> Response:
        """Too many failed sign-ins from this address: 429, with when to try again."""
        message = f"too many failed authentications from this address: try again in {wait}s"
        resp = self.signin_again(request, message, 429)
        resp.headers["Retry-After"] = str(wait)
        return resp

    def signin_again(self, request: Request, message: str, status: int) -> Response:
        nonce = secrets.token_urlsafe(24)
        resp = self.render(request, "signin.html", None, status=status, nonce=nonce, error=message)
        self.cookie(request, resp, SIGNIN_COOKIE, nonce, 600)
        return resp

    async def signout(self, request: Request, session: Session) -> Response:
        self.sessions.drop(request.cookies.get(COOKIE))  # a token it obtained: revoked off the page
        log.info("console.signed_out", actor=session.actor)
        resp = self.redirect(request, "/signin")
        resp.delete_cookie(COOKIE, path=self.url(request, "/") or "/")
        return resp

    # -- reads -------------------------------------------------------------------------------
    async def accounts_state(self, session: Session) -> tuple[list[dict[str, Any]], str]:
        """The accounts the person may see, each with its state and their capabilities: one API call."""
        listed = await self.api.get(session.token, "/v1/accounts")
        if not listed.ok:
            return [], listed.error
        return list(listed.body.get("accounts", [])), ""

    async def overview(self, request: Request, session: Session) -> Response:
        token = session.token
        accounts, held, incidents, alerts, ready = await asyncio.gather(
            self.accounts_state(session),
            self.api.get(token, "/v1/held", status="held"),
            self.api.get(token, "/v1/incidents", status="open"),
            self.api.get(token, "/v1/alerts", limit="15"),
            self.api.get(token, "/readyz"),
        )
        rows, accounts_error = accounts
        return self.render(
            request,
            "overview.html",
            session,
            frozen=[a for a in rows if a.get("status", {}).get("frozen")],
            accounts=rows,
            accounts_error=accounts_error,
            held=held.body.get("held", []) if held.ok else None,
            held_error="" if held.ok else held.error,
            incidents=incidents.body.get("incidents", []) if incidents.ok else [],
            incidents_error="" if incidents.ok else incidents.error,
            alerts=alerts.body.get("alerts", []) if alerts.ok else [],
            checks=ready.body.get("checks", {}),
            ready=bool(ready.body.get("ready")),
        )

    async def accounts(self, request: Request, session: Session) -> Response:
        rows, error = await self.accounts_state(session)
        return self.render(request, "accounts.html", session, accounts=rows, error=error)

    async def incidents(self, request: Request, session: Session) -> Response:
        status = request.query_params.get("status", "open")
        params = {"status": status} if status in ("open", "resolved") else {}
        answer = await self.api.get(session.token, "/v1/incidents", **params)
        return self.render(
            request,
            "incidents.html",
            session,
            incidents=answer.body.get("incidents", []) if answer.ok else [],
            error="" if answer.ok else answer.error,
            shown=status,
        )

    async def incident(self, request: Request, session: Session) -> Response:
        number = request.path_params["incident"]
        answer = await self.api.get(session.token, f"/v1/incidents/{number}")
        if not answer.ok:
            raise Refused(answer.status, answer.error)
        data = answer.body
        events = data.get("events", [])
        actions = [e for e in events if e.get("kind") == "action"]
        return self.render(
            request,
            "incident.html",
            session,
            incident=data,
            events=events,
            findings=[e for e in events if e.get("kind") == "finding"],
            evidence=[e for e in events if e.get("kind") == "post"],
            done=[e for e in actions if e["data"].get("status") not in PERSON_STEPS],
            left=[e for e in actions if e["data"].get("status") in PERSON_STEPS],
            notes=[e for e in events if e.get("kind") == "note"],
            assignee=data.get("assignee") or "",
        )

    async def held(self, request: Request, session: Session) -> Response:
        status = request.query_params.get("status", "held")
        answer = await self.api.get(session.token, "/v1/held", status=status if status else "held")
        return self.render(
            request,
            "held.html",
            session,
            held=answer.body.get("held", []) if answer.ok else [],
            error="" if answer.ok else answer.error,
            shown=status,
        )

    async def respond(self, request: Request, session: Session) -> Response:
        rows, error = await self.accounts_state(session)
        tags = sorted({t for a in rows for t in a.get("tags", [])})
        return self.render(request, "respond.html", session, accounts=rows, tags=tags, error=error)

    # -- actions ---------------------------------------------------------------------------------
    def outcome(self, session: Session, answer: Answer, done: str) -> None:
        if answer.ok:
            session.say("ok", done)
        else:
            session.say("error", answer.error)

    async def approve(self, request: Request, session: Session) -> Response:
        held = request.path_params["held"]
        answer = await self.api.post(session.token, f"/v1/held/{held}/approve", {})
        self.outcome(session, answer, f"approved held post {held}")
        return self.redirect(request, "/held")

    async def reject(self, request: Request, session: Session) -> Response:
        held = request.path_params["held"]
        reason = request.state.form.get("reason", "")
        answer = await self.api.post(session.token, f"/v1/held/{held}/reject", {"reason": reason})
        self.outcome(session, answer, f"rejected held post {held}")
        return self.redirect(request, "/held")

    async def lockdown(self, request: Request, session: Session) -> Response:
        form: dict[str, str] = request.state.form
        everything = form.get("all") == "on"
        if everything and form.get("confirm") != "on":
            session.say("error", "locking down every account needs the confirmation box ticked")
            return self.redirect(request, "/respond")
        body: dict[str, Any] = {
            "reason": form.get("reason", "").strip(),
            "accounts": [a for a in form.get("accounts", "").replace(",", " ").split() if a],
            "tags": [t for t in form.get("tags", "").replace(",", " ").split() if t],
            "all": everything,
        }
        if form.get("operator", "").strip():
            body["operator"] = form["operator"].strip()
        answer = await self.api.post(session.token, "/v1/lockdown", body)
        locked = ", ".join(answer.body.get("accounts", []))
        self.outcome(session, answer, f"locked down {locked}")
        return self.redirect(request, "/respond" if not answer.ok else "/")

    async def unfreeze(self, request: Request, session: Session) -> Response:
        form: dict[str, str] = request.state.form
        account = request.path_params["account"]
        answer = await self.api.post(
            session.token,
            f"/v1/accounts/{account}/unfreeze",
            {"reason": form.get("reason", "").strip(), "totp": form.get("totp", "").strip()},
        )
        self.outcome(session, answer, f"unfroze {account}")
        return self.redirect(request, "/respond")

    async def incident_action(self, request: Request, session: Session) -> Response:
        number = request.path_params["incident"]
        action = request.path_params["action"]
        form: dict[str, str] = request.state.form
        fields = {
            "note": {"text": form.get("text", "")},
            "assign": {"assignee": form.get("assignee", "")},
            "close": {"reason": form.get("reason", "")},
        }
        if action not in fields:
            raise Refused(404, f"no incident action {action!r}")
        answer = await self.api.post(session.token, f"/v1/incidents/{number}/{action}", fields[action])
        self.outcome(session, answer, {"note": "note added", "assign": "assigned", "close": "closed"}[action])
        return self.redirect(request, f"/incidents/{number}")

    async def not_found(self, request: Request) -> Response:
        return PlainTextResponse("not found", status_code=404, headers=SECURITY_HEADERS)
