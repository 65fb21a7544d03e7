"""Least privilege decided by Vault: what may this caller's token do on this account?

The ACL path scheme and what grants a capability are ``sentinel.capabilities``'s, shared with the
CLI (``prefix`` is ``[api] acl_prefix``, default ``sentinel``)::

    <prefix>/accounts/<account-id>/<capability>   publish | respond | moderate | analytics | admin | tune
    <prefix>/global/<capability>                  approve | lockdown | unfreeze | assert_author
 Nothing is ever read or written there: the paths only exist so that Vault
policies, and therefore the company's own login (OIDC, LDAP, AppRole through Vault auth
methods), decide who may do what, with Vault's globbing (``<prefix>/accounts/+/publish``)
and templating. ``sentinel policies render`` writes such policies from a roles file.

Per request: the caller's token is looked up with Sentinel's own token
(``auth/token/lookup``) to learn its accessor and its identity entity (whose name is read
from Vault: ``sentinel.identity``), then
``sys/capabilities-accessor`` answers for the paths the request needs. Both answers are
cached for ``[api] capability_cache`` seconds and never past the token's remaining TTL, so a
revoked token is refused at the latest one cache window after the revocation. The token
itself is never logged or kept: the cache is keyed by its SHA-256.

A token in use is renewed ahead of time: a request in the last quarter of its entry's
life (``REFRESH_AHEAD``) starts one background lookup that asks Vault again for the token
and, in a single ``capabilities-accessor`` call, for every path the entry already holds
an answer for; the new entry replaces the old one. Requests keep the answers Vault gave
less than one cache window ago and never wait for Vault on the way; a token Vault refuses
by then is dropped from the cache at once.

Unauthenticated floods cost Vault nothing past a bound. A token Vault definitely refused (it
answered 403/400 to the lookup, or gave an expired token) is remembered by its SHA-256 for
``[api] invalid_token_cache`` seconds (default 60, bounded in number) and refused again
without asking Vault (``cached_invalid``); a token Vault could not be asked about
(unreachable, timed out, 5xx) is never remembered as invalid. And ``authenticate`` with the
client's address takes a try from that address's ``AuthThrottle`` before a token not known
valid goes to Vault, so one address makes at most a burst of failing lookups and then gets
429 ``too_many_auth_failures`` (``sentinel.api.auth_throttle``).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from cachetools import TTLCache

from sentinel import metrics
from sentinel.api.errors import ApiError
from sentinel.capabilities import capability_path, granted
from sentinel.errors import VaultError, VaultInvalidRequest, VaultPermissionDenied, VaultUnavailable
from sentinel.identity import Identity, identity_of
from sentinel.logs import get_logger
from sentinel.vault.client import TokenInfo

if TYPE_CHECKING:
    from sentinel.api.auth_throttle import AuthThrottle
    from sentinel.api.grace import AuthzGrace

log = get_logger("sentinel.api.caller_access")

REFRESH_AHEAD = 0.25
"""The last fraction of a cache entry's life in which a request renews it in the background."""


class VaultLookup(Protocol):
    """The Vault calls authorization needs (``VaultClient`` has them)."""

    def lookup_token(self, token: str) -> TokenInfo: ...
    def entity_read(self, entity_id: str) -> dict[str, Any]: ...
    def capabilities_accessor(self, accessor: str, paths: Sequence[str]) -> dict[str, list[str]]: ...


@dataclass(frozen=True)
class Caller:
    """Who is calling, as Vault knows the token (never the token itself)."""

    identity: Identity
    policies: tuple[str, ...] = ()
    ttl: int = 0

    @property
    def actor(self) -> str:
        """The name the audit trail, held posts and freezes record: the Vault identity's."""
        return self.identity.name

    @property
    def accessor(self) -> str:
        return self.identity.accessor

    @property
    def entity_id(self) -> str:
        return self.identity.entity_id

    @classmethod
    def from_token_info(cls, info: TokenInfo, entity_name: Callable[[str], str]) -> Caller:
        return cls(identity_of(info, entity_name), info.policies, info.ttl)


