"""TOTP seeds of platform accounts: parse and validate, store, and make the current code.

A seed arrives as an ``otpauth://totp/...`` URI (what a platform's QR code holds) or as the
bare base32 secret. It is stored at ``accounts/<id>/totp_seed`` (``seed``, ``digits``,
``period``, ``algorithm``, ``issuer``, ``label``) with check-and-set. Error messages never
quote the seed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp

from sentinel.errors import SentinelError
from sentinel.redact import register_secret

ALGORITHMS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
MIN_SEED_BYTES = 10
"""80 bits: the least RFC 4226 allows (it recommends 160)."""


class TotpError(SentinelError):
    """A TOTP seed or URI is not usable (the message never contains the seed)."""

    exit_code = 2


@dataclass(frozen=True)
class TotpSeed:
    seed: str
    digits: int = 6
    period: int = 30
    algorithm: str = "SHA1"
    issuer: str = ""
    label: str = ""

    def __repr__(self) -> str:
        return f"TotpSeed(digits={self.digits}, period={self.period}, algorithm={self.algorithm!r})"

    def totp(self) -> pyotp.TOTP:
        return pyotp.TOTP(
            self.seed,
            digits=self.digits,
            digest=ALGORITHMS[self.algorithm],
            interval=self.period,
            issuer=self.issuer or None,
            name=self.label or None,
        )

    def code(self, at: float | None = None) -> tuple[str, int]:
        """The code for ``at`` (default now) and the seconds it stays valid."""
        t = time.time() if at is None else at
        return self.totp().at(t), int(self.period - (t % self.period))

    def to_data(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "digits": self.digits,
            "period": self.period,
            "algorithm": self.algorithm,
            "issuer": self.issuer,
            "label": self.label,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> TotpSeed:
        seed = str(data.get("seed") or "")
        if not seed:
            raise TotpError("the stored TOTP credential has no 'seed'")
        register_secret(seed)
        return _validated(
            seed,
            int(data.get("digits") or 6),
            int(data.get("period") or 30),
            str(data.get("algorithm") or "SHA1"),
            str(data.get("issuer") or ""),
            str(data.get("label") or ""),
        )


def parse_seed(text: str) -> TotpSeed:
    """An ``otpauth://totp/`` URI or a base32 secret, validated."""
    text = text.strip()
    if not text:
        raise TotpError("no TOTP seed given: paste the otpauth:// URI or the base32 secret")
    if text.lower().startswith("otpauth://"):
        return _parse_uri(text)
    return _validated(text, 6, 30, "SHA1", "", "")


def _parse_uri(uri: str) -> TotpSeed:
    parts = urlsplit(uri)
    kind = parts.netloc.lower()
    if kind == "hotp":
        raise TotpError("this is an HOTP (counter-based) URI; Sentinel stores time-based (TOTP) seeds only")
    if kind != "totp":
        raise TotpError(f"not an otpauth://totp/ URI (type {kind!r})")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    secret = query.get("secret", "")
    if not secret:
        raise TotpError("the otpauth:// URI has no 'secret' parameter")
    register_secret(secret)
    label = unquote(parts.path.lstrip("/"))
    issuer = query.get("issuer", "") or (label.split(":", 1)[0] if ":" in label else "")
    try:
        digits = int(query.get("digits", "6"))
        period = int(query.get("period", "30"))
    except ValueError:
        raise TotpError("the otpauth:// URI's 'digits' and 'period' must be whole numbers") from None
    return _validated(secret, digits, period, query.get("algorithm", "SHA1").upper(), issuer, label)


def _validated(seed: str, digits: int, period: int, algorithm: str, issuer: str, label: str) -> TotpSeed:
    clean = "".join(seed.split()).upper().rstrip("=")
    register_secret(clean)
    register_secret(seed)
    try:
        raw = base64.b32decode(clean + "=" * (-len(clean) % 8))
    except (binascii.Error, ValueError):
        raise TotpError("the TOTP seed is not valid base32 (letters A-Z and digits 2-7)") from None
    if len(raw) < MIN_SEED_BYTES:
        raise TotpError(
            f"the TOTP seed is too short ({len(raw) * 8} bits; at least {MIN_SEED_BYTES * 8} needed)"
        )
    if digits not in (6, 7, 8):
        raise TotpError(f"TOTP codes of {digits} digits are not supported (6, 7 or 8)")
    if not 10 <= period <= 300:
        raise TotpError(f"a TOTP period of {period}s is not plausible (10-300 s)")
    if algorithm not in ALGORITHMS:
        raise TotpError(f"TOTP algorithm {algorithm!r} is not supported ({', '.join(ALGORITHMS)})")
    return TotpSeed(clean, digits, period, algorithm, issuer, label)
