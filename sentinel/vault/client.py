"""Sentinel's one door to Vault (or OpenBao): a thin, typed wrapper over hvac.

Every call goes through ``_call``, which translates hvac and requests exceptions into
Sentinel's own (``VaultUnavailable``, ``VaultPermissionDenied``, ``VaultNotFound``,
``VaultConflict``, ...). Nothing above this module imports hvac. Secret values read or
generated here are registered with the redactor before they are returned, and error
messages name the path, never a value.

The rotation hot path (KV read, write and metadata patch, password generation) also has
``async`` twins (``akv_read``, ...). Inside ``async with client.session():`` they go out
from the event loop over a small keep-alive pool (``sentinel.vault.aio``): no thread hop,
no requests machinery, the same requests and the same error translation. Outside a session
they run the synchronous call in a worker thread.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import os
import ssl
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import hvac
import hvac.exceptions as hv
import requests

from sentinel.errors import (
    ConfigError,
    VaultAuthError,
    VaultConflict,
    VaultError,
    VaultInvalidRequest,
    VaultNotFound,
    VaultPermissionDenied,
    VaultUnavailable,
)
from sentinel.files import writable_by_others
from sentinel.redact import register_secret, scrub
from sentinel.vault.aio import Answer, ConnectFailed, LoopShared, Pool, tls_refusal
from sentinel.vault.auth import TokenSource, login
from sentinel.vault.settings import VaultSettings

T = TypeVar("T")
MERGE_PATCH = "application/merge-patch+json"

# Fields stored beside a secret that are not secret themselves (where and who, not how).
PUBLIC_FIELDS = frozenset(
    {"service", "identifier", "name", "handle", "client_id", "page_id", "user_id", "kind"}
    | {"issuer", "algorithm"}  # a TOTP seed's: "Example" must not redact the organisation's name
)


@dataclass(frozen=True)
class KvSecret:
    """One version of a KV v2 secret."""

    path: str
    data: dict[str, Any]
    version: int
    created_time: str = ""
    custom_metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KvMetadata:
    path: str
    current_version: int
    oldest_version: int
    custom_metadata: dict[str, str]
    versions: dict[int, dict[str, Any]]
    created_time: str = ""
    updated_time: str = ""


@dataclass(frozen=True)
class TokenInfo:
    accessor: str
    policies: tuple[str, ...]
    ttl: int
    renewable: bool
    entity_id: str = ""
    display_name: str = ""
    expire_time: str | None = None
    meta: dict[str, str] = field(default_factory=dict)


def _message(e: Exception) -> str:
    errors = getattr(e, "errors", None)
    if isinstance(errors, list) and errors:
        return "; ".join(str(x) for x in errors)
    return str(e) or e.__class__.__name__


def translate(e: Exception, what: str) -> VaultError:
    """Map an hvac/requests exception raised while doing ``what`` to Sentinel's own."""
    detail = scrub(_message(e))
    if isinstance(e, requests.exceptions.RequestException):
        why = tls_refusal(e) or e.__class__.__name__
        return VaultUnavailable(f"Vault unreachable while {what}: {why}")
    if isinstance(e, hv.Forbidden):
        return VaultPermissionDenied(f"Vault denied {what}: permission denied")
    if isinstance(e, hv.Unauthorized):
        return VaultAuthError(f"Vault refused the token while {what}: {detail}")
    if isinstance(e, hv.InvalidPath):
        return VaultNotFound(f"nothing in Vault for {what}")
    if isinstance(e, hv.InvalidRequest):
        if "check-and-set" in detail or "cas" in detail.lower().split():
            return VaultConflict(f"concurrent change detected while {what}: {detail}")
        return VaultInvalidRequest(f"Vault rejected {what}: {detail}")
    if isinstance(e, hv.VaultDown | hv.VaultNotInitialized):
        return VaultUnavailable(f"Vault is sealed or not initialised while {what}")
    if isinstance(e, hv.RateLimitExceeded | hv.InternalServerError | hv.BadGateway):
        return VaultUnavailable(f"Vault failed while {what}: {detail}")
    if isinstance(e, hv.VaultError):
        return VaultError(f"Vault error while {what}: {detail}")
    return VaultError(f"Vault error while {what}: {e.__class__.__name__}")


