"""The process the fault-injection test kills: it rotates one account's credentials and,
when told ``kill_at = N``, SIGKILLs itself at its N-th event. Events are every step
boundary of the protocol, and the moments just before and just after every Vault call and
every platform HTTP request (after = the server has done it, the process has not yet
learnt so). It runs in a fresh process forked from a preloaded fork server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from sentinel import logs
from sentinel.creds.rotator import Rotator
from sentinel.creds.settings import RotationSettings
from sentinel.inventory import Account, CredentialSpec, Inventory
from sentinel.platforms import create_adapter
from sentinel.platforms.base import PlatformAdapter
from sentinel.vault.client import VaultClient

T = TypeVar("T")
TLS = httpx.create_ssl_context()
"""Made once in the fork server: every child inherits it instead of loading the CA bundle."""
SETTINGS = RotationSettings(attempts=4, backoff=0.01, backoff_max=0.05, grace=0.0, jitter=0.0)


class Tripwire:
    def __init__(self, kill_at: int | None) -> None:
        self.kill_at = kill_at
        self.events: list[str] = []
        self._lock = threading.Lock()

    def hit(self, name: str) -> None:
        with self._lock:
            self.events.append(name)
            if self.kill_at is not None and len(self.events) >= self.kill_at:
                os.kill(os.getpid(), signal.SIGKILL)


class TrippingVault(VaultClient):
    tripwire: Tripwire

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        self.tripwire.hit(f"vault:{what.split(' ', maxsplit=1)[0]}")
        out = super()._call(what, fn)
        self.tripwire.hit("vault:done")
        return out

    async def _acall(self, what: str, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        """The event-loop path of the rotation's Vault calls: the same kill points."""
        self.tripwire.hit(f"vault:{what.split(' ', maxsplit=1)[0]}")
        out = await super()._acall(what, method, path, *args, **kwargs)
        self.tripwire.hit("vault:done")
        return out


class TrippingTransport(httpx.AsyncBaseTransport):
    def __init__(self, tripwire: Tripwire, tls: ssl.SSLContext) -> None:
        self.tripwire = tripwire
        self.inner = httpx.AsyncHTTPTransport(verify=tls)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.tripwire.hit(f"http:{request.method} {request.url.path}")
        response = await self.inner.handle_async_request(request)
        await response.aread()
        self.tripwire.hit("http:done")
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def account_from(spec: Mapping[str, Any]) -> Account:
    return Account(
        id=spec["id"],
        platform=spec["platform"],
        handle=spec["handle"],
        timezone="UTC",
        publishing="gated",
        credentials=tuple(CredentialSpec(kind=k) for k in spec["kinds"]),
    )


def run(conf: dict[str, Any]) -> None:
    """Rotate (or resume) the account's credentials; write what happened to ``conf['out']``."""
    logs.configure(level="error", fmt="json")
    wire = Tripwire(conf.get("kill_at"))
    vault = TrippingVault(conf["vault_addr"], conf["token"], kv_mount=conf["mount"])
    vault.tripwire = wire
    account = account_from(conf["account"])

    def adapters(acct: Account, creds: Mapping[str, str]) -> PlatformAdapter:
        return create_adapter(
            acct.platform, acct.id, creds, base_url=conf["base_url"], transport=TrippingTransport(wire, TLS)
        )

    rotator = Rotator(
        vault=vault,
        inventory=Inventory((account,)),
        settings=SETTINGS,
        password_policy=conf["password_policy"],
        adapters=adapters,
        checkpoint=lambda name: wire.hit(f"step:{name}"),
    )
    results = asyncio.run(rotator.rotate_account(account.id, force=True, reason="fault test"))
    with open(conf["out"], "w") as f:
        json.dump({"events": wire.events, "results": [r.to_dict() for r in results]}, f)
