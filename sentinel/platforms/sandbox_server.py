"""The sandbox platform: a small local social network for demos and end-to-end tests.

This is a SANDBOX, not a real platform. It keeps everything in memory and serves a JSON
HTTP API shaped like the real ones Sentinel talks to, so ``make run``'s demo and tests
that need hundreds of accounts can exercise the whole loop (publish, watch, delete, revoke
sessions and app passwords, change password, lock) in milliseconds.

API (bearer tokens from ``POST /api/sessions``):

``POST /api/accounts``                 create ``{"handle", "password"}`` or ``{"accounts": [...]}``
``POST /api/sessions``                 log in ``{"handle", "password"}`` (main or app password)
``GET /api/session``                   who the token belongs to
``DELETE /api/session``                log this token out
``DELETE /api/sessions``               end every session of the account (main password session)
``GET /api/accounts/{handle}/posts``   public timeline; ``?since=CURSOR`` oldest first, else newest
``POST /api/posts``                    publish ``{"text", "client"?, "reply_to"?}`` (a reply to any post;
                                       text of at most ``MAX_TEXT`` characters)
``DELETE /api/posts/{id}``             delete a post: the author's, or a reply to one of the caller's posts
``GET /api/posts/{id}/replies``        public list of the replies to a post (with ``hidden``)
``POST /api/posts/{id}/hide``          ``{"hidden": bool}``: the replied-to post's author hides a reply
``GET|POST /api/app-passwords``        list / create ``{"name"}`` (main password session)
``DELETE /api/app-passwords/{name}``   revoke an app password and end its sessions at once
``POST /api/password``                 change ``{"current", "new"}``; ends every other session
``POST /api/lock`` / ``/api/unlock``   lock: no session can post, list or delete; unlock by main password
``POST /api/_faults``                  test hook: ``{"handle", "status", "count", "retry_after"?}``
``GET /api/stream?cursor=SEQ``         every account's post and deletion events as server-sent
                                       events (``id: <seq>``, ``event: post|delete``, ``data:
                                       {"seq", "account", "post_id"}``), shaped like Bluesky's
                                       repository stream: one stream for the whole server,
                                       resumable after ``cursor`` (the last 10,000 events kept)

Start it in-process with ``SandboxServer().start()`` (a background thread; ``.url``,
``.stop()``) or as ``python -m sentinel.platforms.sandbox_server --port 8480``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from sentinel.net import free_port
from sentinel.platforms.timefmt import utc_z

STREAM_KEEP = 10_000
MAX_TEXT = 5_000
"""The longest post text the sandbox takes (its adapter declares the same: ``text_limit``)."""
STREAM_HEARTBEAT = 15.0


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass
class _AppPassword:
    name: str
    digest: bytes
    created_at: str


@dataclass
class _Session:
    token: str
    handle: str
    app_password: str | None  # name of the app password it was opened with, None: main password


@dataclass
class _Post:
    seq: int
    text: str
    client: str
    created_at: str
    author: str = ""
    reply_to: str | None = None
    hidden: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.seq),
            "text": self.text,
            "client": self.client,
            "created_at": self.created_at,
            "author": self.author,
            "reply_to": self.reply_to,
            "hidden": self.hidden,
        }


@dataclass
class _Account:
    handle: str
    digest: bytes
    locked: bool = False
    posts: list[_Post] = field(default_factory=list)
    app_passwords: dict[str, _AppPassword] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    """What ``GET /api/profile`` shows beside the handle and the app passwords."""


PROFILE_FIELDS: dict[str, type[Any]] = {
    "display_name": str,
    "bio": str,
    "links": list,
    "email": str,
    "two_factor": str,
}


@dataclass
class _Fault:
    status: int
    count: int
    retry_after: float | None = None


class SandboxState:
    """All accounts, posts and sessions of one sandbox (in memory; one event loop)."""

    def __init__(self) -> None:
        self.accounts: dict[str, _Account] = {}
        self.sessions: dict[str, _Session] = {}
        self.faults: dict[str, _Fault] = {}
        self.posts: dict[str, _Post] = {}
        """Every post by id (replies point at their parent by id, across accounts)."""
        self._seq = itertools.count(1)
        self.events: deque[dict[str, Any]] = deque(maxlen=STREAM_KEEP)
        """The latest post and deletion events, for ``/api/stream`` (resumed by ``seq``)."""
        self.listeners: set[asyncio.Queue[dict[str, Any]]] = set()
        self._event_seq = itertools.count(1)

    def emit(self, kind: str, account: str, post_id: str) -> None:
        event = {"seq": next(self._event_seq), "kind": kind, "account": account, "post_id": post_id}
        self.events.append(event)
        for queue in self.listeners:
            queue.put_nowait(event)

    def create_account(self, handle: str, password: str) -> _Account:
        acct = _Account(handle=handle, digest=_digest(password))
        self.accounts[handle] = acct
        return acct

    def login(self, handle: str, password: str) -> _Session | None:
        acct = self.accounts.get(handle)
        if acct is None:
            return None
        digest = _digest(password)
        app: str | None = None
        if not hmac.compare_digest(digest, acct.digest):
            app = next(
                (a.name for a in acct.app_passwords.values() if hmac.compare_digest(a.digest, digest)), None
            )
            if app is None:
                return None
        session = _Session(token=secrets.token_urlsafe(24), handle=handle, app_password=app)
        self.sessions[session.token] = session
        return session

    def end_sessions(self, handle: str, keep: str | None = None, app_password: str | None = None) -> int:
        doomed = [
            t
            for t, s in self.sessions.items()
            if s.handle == handle and t != keep and (app_password is None or s.app_password == app_password)
        ]
        for t in doomed:
            del self.sessions[t]
        return len(doomed)

    def publish(
        self,
        acct: _Account,
        text: str,
        client: str,
        created: float | None = None,
        reply_to: str | None = None,
    ) -> _Post:
        post = _Post(
            seq=next(self._seq),
            text=text,
            client=client,
            created_at=utc_z(created or time.time()),
            author=acct.handle,
            reply_to=reply_to,
        )
        acct.posts.append(post)
        self.posts[str(post.seq)] = post
        self.emit("post", acct.handle, str(post.seq))
        return post

    def delete(self, post: _Post) -> None:
        self.accounts[post.author].posts.remove(post)
        del self.posts[str(post.seq)]
        self.emit("delete", post.author, str(post.seq))

    def replies(self, post_id: str) -> list[_Post]:
        return [p for p in self.posts.values() if p.reply_to == post_id]

    def may_moderate(self, handle: str, post: _Post) -> bool:
        """The author of the post a reply answers moderates it (as on a Page)."""
        parent = self.posts.get(post.reply_to or "")
        return parent is not None and parent.author == handle


def _error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status, headers=headers)


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _sse(event: dict[str, Any]) -> bytes:
    data = json.dumps({k: event[k] for k in ("seq", "account", "post_id")})
    return f"id: {event['seq']}\nevent: {event['kind']}\ndata: {data}\n\n".encode()


def build_app(state: SandboxState | None = None) -> Starlette:
    """The sandbox's Starlette application (``app.state.sandbox`` holds the ``SandboxState``)."""
    st = state or SandboxState()

    def fault(handle: str) -> Response | None:
        f = st.faults.get(handle)
        if f is None or f.count <= 0:
            return None
        f.count -= 1
        headers = {"retry-after": str(f.retry_after)} if f.retry_after is not None else None
        return _error(f.status, "InjectedFault", "fault injected by the sandbox test hook", headers)

    def session_of(request: Request) -> _Session | Response:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        session = st.sessions.get(token)
        if session is None:
            return _error(401, "InvalidToken", "session token is missing, expired or revoked")
        return session

    def usable(request: Request, main: bool = False) -> tuple[_Session, _Account] | Response:
        session = session_of(request)
        if isinstance(session, Response):
            return session
        acct = st.accounts[session.handle]
        failed = fault(acct.handle)
        if failed is not None:
            return failed
        if main and session.app_password is not None:
            return _error(403, "InsufficientScope", "this needs a session opened with the main password")
        if acct.locked and not main:
            return _error(423, "AccountLocked", "account is locked")
        return session, acct

    async def create_accounts(request: Request) -> Response:
        body = await _body(request)
        items = body.get("accounts") if "accounts" in body else [body]
        if not isinstance(items, list):
            return _error(400, "InvalidRequest", "'accounts' must be a list")
        out = []
        for item in items:
            handle, password = item.get("handle"), item.get("password")
            if (
                not isinstance(handle, str)
                or not handle
                or not isinstance(password, str)
                or len(password) < 8
            ):
                return _error(
                    400, "InvalidRequest", "each account needs 'handle' and a password of 8+ characters"
                )
            if handle in st.accounts:
                return _error(409, "HandleTaken", f"handle {handle!r} exists")
            st.create_account(handle, password)
            out.append({"handle": handle})
        return JSONResponse({"accounts": out} if "accounts" in body else out[0], status_code=201)

    async def create_session(request: Request) -> Response:
        body = await _body(request)
        handle, password = str(body.get("handle", "")), str(body.get("password", ""))
        failed = fault(handle)
        if failed is not None:
            return failed
        session = st.login(handle, password)
        if session is None:
            return _error(401, "AuthenticationFailed", "invalid handle or password")
        acct = st.accounts[handle]
        return JSONResponse(
            {
                "token": session.token,
                "handle": handle,
                "locked": acct.locked,
                "app_password": session.app_password,
            },
            status_code=201,
        )

    async def get_session(request: Request) -> Response:
        session = session_of(request)
        if isinstance(session, Response):
            return session
        acct = st.accounts[session.handle]
        return JSONResponse(
            {"handle": acct.handle, "locked": acct.locked, "app_password": session.app_password}
        )

    async def delete_session(request: Request) -> Response:
        session = session_of(request)
        if isinstance(session, Response):
            return session
        st.sessions.pop(session.token, None)
        return Response(status_code=204)

    async def delete_all_sessions(request: Request) -> Response:
        ok = usable(request, main=True)
        if isinstance(ok, Response):
            return ok
        session, acct = ok
        ended = st.end_sessions(acct.handle, keep=session.token)
        return JSONResponse({"ended": ended})

    async def list_posts(request: Request) -> Response:
        handle = request.path_params["handle"]
        acct = st.accounts.get(handle)
        if acct is None:
            return _error(404, "AccountNotFound", f"no account {handle!r}")
        failed = fault(handle)
        if failed is not None:
            return failed
        if acct.locked:
            return _error(423, "AccountLocked", "account is locked")
        try:
            limit = max(1, min(int(request.query_params.get("limit", "50")), 100))
            since_raw = request.query_params.get("since")
            since = int(since_raw) if since_raw not in (None, "") else None
        except ValueError:
            return _error(400, "InvalidRequest", "'limit' and 'since' must be whole numbers")
        if since is None:
            posts = acct.posts[-limit:]
        else:
            newer = [p for p in acct.posts if p.seq > since]
            posts = newer[:limit]
        cursor = str(posts[-1].seq) if posts else (str(since) if since is not None else "0")
        return JSONResponse({"posts": [p.to_dict() for p in posts], "cursor": cursor})

    async def create_post(request: Request) -> Response:
        ok = usable(request)
        if isinstance(ok, Response):
            return ok
        _, acct = ok
        body = await _body(request)
        text = body.get("text")
        if not isinstance(text, str) or not text:
            return _error(400, "InvalidRequest", "'text' is required")
        if len(text) > MAX_TEXT:
            return _error(400, "InvalidRequest", f"'text' is longer than {MAX_TEXT} characters")
        reply_to = body.get("reply_to")
        if reply_to is not None and str(reply_to) not in st.posts:
            return _error(404, "PostNotFound", f"no post {reply_to!r} to reply to")
        post = st.publish(
            acct,
            text,
            str(body.get("client") or "Sandbox API"),
            reply_to=str(reply_to) if reply_to is not None else None,
        )
        return JSONResponse(post.to_dict(), status_code=201)

    async def delete_post(request: Request) -> Response:
        ok = usable(request)
        if isinstance(ok, Response):
            return ok
        _, acct = ok
        pid = request.path_params["post_id"]
        post = st.posts.get(pid)
        if post is None:
            return _error(404, "PostNotFound", f"no post {pid!r}")
        if post.author != acct.handle and not st.may_moderate(acct.handle, post):
            return _error(403, "NotAuthor", "only the author, or the author of the post it replies to")
        st.delete(post)
        return Response(status_code=204)

    async def stream(request: Request) -> Response:
        raw = request.query_params.get("cursor", "")
        if raw and not raw.isdigit():
            return _error(400, "InvalidRequest", "'cursor' must be a whole number")
        after = int(raw) if raw else None
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        st.listeners.add(queue)  # before the replay, so nothing falls between the two

        async def events() -> AsyncIterator[bytes]:
            try:
                last = 0
                if after is not None:
                    for event in list(st.events):
                        if event["seq"] > after:
                            last = event["seq"]
                            yield _sse(event)
                yield b": stream up\n\n"
                while True:
                    try:
                        event = await asyncio.wait_for(queue.get(), timeout=STREAM_HEARTBEAT)
                    except TimeoutError:
                        yield b":\n\n"
                        continue
                    if event["seq"] > last:
                        yield _sse(event)
            finally:
                st.listeners.discard(queue)

        return StreamingResponse(events(), media_type="text/event-stream")

    async def list_replies(request: Request) -> Response:
        pid = request.path_params["post_id"]
        if pid not in st.posts:
            return _error(404, "PostNotFound", f"no post {pid!r}")
        return JSONResponse({"replies": [p.to_dict() for p in st.replies(pid)]})

    async def hide_reply(request: Request) -> Response:
        ok = usable(request)
        if isinstance(ok, Response):
            return ok
        _, acct = ok
        post = st.posts.get(request.path_params["post_id"])
        if post is None:
            return _error(404, "PostNotFound", f"no post {request.path_params['post_id']!r}")
        if not st.may_moderate(acct.handle, post):
            return _error(403, "NotModerator", "only the author of the replied-to post may hide a reply")
        hidden = (await _body(request)).get("hidden", True)
        if not isinstance(hidden, bool):
            return _error(400, "InvalidRequest", "'hidden' must be true or false")
        post.hidden = hidden
        return JSONResponse(post.to_dict())

    async def app_passwords(request: Request) -> Response:
        ok = usable(request, main=True)
        if isinstance(ok, Response):
            return ok
        _, acct = ok
        if request.method == "GET":
            return JSONResponse(
                {
                    "app_passwords": [
                        {"name": a.name, "created_at": a.created_at} for a in acct.app_passwords.values()
                    ]
                }
            )
        name = str((await _body(request)).get("name", ""))
        if not name:
            return _error(400, "InvalidRequest", "'name' is required")
        if name in acct.app_passwords:
            return _error(409, "DuplicateName", f"app password {name!r} exists")
        secret = "-".join(secrets.token_hex(2) for _ in range(4))
        acct.app_passwords[name] = _AppPassword(
            name=name, digest=_digest(secret), created_at=utc_z(time.time())
        )
        return JSONResponse(
            {"name": name, "password": secret, "created_at": acct.app_passwords[name].created_at},
            status_code=201,
        )

    async def revoke_app_password(request: Request) -> Response:
        ok = usable(request, main=True)
        if isinstance(ok, Response):
            return ok
        _, acct = ok
        name = request.path_params["name"]
        if acct.app_passwords.pop(name, None) is None:
            return _error(404, "AppPasswordNotFound", f"no app password {name!r}")
        st.end_sessions(acct.handle, app_password=name)
        return Response(status_code=204)

    async def change_password(request: Request) -> Response:
        ok = usable(request, main=True)
        if isinstance(ok, Response):
            return ok
        session, acct = ok
        body = await _body(request)
        current, new = str(body.get("current", "")), str(body.get("new", ""))
        if not hmac.compare_digest(_digest(current), acct.digest):
            return _error(401, "AuthenticationFailed", "current password is wrong")
        if len(new) < 8:
            return _error(400, "InvalidRequest", "new password needs 8+ characters")
        acct.digest = _digest(new)
        st.end_sessions(acct.handle, keep=session.token)
        return Response(status_code=204)

    async def set_lock(request: Request) -> Response:
        ok = usable(request, main=True)
        if isinstance(ok, Response):
            return ok
        _, acct = ok
        acct.locked = request.url.path.endswith("/lock")
        return JSONResponse({"handle": acct.handle, "locked": acct.locked})

    async def profile(request: Request) -> Response:
        ok = usable(request, main=True)
        if isinstance(ok, Response):
            return ok
        _, acct = ok
        if request.method == "PATCH":
            body = await _body(request)
            for name, value in body.items():
                kind = PROFILE_FIELDS.get(name)
                if kind is None or not isinstance(value, kind):
                    return _error(400, "InvalidRequest", f"{name!r} is not a profile field of that type")
                acct.profile[name] = value
        return JSONResponse(
            {
                "handle": acct.handle,
                **{name: acct.profile.get(name) for name in PROFILE_FIELDS},
                "app_passwords": sorted(acct.app_passwords),
            }
        )

    async def set_fault(request: Request) -> Response:
        body = await _body(request)
        handle = str(body.get("handle", ""))
        retry = body.get("retry_after")
        st.faults[handle] = _Fault(
            status=int(body.get("status", 503)),
            count=int(body.get("count", 1)),
            retry_after=float(retry) if retry is not None else None,
        )
        return JSONResponse({"ok": True})

    async def health(request: Request) -> Response:
        return JSONResponse({"sandbox": True, "accounts": len(st.accounts)})

    app = Starlette(
        routes=[
            Route("/api/health", health, methods=["GET"]),
            Route("/api/accounts", create_accounts, methods=["POST"]),
            Route("/api/sessions", create_session, methods=["POST"]),
            Route("/api/sessions", delete_all_sessions, methods=["DELETE"]),
            Route("/api/session", get_session, methods=["GET"]),
            Route("/api/session", delete_session, methods=["DELETE"]),
            Route("/api/accounts/{handle}/posts", list_posts, methods=["GET"]),
            Route("/api/posts", create_post, methods=["POST"]),
            Route("/api/posts/{post_id}", delete_post, methods=["DELETE"]),
            Route("/api/posts/{post_id}/replies", list_replies, methods=["GET"]),
            Route("/api/posts/{post_id}/hide", hide_reply, methods=["POST"]),
            Route("/api/app-passwords", app_passwords, methods=["GET", "POST"]),
            Route("/api/app-passwords/{name}", revoke_app_password, methods=["DELETE"]),
            Route("/api/password", change_password, methods=["POST"]),
            Route("/api/profile", profile, methods=["GET", "PATCH"]),
            Route("/api/lock", set_lock, methods=["POST"]),
            Route("/api/unlock", set_lock, methods=["POST"]),
            Route("/api/_faults", set_fault, methods=["POST"]),
            Route("/api/stream", stream, methods=["GET"]),
        ]
    )
    app.state.sandbox = st
    return app


