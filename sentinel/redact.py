"""Keep secret values out of logs, exceptions, CLI output and alerts.

Every secret Sentinel reads (from Vault, a token file, a credential) is registered with
``register_secret``; ``scrub`` replaces any registered value, and values of keys that
look secret (password, token, secret, seed, ...), with ``[REDACTED]``. The registry is
process-wide and holds values only in memory; ``REDACTOR.scope()`` forgets on leaving what
was registered inside (each test runs in one).

Under a key that looks secret the values go and what says what became of them stays: the
structure of a nested object or list, and statuses (``true``/``false`` and the words in
``STATUS_WORDS``: ``{"password": "rotated"}`` is a rotation's result, not a password).
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 6
SECRET_KEY = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|seed|api[_-]?key|private[_-]?key|authorization|cookie|"
    r"credential|otp|signing[_-]?key|session[_-]?key|refresh|access[_-]?jwt|refresh[_-]?jwt|secret_id)",
    re.IGNORECASE,
)
# Keys that match the pattern above but carry no secret value.
NOT_SECRET_KEYS = frozenset(
    {
        "token_ttl",
        "token_accessor",
        "accessor",
        "token_policies",
        "token_type",
        "password_policy",
        "credential_kind",
        "credentials",
        "secret_path",
        "token_file",
        "approle_secret_id_file",
        "otp_period",
        "refresh_interval",
    }
)
STATUS_WORDS: set[str] = set()
"""Values that, under a key that looks secret, state what became of the secret; each module
that writes such statuses registers its words (``register_statuses``)."""
# Shapes of secrets worth catching even when nobody registered them.
_PATTERNS = (
    re.compile(r"\b(?:hvs|hvb|hvr|s)\.[A-Za-z0-9_-]{20,}\b"),  # Vault / OpenBao tokens
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"),  # JWTs
    re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{12,}"),
    re.compile(r"otpauth://[^\s\"']+"),
)
_BEARER = _PATTERNS[2]
_NEEDLES = (".", "eyj", "bearer", "otpauth://")
"""A fixed part of each pattern's matches, lower-cased (checked before the regex runs)."""


