"""A real HTTP receiver on 127.0.0.1 for alert delivery tests (starlette + uvicorn in a thread).

Each request is recorded. Answers are scripted per path: a list of behaviours consumed in
order (``Reply(status, headers, body)`` or ``Hang(seconds)``, which holds the request
without answering so the sender times out); when the script is empty the answer is 200.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = "ok"


@dataclass
class Hang:
    seconds: float = 30.0


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    at: float
    answered: int | None = None

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.script: dict[str, list[Reply | Hang]] = {}
        self.default: Callable[[Recorded], Reply] = lambda _: Reply()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.script.clear()
            self.default = lambda _: Reply()

    def on(self, path: str, *behaviours: Reply | Hang) -> None:
        with self._lock:
            self.script.setdefault(path, []).extend(behaviours)

    def accepted(self, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.answered is not None and 200 <= r.answered < 300 and (path is None or r.path == path)
            ]

    def to(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    async def _handle(self, request: Request) -> Response:
        rec = Recorded(
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
            at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(rec)
            queue = self.script.get(rec.path)
            behaviour: Reply | Hang = queue.pop(0) if queue else self.default(rec)
        if isinstance(behaviour, Hang):
            deadline = time.monotonic() + behaviour.seconds
            while time.monotonic() < deadline and not self._release.is_set():
                await asyncio.sleep(0.02)
            return Response("too late", status_code=200)
        rec.answered = behaviour.status
        return Response(behaviour.body, status_code=behaviour.status, headers=behaviour.headers)

    def start(self, port: int = 0) -> HttpReceiver:
        app = Starlette(
            routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])]
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test receiver did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
