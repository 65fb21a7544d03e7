"""Authorization while Vault cannot answer: the answers Vault last gave, for a bounded grace.

The gate must keep deciding during a Vault outage, but never on a guess. ``AuthzGrace``
remembers, per token (by its SHA-256, never the token), who Vault said it was and what
it granted on each capability path, with the time Vault said so. When Vault cannot be
asked (unreachable, stalled, sealed, or the daemon's probe finds it unusable), a request
is decided from that memory if every path it needs was answered less than ``[api]
authz_grace`` ago; such a decision is marked (``GraceCaller``: the answer, the log and
the audit say so). A token Vault never answered for is refused as before
(``vault_unavailable``), and past the grace the answer is ``authz_grace_expired``: fail
closed. ``authz_grace = 0`` fails closed at once. A token Vault refuses is forgotten; one
past the end of life Vault last gave it is refused (``invalid_token``: nobody can have
renewed it while Vault was away).

Every decision in grace is in the answer and the audit trail; the log has one
``authz.grace_decision`` warning per token per ``LOG_EVERY`` seconds (the first decision at
once, then the decisions since the last line counted), likewise one ``authz.grace_expired``
per token per ``LOG_EVERY`` seconds once its grace is over (``refused``: the requests
refused since the last line), and ``authz.grace_ended`` with the counts not yet logged
once Vault answers for that token again.

Grace cannot know of a revocation Vault could not tell. Once Vault answers again,
``Authorizer.review_grace`` asks it about each token decided from memory that it has not
answered for since (``graced``): one it no longer knows is ``revoked`` (the daemon raises a
critical ``authz_grace_revoked`` alert with what the token did), the others ``still_valid``.

The ``Authorizer`` calls ``remember`` whenever Vault answers and ``recall`` when it cannot;
nothing else of it changes. Every API request runs inside ``request_grace()`` (the
``endpoint`` wrapper): the decisions taken in grace for it are collected there, and
``mark_response`` / ``mark_audit`` make any route's answer (``authz`` in a JSON body and the
``Sentinel-Authz-Grace`` header, refusals included) and audit entries say so. A request
decided in grace that wrote no audit entry of its own gets one, ``api.request_in_grace``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from sentinel import metrics
from sentinel.api.caller_access import Caller
from sentinel.api.errors import ApiError
from sentinel.logs import get_logger

log = get_logger("sentinel.api.grace")

LOG_EVERY = 60.0
"""Seconds between two ``authz.grace_decision`` lines for one token (the rest are counted)."""
NEVER = ("/unfreeze", "/approve", "/tune")
"""Capabilities never granted from memory, since they lower protection (lift a freeze, release
a held post, acknowledge a rule away): a token revoked while Vault cannot be asked must not
use them on what Vault said before. They always need Vault."""
HEADER = "Sentinel-Authz-Grace"
"""Set on every answer decided in grace: seconds since Vault last answered for the token."""


@dataclass
class RequestGrace:
    """The decisions taken in grace for one API request."""

    decisions: list[dict[str, Any]] = field(default_factory=list)
    audited: bool = False
    """An audit entry of the request's own was marked (no ``api.request_in_grace`` needed)."""

    @property
    def mark(self) -> dict[str, Any]:
        age = max(d["vault_answered_seconds_ago"] for d in self.decisions)
        return {"grace": True, "vault_answered_seconds_ago": age}


_REQUEST: ContextVar[RequestGrace | None] = ContextVar("sentinel_request_grace", default=None)


@contextmanager
def request_grace() -> Iterator[RequestGrace]:
    """Collect the grace decisions taken while one request is handled."""
    state = RequestGrace()
    reset = _REQUEST.set(state)
    try:
        yield state
    finally:
        _REQUEST.reset(reset)


def _note(caller: Caller, age: float, paths: Sequence[str], granted: Sequence[bool]) -> None:
    state = _REQUEST.get()
    if state is not None:
        state.decisions.append(
            {
                "actor": caller.actor,
                "paths": list(paths),
                "granted": list(granted),
                "vault_answered_seconds_ago": round(age, 1),
            }
        )


def mark_audit(details: Mapping[str, Any]) -> Mapping[str, Any]:
    """``details`` of an audit entry, with ``authz`` when its request was decided in grace."""
    state = _REQUEST.get()
    if state is None or not state.decisions:
        return details
    state.audited = True
    return {**details, "authz": state.mark}


