"""TOTP step-up for responders: unfreezing needs a code from the responder's own authenticator.

Seeds live in Vault under ``<kv_mount>/system/totp/<operator>`` (the daemon policy may
write ``system/*``; people's policies do not grant it). ``enroll`` creates one and returns
the ``otpauth://`` URI to show once; ``verify`` accepts the current code or the one
before it (a 30 s step of clock drift) and refuses a code that was already used.
"""

from __future__ import annotations

import re
import time

import pyotp

from sentinel.errors import SentinelError, VaultConflict, VaultNotFound
from sentinel.redact import register_secret
from sentinel.vault.client import VaultClient

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