class VaultClient:
    """Typed operations on Vault; one HTTP session, keep-alive, bounded timeouts."""

    def __init__(
        self,
        addr: str,
        token: str | None = None,
        *,
        kv_mount: str = "sentinel",
        namespace: str = "",
        ca_cert: str | None = None,
        timeout: float = 10.0,
        token_source: TokenSource | None = None,
    ) -> None:
        self.addr = addr.rstrip("/")
        self.kv_mount = kv_mount.strip("/")
        self.token_source = token_source
        self.round_trips = 0
        self.last_latency = 0.0
        self._namespace, self._ca_cert, self._timeout = namespace, ca_cert, timeout
        # The CA bundle decides whom the token is sent to: nobody else may swap in their own CA.
        unsafe = writable_by_others(ca_cert) if ca_cert else None
        if unsafe:
            raise ConfigError(f"refusing the Vault CA bundle ([vault] ca_cert): {unsafe}")
        verify: bool | str = ca_cert if ca_cert else True
        # The environment (proxies, CA bundle) is read once here rather than by requests on
        # every call: that lookup (netrc file, proxy variables) cost more than the call itself.
        proxies = requests.utils.get_environ_proxies(self.addr)
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if verify is True and bundle:
            verify = bundle
        self._verify = verify
        session = requests.Session()
        session.trust_env = False
        session.verify = verify
        session.proxies.update(proxies)
        self._hvac = hvac.Client(
            url=self.addr,
            token=token,
            verify=verify,
            timeout=timeout,
            namespace=namespace or None,
            session=session,
        )
        # Event-loop pools (see ``session``): none through a proxy, which only hvac speaks.
        self._direct = not proxies and self.addr.startswith(("http://", "https://"))
        self._pools: LoopShared[Pool] = LoopShared(
            lambda: Pool(self.addr, self._ssl_context(), self._timeout), Pool.aclose
        )
        if token:
            register_secret(token)

    @classmethod
    def from_settings(cls, settings: VaultSettings, env: Mapping[str, str] | None = None) -> VaultClient:
        client = cls(
            settings.addr,
            kv_mount=settings.kv_mount,
            namespace=settings.namespace,
            ca_cert=str(settings.ca_cert) if settings.ca_cert else None,
            timeout=settings.timeout,
        )
        client.token_source = login(client, settings, env)
        return client

    # -- plumbing ---------------------------------------------------------------------
    @property
    def token(self) -> str | None:
        tok = self._hvac.token
        return str(tok) if tok else None

    def set_token(self, token: str) -> None:
        register_secret(token)
        self._hvac.token = token

    def with_token(self, token: str) -> VaultClient:
        """A client for the same server acting with another token (e.g. a caller's)."""
        return VaultClient(
            self.addr,
            token,
            kv_mount=self.kv_mount,
            namespace=self._namespace,
            ca_cert=self._ca_cert,
            timeout=self._timeout,
        )

    def close(self) -> None:
        try:
            self._hvac.adapter.close()
        except Exception:  # noqa: S110 - closing a pool never matters enough to fail
            pass

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        start = time.perf_counter()
        self.round_trips += 1
        try:
            return fn()
        except (hv.VaultError, requests.exceptions.RequestException) as e:
            raise translate(e, what) from None
        finally:
            self.last_latency = time.perf_counter() - start

    def request(self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None) -> Any:
        """A raw API call on ``/v1/<path>`` for endpoints hvac has no wrapper for."""

        def go() -> Any:
            kwargs: dict[str, Any] = {}
            if json is not None:
                if headers and headers.get("Content-Type") == MERGE_PATCH:
                    kwargs["data"] = jsonlib.dumps(json)
                else:
                    kwargs["json"] = json
            resp = self._hvac.adapter.request(method, f"/v1/{path.lstrip('/')}", headers=headers, **kwargs)
            if isinstance(resp, requests.Response):
                if resp.status_code == 204 or not resp.content:
                    return None
                return resp.json()
            return resp

        return self._call(f"{method} {path}", go)

    # -- health and tokens --------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """``sys/health`` (unauthenticated). Raises VaultUnavailable when unreachable or sealed."""

        def go() -> Any:
            return self._hvac.sys.read_health_status(method="GET")

        result = self._call("checking Vault health", go)
        if isinstance(result, requests.Response):
            if result.status_code >= 500 or result.status_code == 503:
                raise VaultUnavailable(f"Vault at {self.addr} answered health status {result.status_code}")
            return dict(result.json())
        return dict(result)

    def lookup_self(self) -> TokenInfo:
        data = self._call("looking up Sentinel's token", lambda: self._hvac.auth.token.lookup_self())["data"]
        return _token_info(data)

    def lookup_accessor(self, accessor: str) -> TokenInfo:
        data = self._call(
            "looking up a token by accessor",
            lambda: self._hvac.auth.token.lookup_accessor(accessor),
        )["data"]
        return _token_info(data)

    def lookup_token(self, token: str) -> TokenInfo:
        """What Vault knows of a caller's token. A token Vault accepts is a live credential and is
        scrubbed from then on; a refused one is not remembered, so a flood of junk tokens cannot
        crowd the secrets Sentinel read out of the redactor's bounded memory."""
        data = self._call("looking up a caller's token", lambda: self._hvac.auth.token.lookup(token))["data"]
        register_secret(token)
        return _token_info(data)

    def renew_self(self, increment: int | None = None) -> TokenInfo:
        data = self._call(
            "renewing Sentinel's token",
            lambda: self._hvac.auth.token.renew_self(increment=increment),
        )["auth"]
        return TokenInfo(
            accessor=data.get("accessor", ""),
            policies=tuple(data.get("policies") or ()),
            ttl=int(data.get("lease_duration") or 0),
            renewable=bool(data.get("renewable")),
            entity_id=data.get("entity_id") or "",
        )

    def create_token(
        self,
        policies: Sequence[str],
        ttl: str = "1h",
        display_name: str = "",
        meta: Mapping[str, str] | None = None,
        no_parent: bool = False,
        renewable: bool = True,
    ) -> tuple[str, str]:
        """Create a token; return ``(token, accessor)`` (the token is registered as secret)."""
        resp = self._call(
            "creating a token",
            lambda: self._hvac.auth.token.create(
                policies=list(policies),
                ttl=ttl,
                display_name=display_name or None,
                meta=dict(meta or {}),
                no_parent=no_parent,
                renewable=renewable,
            ),
        )["auth"]
        register_secret(resp["client_token"])
        return resp["client_token"], resp["accessor"]

    def revoke_accessor(self, accessor: str) -> None:
        self._call("revoking a token by accessor", lambda: self._hvac.auth.token.revoke_accessor(accessor))

    def capabilities_self(self, paths: Sequence[str]) -> dict[str, list[str]]:
        resp = self.request("POST", "sys/capabilities-self", json={"paths": list(paths)})
        return _capabilities(resp, paths)

    def audit_hash(self, device: str, value: str) -> str:
        """``value`` as the audit device at ``device`` writes it (``hmac-sha256:...``)."""
        resp = self.request("POST", f"sys/audit-hash/{device.strip('/')}", json={"input": value})
        found = (resp.get("data") or resp).get("hash") if isinstance(resp, dict) else None
        if not isinstance(found, str) or not found:
            raise VaultInvalidRequest(f"audit device {device!r} answered no hash")
        return found

    def capabilities_accessor(self, accessor: str, paths: Sequence[str]) -> dict[str, list[str]]:
        resp = self.request(
            "POST", "sys/capabilities-accessor", json={"accessor": accessor, "paths": list(paths)}
        )
        return _capabilities(resp, paths)

    # -- KV v2 --------------------------------------------------------------------------
    def kv_read(self, path: str, version: int | None = None) -> KvSecret:
        resp = self._call(
            f"reading {self.kv_mount}/{path}",
            lambda: self._hvac.secrets.kv.v2.read_secret_version(
                path=path, version=version, mount_point=self.kv_mount, raise_on_deleted_version=True
            ),
        )
        return _kv_secret(path, resp)

    def kv_write(self, path: str, data: Mapping[str, Any], cas: int | None) -> int:
        """Write a new version with check-and-set (``cas=0``: only if absent). Returns the version."""
        _register_values(data)
        resp = self._call(
            f"writing {self.kv_mount}/{path}",
            lambda: self._hvac.secrets.kv.v2.create_or_update_secret(
                path=path, secret=dict(data), cas=cas, mount_point=self.kv_mount
            ),
        )
        return int(resp["data"]["version"])

    def kv_metadata(self, path: str) -> KvMetadata:
        resp = self._call(
            f"reading metadata of {self.kv_mount}/{path}",
            lambda: self._hvac.secrets.kv.v2.read_secret_metadata(path=path, mount_point=self.kv_mount),
        )
        return _kv_metadata(path, resp)

    def kv_patch_metadata(
        self, path: str, custom_metadata: Mapping[str, str | None], max_versions: int | None = None
    ) -> None:
        """Merge keys into ``custom_metadata`` on the server (JSON merge patch; None deletes a key).

        hvac's ``update_metadata`` replaces ``custom_metadata`` wholesale and resets
        ``delete_version_after``; the server-side PATCH keeps every other key intact.
        ``max_versions`` (when given) is set in the same request.
        """
        self.request(
            "PATCH",
            f"{self.kv_mount}/metadata/{path}",
            json=_metadata_patch(custom_metadata, max_versions),
            headers={"Content-Type": MERGE_PATCH},
        )

    # -- KV v2 and password generation from the event loop ----------------------------------
    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """Let the ``a*`` methods use a keep-alive pool on the running loop while inside.

        Sessions nest and overlap (concurrent rotations share one pool); the pool closes
        when the last one leaves, so no connection outlives the loop.
        """
        if not self._direct:
            yield
            return
        async with self._pools.session():
            yield

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.addr.startswith("https://"):
            return None
        if self._verify is False:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        if isinstance(self._verify, str):
            return ssl.create_default_context(cafile=self._verify)
        return ssl.create_default_context(cafile=requests.utils.DEFAULT_CA_BUNDLE_PATH)

    def _pool(self) -> Pool | None:
        return self._pools.current()

    async def _acall(
        self,
        what: str,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        query: str = "",
    ) -> Any:
        """One call over the loop's pool (the caller checked there is one)."""
        pool = self._pool()
        assert pool is not None
        headers = {"X-Vault-Request": "true"}
        token = self._hvac.token
        if token:
            headers["X-Vault-Token"] = str(token)
        if self._namespace:
            headers["X-Vault-Namespace"] = self._namespace
        data = None
        if body is not None:
            data = jsonlib.dumps(body).encode()
            headers["Content-Type"] = content_type
        url = "/v1/" + urllib.parse.quote(path.lstrip("/")) + (f"?{query}" if query else "")
        start = time.perf_counter()
        self.round_trips += 1
        try:
            answer = await pool.request(method, url, headers, data)
        except ConnectFailed as e:
            raise VaultUnavailable(f"Vault unreachable while {what}: {e}") from None
        except (OSError, TimeoutError, ValueError) as e:
            raise VaultUnavailable(f"Vault unreachable while {what}: {e.__class__.__name__}") from None
        finally:
            self.last_latency = time.perf_counter() - start
        if 300 <= answer.status < 400:
            # A redirect (a standby node): hvac follows it.
            hdrs = {"Content-Type": content_type} if body is not None else None
            full = f"{path}?{query}" if query else path
            return await asyncio.to_thread(self.request, method, full, body, hdrs)
        if answer.status >= 400:
            raise translate(_hvac_error(method, url, answer), what)
        return answer.json() if answer.body else None

    async def akv_read(self, path: str, version: int | None = None) -> KvSecret:
        if self._pool() is None:
            return await asyncio.to_thread(self.kv_read, path, version)
        q = f"version={int(version)}" if version is not None else ""
        resp = await self._acall(
            f"reading {self.kv_mount}/{path}", "GET", f"{self.kv_mount}/data/{path}", query=q
        )
        return _kv_secret(path, resp)

    async def akv_write(self, path: str, data: Mapping[str, Any], cas: int | None) -> int:
        if self._pool() is None:
            return await asyncio.to_thread(self.kv_write, path, data, cas)
        _register_values(data)
        body: dict[str, Any] = {"options": {} if cas is None else {"cas": cas}, "data": dict(data)}
        resp = await self._acall(
            f"writing {self.kv_mount}/{path}", "POST", f"{self.kv_mount}/data/{path}", body
        )
        return int(resp["data"]["version"])

    async def akv_metadata(self, path: str) -> KvMetadata:
        if self._pool() is None:
            return await asyncio.to_thread(self.kv_metadata, path)
        resp = await self._acall(
            f"reading metadata of {self.kv_mount}/{path}", "GET", f"{self.kv_mount}/metadata/{path}"
        )
        return _kv_metadata(path, resp)

    async def akv_patch_metadata(
        self, path: str, custom_metadata: Mapping[str, str | None], max_versions: int | None = None
    ) -> None:
        if self._pool() is None:
            return await asyncio.to_thread(self.kv_patch_metadata, path, custom_metadata, max_versions)
        p = f"{self.kv_mount}/metadata/{path}"
        await self._acall(
            f"PATCH {p}", "PATCH", p, _metadata_patch(custom_metadata, max_versions), MERGE_PATCH
        )

    async def akv_list(self, path: str = "") -> list[str]:
        if self._pool() is None:
            return await asyncio.to_thread(self.kv_list, path)
        try:
            resp = await self._acall(
                f"listing {self.kv_mount}/{path}",
                "GET",
                f"{self.kv_mount}/metadata/{path}",
                query="list=true",
            )
        except VaultNotFound:
            return []
        return [str(k) for k in resp["data"]["keys"]]

    async def agenerate_password(self, policy: str) -> str:
        if self._pool() is None:
            return await asyncio.to_thread(self.generate_password, policy)
        p = f"sys/policies/password/{policy}/generate"
        return _password(await self._acall(f"GET {p}", "GET", p))

    def kv_list(self, path: str = "") -> list[str]:
        try:
            resp = self._call(
                f"listing {self.kv_mount}/{path}",
                lambda: self._hvac.secrets.kv.v2.list_secrets(path=path, mount_point=self.kv_mount),
            )
        except VaultNotFound:
            return []
        return [str(k) for k in resp["data"]["keys"]]

    def kv_destroy_versions(self, path: str, versions: Sequence[int]) -> None:
        if not versions:
            return
        self._call(
            f"destroying old versions of {self.kv_mount}/{path}",
            lambda: self._hvac.secrets.kv.v2.destroy_secret_versions(
                path=path, versions=list(versions), mount_point=self.kv_mount
            ),
        )

    def kv_delete_all(self, path: str) -> None:
        self._call(
            f"deleting {self.kv_mount}/{path}",
            lambda: self._hvac.secrets.kv.v2.delete_metadata_and_all_versions(
                path=path, mount_point=self.kv_mount
            ),
        )

    # -- sys: mounts, policies, password policies, entities ------------------------------------
    def mounts(self) -> dict[str, Any]:
        resp = self._call("listing secrets engines", lambda: self._hvac.sys.list_mounted_secrets_engines())
        data = resp.get("data", resp)
        return {k: v for k, v in data.items() if isinstance(v, dict)}

    def enable_kv2(self, mount: str) -> bool:
        """Enable a KV v2 engine at ``mount``; return False if it already exists (as v2)."""
        existing = self.mounts().get(mount.strip("/") + "/")
        if existing:
            if existing.get("type") != "kv" or str((existing.get("options") or {}).get("version")) != "2":
                raise VaultInvalidRequest(f"mount {mount!r} exists but is not a KV version 2 engine")
            return False
        self._call(
            f"enabling KV v2 at {mount}",
            lambda: self._hvac.sys.enable_secrets_engine(
                backend_type="kv", path=mount, options={"version": "2"}, description="Sentinel credentials"
            ),
        )
        return True

    def policy_read(self, name: str) -> str | None:
        try:
            resp = self._call(f"reading policy {name}", lambda: self._hvac.sys.read_acl_policy(name))
        except VaultNotFound:
            return None
        return str(resp["data"]["policy"])

    def policy_write(self, name: str, hcl: str) -> None:
        self._call(f"writing policy {name}", lambda: self._hvac.sys.create_or_update_acl_policy(name, hcl))

    def policy_delete(self, name: str) -> None:
        self._call(f"deleting policy {name}", lambda: self._hvac.sys.delete_acl_policy(name))

    def policy_list(self) -> list[str]:
        resp = self._call("listing policies", lambda: self._hvac.sys.list_acl_policies())
        return [str(p) for p in resp["data"]["keys"]]

    def password_policy_read(self, name: str) -> str | None:
        try:
            resp = self.request("GET", f"sys/policies/password/{name}")
        except VaultNotFound:
            return None
        return str(resp["data"]["policy"])

    def password_policy_write(self, name: str, hcl: str) -> None:
        self.request("POST", f"sys/policies/password/{name}", json={"policy": hcl})

    def generate_password(self, policy: str) -> str:
        """A new password from Vault's password policy ``policy`` (registered as secret)."""
        return _password(self.request("GET", f"sys/policies/password/{policy}/generate"))

    def entity_read(self, entity_id: str) -> dict[str, Any]:
        resp = self.request("GET", _entity_path("id", entity_id))
        return dict(resp["data"])

    def entity_by_name(self, name: str) -> dict[str, Any] | None:
        """The identity entity named ``name`` (one path segment, whatever it holds), or None."""
        try:
            resp = self.request("GET", _entity_path("name", name))
        except (VaultNotFound, VaultInvalidRequest):  # a name Vault refuses to look up names nobody
            return None
        return dict(resp["data"]) if isinstance(resp, dict) and isinstance(resp.get("data"), dict) else None

    def entity_set_disabled(self, entity_id: str, disabled: bool) -> None:
        """Disable (or re-enable) a Vault identity entity: every token of it stops working."""
        self.request("POST", _entity_path("id", entity_id), json={"disabled": disabled})


