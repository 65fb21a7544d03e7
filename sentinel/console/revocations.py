"""Revoking the Vault tokens the console obtained, whenever their session ends.

A password sign-in makes the console the holder of a fresh Vault token nobody else has
seen. When that session ends — sign-out, eviction by the identity's ninth sign-in, expiry,
the daemon stopping — the token is revoked (``auth/token/revoke-self``, which Vault's
``default`` policy allows), so no ended session leaves a usable credential behind. A token
the person pasted is theirs: the console only forgets it.

The revocation runs off the request (a sign-out page never waits on Vault) and survives
Vault being briefly unreachable: it is tried again with the project's retry policy,
logged, and counted in ``sentinel_console_token_revocations_total{outcome}``. Tokens
waiting for a retry live in memory only, like the sessions; a daemon that is killed
rather than stopped leaves them to their login method's TTL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sentinel.console.login import VaultLogin
from sentinel.errors import VaultUnavailable
from sentinel.logs import get_logger
from sentinel.metrics import CONSOLE_REVOCATIONS
from sentinel.retry import RetryPolicy, TryAgain, with_retries

log = get_logger("sentinel.console")

POLICY = RetryPolicy(attempts=12, initial=1.0, maximum=60.0)
"""About ten minutes of tries before giving up on a token (then it lives out its TTL)."""


class Revocations:
    def __init__(
        self,
        login: VaultLogin,
        policy: RetryPolicy = POLICY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.login = login
        self.policy = policy
        self.sleep = sleep
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        """Revocations not finished yet."""
        return len(self._tasks)

    def submit(self, token: str) -> None:
        """Revoke ``token`` in the background (at once, in this thread, outside an event loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            try:
                self._done(self.login.revoke(token))
            except VaultUnavailable as e:
                self._gave_up(e)
            return
        task = loop.create_task(self._revoke(token), name="console-token-revocation")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _revoke(self, token: str) -> None:
        async def attempt() -> str:
            try:
                return await asyncio.to_thread(self.login.revoke, token)
            except VaultUnavailable as e:
                raise TryAgain(e) from None

        def retried(attempt: int, wait: float, e: TryAgain) -> None:
            CONSOLE_REVOCATIONS.labels(outcome="retried").inc()
            log.warning("console.revoke_retry", attempt=attempt, wait=round(wait, 1), error=str(e))

        try:
            self._done(await with_retries(self.policy, self.sleep, attempt, retried))
        except TryAgain as e:
            self._gave_up(e.error)

    def _done(self, outcome: str) -> None:
        CONSOLE_REVOCATIONS.labels(outcome=outcome).inc()
        if outcome == "refused":
            log.error(
                "console.revoke_refused",
                reason="Vault accepts the token but it may not revoke itself (no 'default' policy); "
                "it stays valid until its TTL",
            )
        else:
            log.info("console.token_revoked", outcome=outcome)

    def _gave_up(self, error: Exception) -> None:
        CONSOLE_REVOCATIONS.labels(outcome="gave_up").inc()
        log.error("console.revoke_failed", error=str(error), left="valid until its TTL")

    async def aclose(self, timeout: float = 5.0) -> None:
        """Give the revocations under way ``timeout`` seconds, then stop trying."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in late:
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)
            CONSOLE_REVOCATIONS.labels(outcome="gave_up").inc(len(late))
            log.error("console.revoke_unfinished", tokens=len(late), left="valid until their TTL")
