"""TOTP step-up for responders: unfreezing needs a code from the responder's own authenticator.

Seeds live in Vault under ``<kv_mount>/system/totp/<operator>`` (the daemon policy may
write ``system/*``; people's policies do not grant it). ``enroll`` creates one and returns
the ``otpauth://`` URI to show once; ``verify`` accepts the current code or the one
before it (a 30 s step of clock drift) and refuses a code that was already used.

Guessing is limited per Vault identity (NIST SP 800-63B §5.2.2): ``StepUpLimiter`` allows
``MAX_FAILURES`` wrong codes in ``WINDOW`` seconds, then refuses every code, right or
wrong, for the rest of the window and raises one alert. The failures are kept in the
state database, shared by the daemon and the CLI, so a restart does not reset them; a
right code clears them. Each code is counted as a failure *before* it is checked (one
``BEGIN IMMEDIATE`` transaction counts and records it), so codes sent in parallel, from
one process or several, cannot all pass the count before any of them is recorded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pyotp

from sentinel.errors import SentinelError, VaultConflict, VaultNotFound
from sentinel.redact import register_secret
from sentinel.store import Store
from sentinel.vault.client import VaultClient

MAX_FAILURES = 5
WINDOW = 900.0
MIGRATIONS = [
    """
    CREATE TABLE stepup_failures (
        identity TEXT NOT NULL,
        ts       REAL NOT NULL
    );
    CREATE INDEX stepup_failures_identity ON stepup_failures(identity, ts)
    """,
]


class StepUpLocked(SentinelError):
    """Too many wrong step-up codes from one identity: every code is refused for a while."""

    exit_code = 6


class StepUpLimiter:
    """Wrong TOTP codes per identity, in the state database (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        alert: Callable[..., Any] | None = None,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW,
    ) -> None:
        self.store = store
        self.alert = alert
        self.max_failures = max_failures
        self.window = window
        store.migrate("stepup", MIGRATIONS)

    def _recent(self, identity: str, now: float) -> list[float]:
        rows = self.store.query(
            "SELECT ts FROM stepup_failures WHERE identity = ? AND ts > ? ORDER BY ts",
            (identity, now - self.window),
        )
        return [float(r["ts"]) for r in rows]

    def check(self, identity: str, now: float) -> None:
        """Raise ``StepUpLocked`` while ``identity`` has used up its wrong codes."""
        self._refuse_if_locked(self._recent(identity, now), now)

    def _refuse_if_locked(self, recent: list[float], now: float) -> None:
        if len(recent) >= self.max_failures:
            wait = int(recent[-self.max_failures] + self.window - now) + 1
            raise StepUpLocked(
                f"too many wrong TOTP codes: step-up refused for {wait} s more (ask another responder)"
            )

    def attempt(self, identity: str, now: float) -> int:
        """Count a code about to be checked as a wrong one (``StepUpLocked`` if none is left)
        and return how many are counted now; ``succeeded`` clears the count when it was right.
        Counting and recording are one transaction, so parallel codes cannot pass the count
        before any is recorded."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM stepup_failures WHERE ts <= ?", (now - self.window,))
            rows = db.execute(
                "SELECT ts FROM stepup_failures WHERE identity = ? AND ts > ? ORDER BY ts",
                (identity, now - self.window),
            ).fetchall()
            self._refuse_if_locked([float(r[0]) for r in rows], now)
            db.execute("INSERT INTO stepup_failures(identity, ts) VALUES(?, ?)", (identity, now))
        return len(rows) + 1

    def unchecked(self, identity: str, now: float) -> None:
        """The code counted by ``attempt`` could not be checked (no seed, Vault unreachable):
        it does not count."""
        self.store.execute(
            "DELETE FROM stepup_failures WHERE rowid = "
            "(SELECT rowid FROM stepup_failures WHERE identity = ? AND ts = ? LIMIT 1)",
            (identity, now),
        )

    def wrong(self, counted: int, identity: str, name: str = "") -> None:
        """The code ``attempt`` counted as the ``counted``-th was wrong: alert (once) when it
        was the last guess left."""
        if counted == self.max_failures and self.alert is not None:
            self.alert(
                kind="step_up_locked",
                severity="high",
                summary=f"{self.max_failures} wrong step-up codes from {name or identity}: step-up locked "
                f"for {int(self.window)} s; someone may be guessing with their token",
            )

    def succeeded(self, identity: str) -> None:
        self.store.execute("DELETE FROM stepup_failures WHERE identity = ?", (identity,))


_OPERATOR = re.compile(r"^[A-Za-z0-9._@-]{1,128}$")


def _path(operator: str) -> str:
    if not _OPERATOR.match(operator):
        raise SentinelError(f"operator id {operator!r} may only hold letters, digits, '.', '_', '@' or '-'")
    return f"system/totp/{operator}"


def enroll(vault: VaultClient, operator: str, issuer: str = "Sentinel", replace: bool = False) -> str:
    """Create (or with ``replace``, renew) the operator's seed; return the provisioning URI."""
    path = _path(operator)
    seed = pyotp.random_base32()
    register_secret(seed)
    try:
        current = vault.kv_metadata(path).current_version
    except VaultNotFound:
        current = 0
    if current and not replace:
        raise SentinelError(f"{operator} is already enrolled; use --replace to issue a new seed")
    vault.kv_write(path, {"seed": seed, "last_used_step": 0}, cas=current)
    uri = pyotp.TOTP(seed).provisioning_uri(name=operator, issuer_name=issuer)
    register_secret(uri)
    return uri


def verify(vault: VaultClient, operator: str, code: str, now: float | None = None) -> bool:
    """True if ``code`` is the operator's current TOTP code (and not one already used)."""
    if not re.fullmatch(r"\d{6}", code.strip()):
        return False
    path = _path(operator)
    try:
        secret = vault.kv_read(path)
    except VaultNotFound:
        raise SentinelError(
            f"{operator} has no TOTP seed; enrol with: sentinel totp enroll --operator {operator}"
        ) from None
    totp = pyotp.TOTP(str(secret.data["seed"]))
    t = time.time() if now is None else now
    step = int(t // totp.interval)
    last = int(secret.data.get("last_used_step") or 0)
    for candidate in (step, step - 1):
        if candidate > last and totp.at(candidate * totp.interval) == code.strip():
            try:  # remember the step so the same code cannot be replayed
                vault.kv_write(path, {**secret.data, "last_used_step": candidate}, cas=secret.version)
            except VaultConflict:
                return False
            return True
    return False


def verify_limited(
    vault: VaultClient,
    limiter: StepUpLimiter,
    operator: str,
    identity: str,
    code: str,
    now: float | None = None,
) -> bool:
    """``verify``, refused outright while ``identity`` is locked out; counts wrong codes."""
    t = time.time() if now is None else now
    # counted before it is checked, so parallel guesses stay within the limit
    counted = limiter.attempt(identity, t)
    try:
        ok = verify(vault, operator, code, t)
    except BaseException:
        limiter.unchecked(identity, t)
        raise
    if ok:
        limiter.succeeded(identity)
    else:
        limiter.wrong(counted, identity, operator)
    return ok
