"""Sandbox accounts for the watcher tests, and a sink that keeps what it is handed."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from sentinel.platforms.sandbox_server import SandboxServer


def new_account(server: SandboxServer) -> dict[str, str]:
    handle, password = f"w{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    httpx.post(f"{server.url}/api/accounts", json={"handle": handle, "password": password}).raise_for_status()
    return {"identifier": handle, "password": password, "service": server.url}


class Sink:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def by_text(self) -> dict[str, dict[str, Any]]:
        return {e["text"]: e for e in self.events}