@dataclass
class _Entry:
    caller: Caller
    expires: float
    grants: dict[str, bool] = field(default_factory=dict)
    renew_at: float = 0.0
    token_expires: float = math.inf
    """When the token itself ends, as Vault said (``inf``: a token without a TTL)."""


@dataclass(frozen=True)
class Need:
    """One capability a request needs (``account`` for per-account capabilities)."""

    capability: str
    account: str | None = None


class Authorizer:
    def __init__(
        self,
        vault: Callable[[], VaultLookup | None],
        prefix: str = "sentinel",
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10000,
        grace: AuthzGrace | None = None,
        invalid_seconds: float = 60.0,
        throttle: AuthThrottle | None = None,
    ) -> None:
        self._vault = vault
        self.grace = grace  # remembers Vault's answers; decides from them while Vault cannot answer
        self.throttle = throttle  # failed authentications per client address, before Vault
        self.prefix = prefix.strip("/")
        self.cache_seconds = cache_seconds
        self.invalid_seconds = invalid_seconds
        self.clock = clock
        self.max_entries = max_entries
        self._cache: dict[str, _Entry] = {}
        self._invalid = self._invalid_cache()
        self._inflight: dict[str, asyncio.Future[_Entry]] = {}
        self._renewals: set[asyncio.Task[None]] = set()
        self.vault_calls = 0
        self.renewals = 0

    def path(self, need: Need) -> str:
        return capability_path(self.prefix, need.capability, need.account)

    def clear(self) -> None:
        self._cache.clear()
        self._invalid = self._invalid_cache()  # also picks up a new invalid_seconds

    def _invalid_cache(self) -> TTLCache[str, bool] | None:
        """Tokens Vault definitely refused, by hash, each for ``invalid_seconds`` (None: off)."""
        if self.invalid_seconds <= 0:
            return None
        return TTLCache(maxsize=self.max_entries, ttl=self.invalid_seconds, timer=self.clock)

    def known(self, token: str) -> bool:
        """Vault accepted the token and has not refused it since (and it has not reached the
        end Vault gave it): a caller who never takes a try from the address's throttle."""
        key = _key(token)
        entry = self._cache.get(key)
        if entry is not None:
            return self.clock() < entry.token_expires
        return self.grace is not None and self.grace.knows(key)

    @property
    def renewing(self) -> int:
        """Background renewals under way."""
        return len(self._renewals)

    # -- the token -------------------------------------------------------------------------
    async def authenticate(self, token: str, client: str | None = None) -> Caller:
        """The token's caller. With ``client`` (the address the request comes from), a token
        not known valid first takes a try from that address's throttle (429 when it has none
        left, before Vault is asked); the try is given back when Vault accepts the token."""
        throttled = self.throttle is not None and client is not None and not self.known(token)
        if throttled:
            assert self.throttle is not None and client is not None
            wait = self.throttle.take(client)
            if wait is not None:
                refused = ApiError(
                    "too_many_auth_failures",
                    f"too many failed authentications from this address: try again in {wait}s",
                    retry_after=wait,
                )
                refused.headers["Retry-After"] = str(wait)
                raise refused
        try:
            caller = (await self._entry(token)).caller
        except ApiError as e:
            if self.grace is None or e.code != "vault_unavailable":
                self._refused(token, e)
                raise
            caller = self.grace.caller(_key(token), e)
        if throttled:
            assert self.throttle is not None and client is not None
            self.throttle.give_back(client)
        return caller

    async def _entry(self, token: str) -> _Entry:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = self.clock()
        entry = self._cache.get(key)
        if entry is not None and entry.expires > now:
            if now >= entry.renew_at:
                entry.renew_at = math.inf  # one renewal per entry
                self._renew(token, key, entry)
            return entry
        if self._invalid is not None and key in self._invalid:
            metrics.TOKEN_REFUSALS.labels(reason="cached_invalid").inc()
            raise ApiError("invalid_token", "Vault does not accept this token")
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        self._vault_usable()
        return await self._fetch(token, key)

    async def _fetch(self, token: str, key: str, previous: _Entry | None = None) -> _Entry:
        """Ask Vault for the token (and for ``previous``'s paths again); one at a time per token."""
        fut: asyncio.Future[_Entry] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            entry = await self._lookup(token)
            if previous is not None and previous.grants:
                await self._ask(token, entry, list(previous.grants))
            self._store(key, entry)
            fut.set_result(entry)
            return entry
        except Exception as e:
            fut.set_exception(e)
            fut.exception()  # retrieved: waiters get it, an unawaited future does not warn
            raise
        except BaseException:
            fut.cancel()
            raise
        finally:
            del self._inflight[key]

    async def _lookup(self, token: str) -> _Entry:
        vault = self._client()
        t0 = time.perf_counter()
        try:
            info = await asyncio.to_thread(vault.lookup_token, token)
            caller = await asyncio.to_thread(Caller.from_token_info, info, _entity_name(vault))
        except VaultUnavailable as e:
            raise ApiError("vault_unavailable", f"cannot check the token: {e.message}") from None
        except VaultError as e:
            log.info("authz.token_refused", reason="unknown to Vault")
            if isinstance(e, VaultPermissionDenied | VaultInvalidRequest):  # a definite answer
                self._remember_invalid(token)
            raise ApiError("invalid_token", "Vault does not accept this token") from None
        finally:
            self.vault_calls += 1
            metrics.VAULT_SECONDS.labels(operation="token_lookup").observe(time.perf_counter() - t0)
        if info.ttl <= 0 and info.expire_time:
            self._remember_invalid(token)
            raise ApiError("invalid_token", "the token has expired")
        lifetime = self.cache_seconds if info.ttl <= 0 else min(self.cache_seconds, float(info.ttl))
        now = self.clock()
        ends = math.inf if info.ttl <= 0 else now + info.ttl
        return _Entry(
            caller, now + lifetime, renew_at=now + lifetime * (1 - REFRESH_AHEAD), token_expires=ends
        )

    def _renew(self, token: str, key: str, entry: _Entry) -> None:
        """Renew a cache entry in use before it expires, without making the request wait."""

        async def renew() -> None:
            try:
                await self._fetch(token, key, entry)
                self.renewals += 1
            except ApiError as e:
                if e.code == "invalid_token":  # revoked or expired: refuse it from now on
                    self._cache.pop(key, None)
                    if self.grace is not None:
                        self.grace.forget(key)
                else:  # Vault unreachable: the entry expires as usual and the next request asks again
                    log.warning("authz.renewal_failed", error=e.message)
            except Exception as e:
                log.error("authz.renewal_failed", error=str(e))

        task = asyncio.get_running_loop().create_task(renew())
        self._renewals.add(task)
        task.add_done_callback(self._renewals.discard)

    def _store(self, key: str, entry: _Entry) -> None:
        if self.grace is not None:
            self.grace.remember(key, entry.caller, entry.grants, entry.token_expires)
        if len(self._cache) >= self.max_entries:
            now = self.clock()
            for k in [k for k, e in self._cache.items() if e.expires <= now]:
                del self._cache[k]
            while len(self._cache) >= self.max_entries:
                del self._cache[next(iter(self._cache))]
        self._cache[key] = entry

    def _refused(self, token: str, e: ApiError) -> None:
        """Vault refused the token: nothing remembered of it may admit it later (nor count it
        as known valid)."""
        if e.code == "invalid_token":
            self._cache.pop(_key(token), None)
            if self.grace is not None:
                self.grace.forget(_key(token))

    def _remember_invalid(self, token: str) -> None:
        if self._invalid is not None:
            self._invalid[_key(token)] = True

    def _vault_usable(self) -> None:
        if self.grace is not None and self.grace.skip_vault():
            raise ApiError("vault_unavailable", "Vault is unusable (the daemon's health probe says so)")

    def _client(self) -> VaultLookup:
        vault = self._vault()
        if vault is None:
            raise ApiError("vault_unavailable", "Sentinel is not connected to Vault")
        return vault

    # -- capabilities ------------------------------------------------------------------------
    async def grants(self, token: str, needs: Iterable[Need]) -> tuple[Caller, dict[Need, bool]]:
        """Whether the token holds each of ``needs`` (one Vault call for all uncached ones)."""
        wanted = list(dict.fromkeys(needs))
        paths = [self.path(n) for n in wanted]
        try:
            entry = await self._entry(token)
            grants = entry.grants
            missing = [p for p in paths if p not in grants]
            if missing:
                await self._ask(token, entry, list(dict.fromkeys(missing)))
        except ApiError as e:
            if self.grace is None or e.code != "vault_unavailable":
                self._refused(token, e)
                raise
            caller, got = self.grace.recall(_key(token), paths, e)
            return caller, dict(zip(wanted, got, strict=True))
        return entry.caller, {n: grants.get(p, False) for n, p in zip(wanted, paths, strict=True)}

    async def _ask(self, token: str, entry: _Entry, paths: list[str]) -> None:
        """One ``capabilities-accessor`` call for ``paths``; the answers go into ``entry``."""
        self._vault_usable()
        vault = self._client()
        t0 = time.perf_counter()
        try:
            answer = await asyncio.to_thread(vault.capabilities_accessor, entry.caller.accessor, paths)
        except VaultUnavailable as e:
            raise ApiError("vault_unavailable", f"cannot check capabilities: {e.message}") from None
        except VaultError:
            # the accessor vanished between lookup and this call: the token was revoked
            self._cache.pop(hashlib.sha256(token.encode()).hexdigest(), None)
            raise ApiError("invalid_token", "Vault does not accept this token") from None
        finally:
            self.vault_calls += 1
            metrics.VAULT_SECONDS.labels(operation="capabilities").observe(time.perf_counter() - t0)
        for p, caps in answer.items():
            entry.grants[p] = granted(caps)
        if self.grace is not None:
            grants = {p: entry.grants[p] for p in answer}
            self.grace.remember(_key(token), entry.caller, grants, entry.token_expires)

    async def review_grace(self) -> list[dict[str, object]]:
        """Once Vault answers again, ask it about every token admitted from memory meanwhile that
        it has not answered for since (one ``capabilities-accessor`` call each): those it no
        longer knows, revoked during the outage, are returned with what they did in grace (the
        daemon alerts on them) and forgotten. A token that merely reached its end is not."""
        if self.grace is None or self.grace.skip_vault():
            return []
        vault = self._vault()
        if vault is None:
            return []
        found = []
        for key, caller, path in self.grace.graced():
            try:
                await asyncio.to_thread(vault.capabilities_accessor, caller.accessor, [path])
            except VaultUnavailable:
                break  # away again: the rest are asked about when it is back
            except VaultError:
                self._cache.pop(key, None)
                revoked = self.grace.revoked(key)
                if revoked is not None:
                    found.append(revoked)
                continue
            finally:
                self.vault_calls += 1
            self.grace.still_valid(key)
        return found

    async def require(self, token: str, need: Need, route: str = "") -> Caller:
        """The caller, if the token holds ``need``; else ``ApiError`` 403 naming the capability."""
        caller, got = await self.grants(token, [need])
        allowed = got[need]
        self.record(caller, need, allowed, route)
        if not allowed:
            where = f" on account {need.account!r}" if need.account else ""
            raise ApiError(
                "missing_capability",
                f"this token lacks the {need.capability!r} capability{where}",
                capability=need.capability,
                **({"account": need.account} if need.account else {}),
            )
        return caller

    def record(self, caller: Caller, need: Need, allowed: bool, route: str = "") -> None:
        """Log and count one decision (who, what, where; never the token)."""
        metrics.AUTHZ_DECISIONS.labels(
            capability=need.capability, result="allow" if allowed else "deny"
        ).inc()
        age = getattr(caller, "grace_age", None)  # decided on Vault's remembered answer
        log.info(
            "authz.decision",
            actor=caller.actor,
            identity=caller.identity.key,
            accessor=caller.accessor,
            capability=need.capability,
            account=need.account,
            allowed=allowed,
            route=route,
            **({} if age is None else {"grace": True, "vault_answered_seconds_ago": round(age, 1)}),
        )


def _entity_name(vault: VaultLookup) -> Callable[[str], str]:
    def name(entity_id: str) -> str:
        return str(vault.entity_read(entity_id).get("name") or "")

    return name


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