class SandboxServer:
    """Run the sandbox on 127.0.0.1 in a background thread (for tests and the demo)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.state = SandboxState()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> SandboxServer:
        # IPPROTO_TCP explicitly, so asyncio sets TCP_NODELAY on accepted connections
        # (without it every small response waits for a delayed ACK, ~40 ms).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            build_app(self.state),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,  # open event streams do not hold the stop up
        )
        server = uvicorn.Server(config)
        self._server = server

        def run() -> None:
            asyncio.run(server.serve(sockets=[sock]))

        self._thread = threading.Thread(target=run, name="sandbox-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"sandbox server did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SandboxProcess:
    """The sandbox in its own process, as a real platform would be (not sharing the caller's
    GIL): for benchmarks that count each side's CPU and for tests that kill the caller."""

    def __init__(self, timeout: float = 20.0) -> None:
        self.timeout = timeout
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> SandboxProcess:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sentinel.platforms.sandbox_server", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.proc.kill()
                raise RuntimeError("the sandbox platform process did not start")
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sentinel.platforms.sandbox_server",
        description="Serve the Sentinel sandbox platform (in memory, for demos and tests; not a real platform).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8480)
    parser.add_argument(
        "--account", action="append", default=[], metavar="HANDLE:PASSWORD", help="create an account at start"
    )
    args = parser.parse_args(argv)
    state = SandboxState()
    for spec in args.account:
        handle, _, password = spec.partition(":")
        state.create_account(handle, password)
    config = uvicorn.Config(
        build_app(state),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    print(f"sandbox platform serving on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    server.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