def _entity_path(by: str, value: str) -> str:
    """``identity/entity/<by>/<value>`` with ``value`` one percent-encoded segment: a name
    holding ``/``, ``..``, ``?`` or ``#`` never reaches another entity or endpoint."""
    return f"identity/entity/{by}/{urllib.parse.quote(value, safe='')}"


def _token_info(data: Mapping[str, Any]) -> TokenInfo:
    return TokenInfo(
        accessor=str(data.get("accessor") or ""),
        policies=tuple(data.get("policies") or ()),
        ttl=int(data.get("ttl") or 0),
        renewable=bool(data.get("renewable")),
        entity_id=str(data.get("entity_id") or ""),
        display_name=str(data.get("display_name") or ""),
        expire_time=data.get("expire_time"),
        meta=dict(data.get("meta") or {}),
    )


def _capabilities(resp: Any, paths: Sequence[str]) -> dict[str, list[str]]:
    data = resp.get("data", resp) if isinstance(resp, dict) else {}
    out: dict[str, list[str]] = {}
    for p in paths:
        caps = data.get(p)
        if caps is None and len(paths) == 1:
            caps = data.get("capabilities")
        out[p] = [str(c) for c in (caps or ["deny"])]
    return out


def _register_values(data: Mapping[str, Any]) -> None:
    for k, v in data.items():
        if isinstance(v, str) and k not in PUBLIC_FIELDS:
            register_secret(v)