def mark_response(state: RequestGrace, response: Response) -> Response:
    """The answer to a request decided in grace, saying so (header; ``authz`` in a JSON object)."""
    mark = state.mark
    if response.media_type == "application/json":
        try:
            body = json.loads(bytes(response.body))
        except ValueError:
            body = None
        if isinstance(body, dict) and "authz" not in body:
            response.body = response.render({**body, "authz": mark})
            response.headers["content-length"] = str(len(response.body))
    response.headers[HEADER] = str(mark["vault_answered_seconds_ago"])
    return response


def request_audit(state: RequestGrace, route: str, status: int) -> tuple[str, str, str, dict[str, Any]]:
    """The ``api.request_in_grace`` entry of a request that wrote none of its own."""
    details = {"status": status, "decisions": state.decisions, "authz": state.mark}
    return state.decisions[0]["actor"], "api.request_in_grace", route, details


@dataclass(frozen=True)
class GraceCaller(Caller):
    """A caller admitted from remembered answers, ``grace_age`` seconds after Vault's last."""

    grace_age: float = 0.0


def grace_caller(caller: Caller, age: float) -> GraceCaller:
    """``caller`` marked as decided in grace, ``age`` seconds after Vault last answered."""
    values = {f.name: getattr(caller, f.name) for f in dataclasses.fields(caller) if f.init}
    return GraceCaller(**values, grace_age=age)


def in_grace(caller: Caller) -> float | None:
    """Seconds since Vault last answered, when ``caller`` was admitted in grace; else None."""
    return caller.grace_age if isinstance(caller, GraceCaller) else None


@dataclass
class _Seen:
    caller: Caller
    confirmed: float
    token_expires: float = math.inf
    """When Vault said the token ends: no renewal can happen while Vault is away, so no
    decision in grace is taken past it."""
    grants: dict[str, tuple[bool, float]] = field(default_factory=dict)
    logged: dict[str, float] = field(default_factory=dict)
    """When the last line of each event (``authz.grace_decision``, ``authz.grace_expired``)
    was written for this token."""
    unlogged: dict[str, int] = field(default_factory=dict)
    """Decisions since the token's last line: ``allowed`` / ``denied`` / ``refused`` counts."""
    graced: dict[str, int] = field(default_factory=dict)
    """Decisions taken from memory since Vault last answered for the token (``allowed`` /
    ``denied``), for ``review`` once Vault is back."""
    graced_at: tuple[float, float] = (0.0, 0.0)
    """When the first and the last of them were taken."""


