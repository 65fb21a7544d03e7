"""Structured logging with structlog: JSON lines for journald, colours on a terminal.

The last processor before rendering is the redactor: every registered secret value and
every value under a secret-looking key is replaced, in the event, its fields and the text
of any exception, before anything is written.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

from sentinel.redact import REDACTOR

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
QUIET_LIBRARIES = ("httpx", "httpcore", "watchdog", "hpack", "urllib3")
"""Libraries whose stdlib loggers ``configure`` keeps at warnings and above."""


def redact_processor(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Scrub secrets from every key and value, including rendered exceptions."""
    exc = event.pop("exc_info", None)
    if exc:
        if exc is True:
            exc = sys.exc_info()
        if isinstance(exc, BaseException):
            exc = (type(exc), exc, exc.__traceback__)
        if isinstance(exc, tuple) and exc[0] is not None:
            event["exception"] = "".join(traceback.format_exception(*exc))
    return {k: REDACTOR.scrub_value(k, v) for k, v in event.items()}


class _Stderr:
    """Whatever ``sys.stderr`` is at the moment of writing (it may be swapped after set-up)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Set up structlog (and the stdlib root logger) for this process (default: stderr)."""
    stream = stream or _Stderr()  # type: ignore[assignment]
    assert stream is not None
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    renderer: Any
    if use_json:
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty(), exception_formatter=_plain_exc)
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_processor,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    # Libraries that use the stdlib logger (uvicorn, httpx, watchdog) go through the same scrubbing.
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_sentinel", False):
            root.removeHandler(h)
    handler = _StructlogHandler()
    handler._sentinel = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(max(_LEVELS.get(level, logging.INFO), logging.INFO))
    for noisy in QUIET_LIBRARIES:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _plain_exc(sio: TextIO, exc_info: Any) -> None:
    sio.write("\n" + str(exc_info))


class _StructlogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            log = structlog.get_logger(record.name)
            msg = record.getMessage()
            kw: dict[str, Any] = {"logger": record.name}
            if record.exc_info:
                kw["exc_info"] = record.exc_info
            method = getattr(log, record.levelname.lower(), log.info)
            method(msg, **kw)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def get_logger(name: str = "sentinel", **bind: Any) -> Any:
    return structlog.get_logger(name).bind(**bind) if bind else structlog.get_logger(name)


class Recurring:
    """How one recurring failure is logged, so a failure that lasts is a few lines, not one
    per try: its start (and each change of error) is written at once; the same error again
    is only counted, with a summary line (``repeated``: how many since the last line) every
    ``every`` seconds while it lasts; its end is written once (``recovered``, info, with
    ``failures``: how many in all).

    ``Recurring(log, "freeze.policy_check_failed", "freeze.policy_check_recovered")``, then
    ``failed(message)`` on each failure and ``ok()`` on each success."""

    def __init__(
        self,
        logger: Any,
        event: str,
        recovered: str,
        *,
        every: float = 300.0,
        level: str = "warning",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.event = event
        self.recovered = recovered
        self.every = every
        self.level = level
        self.clock = clock
        self.error = ""
        self.failures = 0
        self._since = 0.0
        self._logged_at = 0.0
        self._unlogged = 0

    @property
    def failing(self) -> bool:
        return self.failures > 0

    def failed(self, error: str, **fields: Any) -> bool:
        """One more failure with ``error``; True when it was written (not only counted)."""
        now = self.clock()
        if not self.failures:
            self._since = now
        self.failures += 1
        if self.failures > 1 and error == self.error and now - self._logged_at < self.every:
            self._unlogged += 1
            return False
        if self.failures > 1:
            fields["failing_for"] = round(now - self._since, 1)
            if self._unlogged:
                fields["repeated"] = self._unlogged
            if error != self.error:
                fields["previous"] = self.error
        getattr(self.logger, self.level)(self.event, error=error, **fields)
        self.error, self._logged_at, self._unlogged = error, now, 0
        return True

    def ok(self, **fields: Any) -> bool:
        """A success; True when it ended a failure (and said so)."""
        if not self.failures:
            return False
        self.logger.info(
            self.recovered,
            failures=self.failures,
            failing_for=round(self.clock() - self._since, 1),
            error=self.error,
            **fields,
        )
        self.error, self.failures, self._unlogged = "", 0, 0
        return True
