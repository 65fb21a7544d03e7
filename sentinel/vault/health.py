"""Is Vault usable for Sentinel right now? One bounded probe, and what its answer means.

A probe makes up to three small requests, all within ``[vault] health_timeout``:

1. ``sys/health`` (unauthenticated): unreachable, too slow, sealed or not initialised;
2. ``auth/token/lookup-self`` with Sentinel's own token: revoked, or expired;
3. ``sys/internal/ui/mounts/<kv_mount>``: Sentinel's KV mount is still there.

Each failure has its own state and message, so an operator reading ``sentinel status`` or
the alert knows what to do: a Vault restarted empty (a dev server, or a new cluster) shows
as a changed ``cluster_id`` together with a token Vault no longer knows. The probe speaks
HTTP from the event loop (httpx) with its own short timeout, so a stalled Vault (a paused
process) never holds the loop or a worker thread longer than the timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from sentinel.vault.settings import VaultSettings

State = Literal[
    "ok",
    "unreachable",
    "timeout",
    "sealed",
    "uninitialised",
    "replaced",
    "token_revoked",
    "token_expired",
    "mount_missing",
    "error",
]


@dataclass(frozen=True)
class VaultHealth:
    """One probe's verdict: ``state`` (a stable word) and a message for people."""

    state: State
    message: str
    cluster_id: str = ""
    token_expires: str = ""
    latency: float = 0.0

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "message": self.message, "latency": round(self.latency, 4)}


def _expired(expire_time: str) -> bool:
    try:
        when = datetime.fromisoformat(expire_time.replace("Z", "+00:00"))
    except ValueError:
        return False
    return when <= datetime.now(UTC)


class VaultProbe:
    """Probes one Vault for one token; remembers the cluster and the token's expiry it saw."""

    def __init__(
        self,
        addr: str,
        token: Callable[[], str | None],
        kv_mount: str,
        timeout: float = 2.0,
        namespace: str = "",
        verify: bool | str = True,
    ) -> None:
        self.addr = addr.rstrip("/")
        self.token = token
        self.kv_mount = kv_mount.strip("/")
        self.timeout = timeout
        self.namespace = namespace
        self.verify = verify
        self.cluster_id = ""
        self.token_expires = ""
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"X-Vault-Namespace": self.namespace} if self.namespace else {}
            self._client = httpx.AsyncClient(
                base_url=self.addr + "/v1/",
                timeout=self.timeout,
                verify=self.verify,
                headers=headers,
                trust_env=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def probe(self) -> VaultHealth:
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                verdict = await self._probe()
        except (TimeoutError, httpx.TimeoutException):
            verdict = VaultHealth(
                "timeout",
                f"Vault at {self.addr} did not answer within {self.timeout:g}s (stalled or overloaded)",
            )
        except httpx.TransportError as e:
            verdict = VaultHealth(
                "unreachable", f"Vault at {self.addr} cannot be reached ({e.__class__.__name__})"
            )
        return VaultHealth(
            verdict.state,
            verdict.message,
            verdict.cluster_id or self.cluster_id,
            self.token_expires,
            time.perf_counter() - t0,
        )

    async def _probe(self) -> VaultHealth:
        http = self._http()
        r = await http.get("sys/health", params={"standbyok": "true", "perfstandbyok": "true"})
        if r.status_code == 503:
            return VaultHealth("sealed", f"Vault at {self.addr} is sealed: unseal it (bao operator unseal)")
        if r.status_code == 501:
            return VaultHealth("uninitialised", f"Vault at {self.addr} is not initialised")
        if r.status_code != 200:
            return VaultHealth("error", f"Vault at {self.addr} answered health status {r.status_code}")
        cluster = str(r.json().get("cluster_id") or "")
        token = self.token()
        if not token:
            return VaultHealth("ok", "Vault reachable and unsealed (Sentinel's token not checked)", cluster)
        auth = {"X-Vault-Token": token}
        r = await http.get("auth/token/lookup-self", headers=auth)
        if r.status_code in (401, 403):
            if self.cluster_id and cluster and cluster != self.cluster_id:
                return VaultHealth(
                    "replaced",
                    f"Vault at {self.addr} is not the cluster Sentinel connected to (cluster id changed): "
                    "it was restarted empty or replaced, and Sentinel's token and KV mount are gone; "
                    "run 'sentinel vault bootstrap', give the daemon a new token and restart it",
                    cluster,
                )
            if self.token_expires and _expired(self.token_expires):
                return VaultHealth(
                    "token_expired",
                    f"Sentinel's Vault token expired at {self.token_expires}: issue a new one and restart",
                    cluster,
                )
            return VaultHealth(
                "token_revoked",
                "Vault no longer accepts Sentinel's token (revoked): issue a new one and restart",
                cluster,
            )
        if r.status_code != 200:
            return VaultHealth("error", f"Vault answered {r.status_code} to Sentinel's token lookup", cluster)
        self.token_expires = str(r.json().get("data", {}).get("expire_time") or "")
        r = await http.get(f"sys/internal/ui/mounts/{self.kv_mount}", headers=auth)
        if r.status_code != 200:
            return VaultHealth(
                "mount_missing",
                f"Sentinel's KV mount '{self.kv_mount}/' is missing in Vault: "
                "run 'sentinel vault bootstrap' and restore the credentials from a Vault snapshot",
                cluster,
            )
        self.cluster_id = cluster
        return VaultHealth("ok", "Vault reachable, unsealed, Sentinel's token and KV mount in place", cluster)


def probe_for(settings: VaultSettings, token: Callable[[], str | None] = lambda: None) -> VaultProbe:
    """A probe of the configured Vault within ``[vault] health_timeout``."""
    return VaultProbe(
        settings.addr,
        token,
        settings.kv_mount,
        timeout=float(settings.health_timeout),
        namespace=settings.namespace,
        verify=str(settings.ca_cert) if settings.ca_cert else True,
    )


def check(settings: VaultSettings) -> VaultHealth:
    """One probe without a token, for commands (``sentinel status``, ``lockdown --break-glass``)."""

    async def once() -> VaultHealth:
        probe = probe_for(settings)
        try:
            return await probe.probe()
        finally:
            await probe.aclose()

    return asyncio.run(once())
