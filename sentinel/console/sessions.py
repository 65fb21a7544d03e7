"""Console sessions, kept in the daemon's memory only.

The browser holds a random session id in an HttpOnly, SameSite=Strict cookie (Secure over
TLS); the Vault token it stands for stays here, keyed by the id's SHA-256, and is never
written to disk, a log or the cookie. A session ends on sign-out, after ``idle`` seconds
without a request, after ``lifetime`` seconds in all, or when Vault stops accepting the
token. Each session has its own CSRF token, required on every form that changes anything.
One Vault identity holds at most ``per_identity`` sessions (its oldest ends when it signs in
once more), so signing in over and over with any token Vault accepts cannot fill the store
and push other people's sessions out.
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
    ) -> None:
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
            del self._sessions[k]
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
        if now - session.seen > self.idle or now - session.created > self.lifetime:
            del self._sessions[key]
            return None
        session.seen = now
        return session

    def alive(self, session: Session) -> bool:
        """Whether ``session`` is still signed in (without counting this as activity)."""
        now = self.clock()
        live = any(s is session for s in self._sessions.values())
        return live and now - session.seen <= self.idle and now - session.created <= self.lifetime

    def drop(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        return self._sessions.pop(_key(session_id), None)

    def _prune(self) -> None:
        now = self.clock()
        for k, s in list(self._sessions.items()):
            if now - s.seen > self.idle or now - s.created > self.lifetime:
                del self._sessions[k]
        while len(self._sessions) >= self.max_sessions:
            del self._sessions[next(iter(self._sessions))]