def _kv_secret(path: str, resp: Any) -> KvSecret:
    data = resp["data"]
    meta = data.get("metadata") or {}
    values = dict(data.get("data") or {})
    _register_values(values)
    return KvSecret(
        path=path,
        data=values,
        version=int(meta.get("version") or 0),
        created_time=str(meta.get("created_time") or ""),
        custom_metadata=dict(meta.get("custom_metadata") or {}),
    )


def _kv_metadata(path: str, resp: Any) -> KvMetadata:
    d = resp["data"]
    return KvMetadata(
        path=path,
        current_version=int(d.get("current_version") or 0),
        oldest_version=int(d.get("oldest_version") or 0),
        custom_metadata=dict(d.get("custom_metadata") or {}),
        versions={int(k): dict(v) for k, v in (d.get("versions") or {}).items()},
        created_time=str(d.get("created_time") or ""),
        updated_time=str(d.get("updated_time") or ""),
    )


def _metadata_patch(custom_metadata: Mapping[str, str | None], max_versions: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"custom_metadata": dict(custom_metadata)}
    if max_versions is not None:
        body["max_versions"] = max_versions
    return body


def _password(resp: Any) -> str:
    pw = str(resp["data"]["password"])
    register_secret(pw)
    return pw


def _hvac_error(method: str, url: str, answer: Answer) -> hv.VaultError:
    """The exception hvac would raise for this answer (so ``translate`` words it the same)."""
    text = answer.body.decode("utf-8", "replace")
    body: Any = None
    errors = None
    if answer.headers.get("content-type", "").startswith("application/json"):
        try:
            body = answer.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            errors = body.get("errors")
    return hv.VaultError.from_status(
        answer.status,
        None if errors is not None else text,
        errors=errors,
        method=method,
        url=url,
        text=text,
        json=body,
    )
