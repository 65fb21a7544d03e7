"""Errors a platform call can end in, each a ``sentinel.errors.PlatformError``.

Adapters translate HTTP statuses and each platform's own error bodies into these, so the
responder and the watcher decide what to do from the class alone: re-authenticate,
wait ``retry_after`` seconds, treat the post as already gone, or tell a person what to do
by hand.
"""

from __future__ import annotations

from sentinel.errors import PlatformError


class PlatformAuthFailed(PlatformError):
    """The credential or session was refused (wrong password, revoked token, bad scope)."""


class PlatformRateLimited(PlatformError):
    """The platform asked us to slow down; ``retry_after`` is in seconds when it said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PlatformNotFound(PlatformError):
    """The account, post or app password does not exist (or no longer does)."""


class PlatformNotSupported(PlatformError):
    """The platform's API offers no way to do this; ``instructions`` says what a person must do."""

    def __init__(self, message: str, instructions: str = "") -> None:
        super().__init__(message)
        self.instructions = instructions


class PlatformUnavailable(PlatformError):
    """The platform could not be reached or answered 5xx after the bounded retries."""


class PlatformLocked(PlatformError):
    """The account is locked / deactivated at the platform, so the call was refused."""


class PlatformRejected(PlatformError):
    """The platform refused the request as invalid (other 4xx answers)."""