class AuthzGrace:
    def __init__(
        self,
        seconds: float,
        vault_down: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10000,
    ) -> None:
        self.seconds = seconds
        self.vault_down = vault_down
        self.clock = clock
        self.max_entries = max_entries
        self._seen: dict[str, _Seen] = {}

    def skip_vault(self) -> bool:
        """Known unusable: decide at once (from memory, or refuse) instead of waiting on Vault."""
        return self.vault_down()

    def remember(
        self, key: str, caller: Caller, grants: Mapping[str, bool], token_expires: float = math.inf
    ) -> None:
        now = self.clock()
        seen = self._seen.get(key)
        if seen is None:
            if len(self._seen) >= self.max_entries:
                del self._seen[next(iter(self._seen))]
            seen = self._seen[key] = _Seen(caller, now)
        seen.caller, seen.confirmed, seen.token_expires = caller, now, token_expires
        seen.graced = {}  # Vault answered for it again: it is still a valid token
        if seen.logged:
            log.info("authz.grace_ended", actor=caller.actor, accessor=caller.accessor, **seen.unlogged)
            seen.logged, seen.unlogged = {}, {}
        seen.grants.update({p: (ok, now) for p, ok in grants.items()})

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)

    def knows(self, key: str) -> bool:
        """Vault answered for the token within the grace and it has not reached its end."""
        seen = self._seen.get(key)
        now = self.clock()
        return seen is not None and now < seen.token_expires and now - seen.confirmed <= self.seconds

    def _admit(self, key: str, paths: Sequence[str], error: ApiError) -> tuple[_Seen, float]:
        seen = self._seen.get(key)
        unknown = seen is None or any(p not in seen.grants or p.endswith(NEVER) for p in paths)
        if self.seconds <= 0 or seen is None or unknown:
            metrics.AUTHZ_GRACE.labels(result="unknown").inc()
            raise error  # never admitted on a guess: Vault has not answered this before
        now = self.clock()
        if now >= seen.token_expires:  # refused the same way each time, never admitted again
            metrics.AUTHZ_GRACE.labels(result="token_expired").inc()
            self._count(seen, "refused", "authz.grace_token_expired")
            raise ApiError("invalid_token", "the token has expired (at the end Vault last gave it)")
        oldest = min([seen.confirmed, *(seen.grants[p][1] for p in paths)])
        age = now - oldest
        if age > self.seconds:
            metrics.AUTHZ_GRACE.labels(result="expired").inc()
            self._count(seen, "refused", "authz.grace_expired", age=round(age, 1), grace=self.seconds)
            raise ApiError(
                "authz_grace_expired",
                f"Vault cannot be asked and its last answer for this token is {age:.0f}s old, "
                f"more than [api] authz_grace ({self.seconds:g}s): refused until Vault answers",
            )
        return seen, age

    def caller(self, key: str, error: ApiError) -> Caller:
        seen, age = self._admit(key, (), error)
        _note(seen.caller, age, (), ())
        return grace_caller(seen.caller, age)

    def recall(self, key: str, paths: Sequence[str], error: ApiError) -> tuple[Caller, list[bool]]:
        """The caller and the remembered grant for each path, or ``error`` / grace expired."""
        seen, age = self._admit(key, paths, error)
        got = [seen.grants[p][0] for p in paths]
        allowed = all(got)
        metrics.AUTHZ_GRACE.labels(result="allow" if allowed else "deny").inc()
        self._count(
            seen,
            "allowed" if allowed else "denied",
            "authz.grace_decision",
            paths=list(paths),
            granted=got,
            age=round(age, 1),
            reason=error.message,
        )
        _note(seen.caller, age, paths, got)
        now = self.clock()
        seen.graced_at = (seen.graced_at[0] if seen.graced else now, now)
        outcome = "allowed" if allowed else "denied"
        seen.graced[outcome] = seen.graced.get(outcome, 0) + 1
        return grace_caller(seen.caller, age), got

    def graced(self) -> list[tuple[str, Caller, str]]:
        """The tokens admitted from memory that Vault has not answered for since: key, caller
        and a capability path Vault answered for (to ask it about the token's accessor)."""
        return [(k, s.caller, next(iter(s.grants))) for k, s in self._seen.items() if s.graced and s.grants]

    def revoked(self, key: str) -> dict[str, object] | None:
        """Vault no longer knows the token: what it did from memory (None when it simply
        expired, at the end Vault had given it); forgotten either way."""
        seen = self._seen.pop(key, None)
        if seen is None or self.clock() >= seen.token_expires:
            return None
        now = self.clock()
        first, last = seen.graced_at
        log.error(
            "authz.grace_token_revoked", actor=seen.caller.actor, accessor=seen.caller.accessor, **seen.graced
        )
        return {
            "actor": seen.caller.actor,
            "identity": seen.caller.identity.key,
            "accessor": seen.caller.accessor,
            "allowed": seen.graced.get("allowed", 0),
            "denied": seen.graced.get("denied", 0),
            "first_seconds_ago": round(now - first, 1),
            "last_seconds_ago": round(now - last, 1),
        }

    def still_valid(self, key: str) -> None:
        """Vault still knows the token: nothing to say about what it did in grace."""
        seen = self._seen.get(key)
        if seen is not None:
            seen.graced = {}

    def _count(self, seen: _Seen, counted: str, event: str, **fields: object) -> None:
        """Count one decision for the token; write ``event`` with the counts since the token's
        last line when it is the first of its kind, or ``LOG_EVERY`` after the previous one."""
        seen.unlogged[counted] = seen.unlogged.get(counted, 0) + 1
        now = self.clock()
        last = seen.logged.get(event)
        if last is None or now - last >= LOG_EVERY:
            log.warning(
                event, actor=seen.caller.actor, accessor=seen.caller.accessor, **fields, **seen.unlogged
            )
            seen.logged[event], seen.unlogged = now, {}
