"""Console sessions, kept in the daemon's memory only.

The browser holds a random session id in an HttpOnly, SameSite=Strict cookie (Secure over
TLS); the Vault token it stands for stays here, keyed by the id's SHA-256, and is never
written to disk, a log or the cookie. A session ends on sign-out, after ``idle`` seconds
without a request, after ``lifetime`` seconds in all, or when Vault stops accepting the
token. Each session has its own CSRF token, required on every form that changes anything.
One Vault identity holds at most ``per_identity`` sessions (its oldest ends when it signs in
once more), so signing in over and over with any token Vault accepts cannot fill the store
and push other people's sessions out.

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
    ) -> None:
        self.ended = ended
        """Called with every session that leaves the store, whatever ended it."""
        self.idle = idle
        self.lifetime = lifetime
        self.max_sessions = max_sessions
        self.per_identity = per_identity
        self.clock = clock
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, token: str, actor: str, owned: bool = False) -> tuple[str, Session]:
        """A new session for ``token``; returns the id for the cookie (a fresh one at every sign-in)."""
        register_secret(token)
        self._prune()
        mine = [k for k, s in self._sessions.items() if s.actor == actor]  # oldest first
        for k in mine[: max(0, len(mine) - self.per_identity + 1)]:
            self._end(k)
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        session = Session(token, actor, secrets.token_urlsafe(32), now, now, owned)
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

    def _prune(self) -> None:
        self.sweep()
        while len(self._sessions) >= self.max_sessions:
            self._end(next(iter(self._sessions)))
