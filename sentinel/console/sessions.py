"""Console sessions, kept in the daemon's memory only.

The browser holds a random session id in an HttpOnly, SameSite=Strict cookie (Secure over
TLS); the Vault token it stands for stays here, keyed by the id's SHA-256, and is never
written to disk, a log or the cookie. A session ends on sign-out, after ``idle`` seconds
without a request, after ``lifetime`` seconds in all, or when Vault stops accepting the
token. Each session has its own CSRF token, required on every form that changes anything.
One Vault identity holds at most ``per_identity`` sessions (its oldest ends when it signs in
once more), so signing in over and over with any token Vault accepts cannot fill the store
and push other people's sessions out.

A token without a Vault entity is its own identity, and whoever may create tokens can mint
as many as they like; Vault tells nothing that ties them to their creator (the display name,
metadata and policies are the creator's choice, the parent token is not shown). Sessions of
such tokens are therefore bounded apart: at most ``per_address`` of them per client address
(an IPv6 /64 counts as one), and at most ``entityless`` in all, the oldest ending first in
each case. One person with many tokens can push out only sessions of entity-less tokens,
never the sessions of people who signed in with an identity, however many addresses they
use; a team behind one NAT signing in with their own identities (userpass, OIDC, ...) is not
bound by the address at all.

However a session ends — sign-out, eviction by a newer one, idle or absolute expiry, a full
store, the daemon stopping — it leaves the store through one place, which hands it to
``ended`` (the console revokes a token it obtained itself there, see
``sentinel.console.revocations``). Expired sessions nobody asks for again are found by
``sweep``, which the API service calls every minute.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sentinel.redact import register_secret


@dataclass
class Session:
    token: str = field(repr=False)
    actor: str
    csrf: str = field(repr=False)
    created: float
    seen: float
    owned: bool = False
    """The console created the token (a userpass login): it is revoked on sign-out."""
    address: str = ""
    """The client address it signed in from, as counted (an IPv6 /64): bounds entity-less sessions."""
    entityless: bool = False
    """Its token has no Vault entity: its own identity (``per_address``, ``entityless`` bound it)."""
    flash: list[tuple[str, str]] = field(default_factory=list)
    """Messages for the next page: (level, text)."""

    def check_csrf(self, submitted: str) -> bool:
        return bool(submitted) and hmac.compare_digest(self.csrf.encode(), submitted.encode())

    def say(self, level: str, text: str) -> None:
        self.flash.append((level, text))

    def take_flash(self) -> list[tuple[str, str]]:
        out, self.flash = self.flash, []
        return out


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    def __init__(
        self,
        idle: float = 1800.0,
        lifetime: float = 8 * 3600.0,
        max_sessions: int = 10000,
        clock: Callable[[], float] = time.monotonic,
        per_identity: int = 8,
        ended: Callable[[Session], None] | None = None,
        per_address: int = 16,
        entityless: int | None = None,
    ) -> None:
        """``entityless``: sessions of tokens without an entity in all (a tenth of
        ``max_sessions`` when not given)."""
        self.ended = ended
        """Called with every session that leaves the store, whatever ended it."""
        self.idle = idle
        self.lifetime = lifetime
        self.max_sessions = max_sessions
        self.per_identity = per_identity
        self.per_address = per_address
        self.entityless = max(1, max_sessions // 10) if entityless is None else entityless
        self.clock = clock
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def create(
        self, token: str, actor: str, owned: bool = False, *, entityless: bool = False, address: str = ""
    ) -> tuple[str, Session]:
        """A new session for ``token`` of ``actor`` (``entityless``: the token has no Vault
        entity; ``address``: the client's, as counted); returns the id for the cookie (a fresh
        one at every sign-in)."""
        register_secret(token)
        self._prune()
        self._make_room(lambda s: s.actor == actor, self.per_identity)
        if entityless:
            self._make_room(lambda s: s.entityless and s.address == address, self.per_address)
            self._make_room(lambda s: s.entityless, self.entityless)
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        session = Session(token, actor, csrf, now, now, owned, address=address, entityless=entityless)
        self._sessions[_key(session_id)] = session
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id or len(session_id) > 128:
            return None
        key = _key(session_id)
        session = self._sessions.get(key)
        if session is None:
            return None
        now = self.clock()
        if self._expired(session, now):
            self._end(key)
            return None
        session.seen = now
        return session

    def alive(self, session: Session) -> bool:
        """Whether ``session`` is still signed in (without counting this as activity); one
        found expired ends here."""
        key = next((k for k, s in self._sessions.items() if s is session), None)
        if key is None:
            return False
        if self._expired(session, self.clock()):
            self._end(key)
            return False
        return True

    def drop(self, session_id: str | None) -> Session | None:
        """End the session of ``session_id`` (sign-out, or Vault refused its token)."""
        if not session_id:
            return None
        return self._end(_key(session_id))

    def sweep(self) -> int:
        """End every expired session; return how many ended."""
        now = self.clock()
        expired = [k for k, s in self._sessions.items() if self._expired(s, now)]
        for k in expired:
            self._end(k)
        return len(expired)

    def end_all(self) -> None:
        """End every session (the daemon stops: nobody can use them after a restart)."""
        for k in list(self._sessions):
            self._end(k)

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.seen > self.idle or now - session.created > self.lifetime

    def _end(self, key: str) -> Session | None:
        """The one way out of the store: every ended session is handed to ``ended``."""
        session = self._sessions.pop(key, None)
        if session is not None and self.ended is not None:
            self.ended(session)
        return session

    def _make_room(self, among: Callable[[Session], bool], limit: int) -> None:
        """End the oldest sessions ``among`` selects until one more stays within ``limit``."""
        chosen = [k for k, s in self._sessions.items() if among(s)]  # oldest first
        for k in chosen[: max(0, len(chosen) - limit + 1)]:
            self._end(k)

    def _prune(self) -> None:
        self.sweep()
        while len(self._sessions) >= self.max_sessions:
            self._end(next(iter(self._sessions)))