class Redactor:
    """Registered secrets, found in text by length: for each distinct secret length, every
    window of the text of that length is looked up in a set (a few hundred set lookups for a
    log value, whatever the number of secrets); long texts, where that would cost more, are
    searched for each secret instead. Registering is O(1)."""

    def __init__(self, capacity: int = 4096) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, None] = {}  # insertion order: least recently registered first
        self._by_len: dict[int, set[str]] = {}
        self._lengths: tuple[int, ...] = ()  # distinct lengths, ascending
        self.capacity = capacity

    def register(self, value: str | bytes | None) -> None:
        if value is None:
            return
        if isinstance(value, bytes):
            try:
                value = value.decode()
            except UnicodeDecodeError:
                return
        value = value.strip()
        if len(value) < MIN_SECRET_LENGTH:
            return
        if any(p.fullmatch(value) for p in _PATTERNS[:2]):
            return  # tokens of a known shape are caught by pattern; no need to remember them
        with self._lock:
            if value in self._values:
                # Seen again (a secret read again is still in use): keep it among the newest.
                del self._values[value]
                self._values[value] = None
                return
            self._values[value] = None
            self._add(value)
            while len(self._values) > self.capacity:
                # A long-running daemon registers every session token it ever gets; the
                # oldest ones have expired long ago. Current secrets are read, and so
                # registered, again and again, and stay.
                oldest = next(iter(self._values))
                del self._values[oldest]
                self._remove(oldest)

    def _add(self, value: str) -> None:
        bucket = self._by_len.get(len(value))
        if bucket is None:
            self._by_len[len(value)] = {value}
            self._lengths = tuple(sorted(self._by_len))
        else:
            bucket.add(value)

    def _remove(self, value: str) -> None:
        bucket = self._by_len[len(value)]
        bucket.discard(value)
        if not bucket:
            del self._by_len[len(value)]
            self._lengths = tuple(sorted(self._by_len))

    def forget_all(self) -> None:
        self._keep_only(())

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        """On leaving, forget every secret registered inside and keep those known on entering:
        a test's secrets never redact what the next test prints. (The daemon uses none: what
        it registers stays for its lifetime, bounded by ``capacity``.)"""
        with self._lock:
            known = tuple(self._values)
        try:
            yield
        finally:
            self._keep_only(known)

    def _keep_only(self, values: Iterable[str]) -> None:
        kept = dict.fromkeys(values)
        by_len: dict[int, set[str]] = {}
        for value in kept:
            by_len.setdefault(len(value), set()).add(value)
        with self._lock:  # built aside, then swapped in: a scrub meanwhile never sees half a set
            self._values, self._by_len, self._lengths = kept, by_len, tuple(sorted(by_len))

    def _found(self, text: str) -> list[str]:
        """The registered secrets that occur in ``text``."""
        n = len(text)
        lengths = [k for k in self._lengths if k <= n]
        if not lengths:
            return []
        windows = sum(n - k + 1 for k in lengths)
        if windows <= len(self._values):
            by_len = self._by_len
            found = set()
            for k in lengths:
                bucket = by_len.get(k)
                if not bucket:
                    continue
                for i in range(n - k + 1):
                    piece = text[i : i + k]
                    if piece in bucket:
                        found.add(piece)
            return list(found)
        with self._lock:
            values = tuple(self._values)
        return [v for v in values if v in text]

    def scrub(self, text: str) -> str:
        found = self._found(text)
        # Longest first, so a secret that contains another is replaced whole.
        for value in sorted(found, key=len, reverse=True):
            text = text.replace(value, REDACTED)
        lower = text.lower()
        for p, needle in zip(_PATTERNS, _NEEDLES, strict=True):
            if needle not in lower:
                continue  # each shape has a fixed part; without it the pattern cannot match
            if p is _BEARER:
                text = p.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
            else:
                text = p.sub(REDACTED, text)
        return text

    def scrub_value(self, key: str, value: Any) -> Any:
        """Scrub one value found under ``key`` in a structured event (recursively)."""
        return self.scrub_secret(value) if is_secret_key(key) else self.scrub_obj(value)

    def scrub_secret(self, value: Any) -> Any:
        """A value found under a key that looks secret: its structure and statuses stay, every
        other value inside it goes."""
        if value in (None, "", [], {}) or is_status(value):
            return self.scrub_obj(value)
        if isinstance(value, Mapping):
            return {k: self.scrub_secret(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_secret(v) for v in value]
        return REDACTED

    def scrub_obj(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, bytes):
            return self.scrub(value.decode("utf-8", "replace"))
        if isinstance(value, Mapping):
            return {k: self.scrub_value(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_obj(v) for v in value]
        if isinstance(value, BaseException):
            return self.scrub(f"{value.__class__.__name__}: {value}")
        return value


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Whether values under ``key`` are secrets (keys are few and repeat: answers are cached)."""
    k = key.lower()
    return k not in NOT_SECRET_KEYS and bool(SECRET_KEY.search(k))


def register_statuses(words: Iterable[str]) -> None:
    """Words that are statuses wherever they stand (``{"password": "rotated"}``)."""
    STATUS_WORDS.update(words)


def is_status(value: Any) -> bool:
    """Whether ``value`` says what became of a secret rather than being one."""
    return isinstance(value, bool) or (isinstance(value, str) and value in STATUS_WORDS)


REDACTOR = Redactor()


def register_secret(value: str | bytes | None) -> None:
    """Remember ``value`` so that it is scrubbed from everything Sentinel prints or logs."""
    REDACTOR.register(value)


def scrub(text: str) -> str:
    return REDACTOR.scrub(text)


def scrub_obj(value: Any) -> Any:
    return REDACTOR.scrub_obj(value)
