"""Tail Vault's file audit log: every entry, once, across rotation, truncation and restarts.

Vault (``vault audit enable file``) and OpenBao (an ``audit "file"`` block in the server
config) write one JSON object per request and per response. ``AuditLogTailer`` reads the
file named in ``[vault] audit_log`` and hands each entry, as the raw dict the device wrote,
to a sink (the guard), in file order.

Where it is, it remembers in the state store: the file's inode, the offset just past the
last whole line handed on, and a hash of the file's first line (which tells a file
truncated and written again past the old offset from the same file grown). So:

- **restart** resumes at the offset: no line is skipped or repeated (a line is recorded
  as read only after the sink took it; a crash in the middle of a batch repeats at most
  that batch);
- **rename and create** (logrotate ``create``; Vault reopens on SIGHUP): the old file is
  read to its end through the open handle before the new one is read from its start; if
  the rotation happened while Sentinel was down, the renamed file is found beside the log
  by its inode and its rest is read first;
- **copytruncate**: the file shrinks (or its first line changes); the lines not yet read
  are taken from the copy beside it (found by its first line) before the log is read again
  from its start;
- the very first start (nothing stored) begins at the end of the file: history written
  before Sentinel watched is not replayed into the daemon (``sentinel replay`` is for
  history).

A half-written last line waits for its newline. A line that is not a JSON object with
``type`` (nesting too deep to decode included) is counted
(``sentinel_vault_audit_malformed_total``) and logged by offset, never by content, and never
stops the tailer; so is an entry the sink fails on. A line longer than ``max_line`` bytes is
skipped to its newline without being held in memory, counted and reported (an entry too big
to judge is itself worth a look). watchdog wakes the tailer when the directory changes; a
poll every ``poll`` seconds covers file systems without notifications.

Only regular files are read: the log, or a rotated copy beside it, that is a symbolic link, a
FIFO or a device is refused without blocking (a FIFO would stall ``open``, ``/dev/zero`` would
never end). While the log cannot be read (absent, unreadable, not a regular file) the tailer
keeps retrying and reports the problem once, through ``on_problem`` (the daemon raises an
alert), and reports ``None`` when it reads again.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import os
import stat
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from sentinel import metrics
from sentinel.logs import get_logger
from sentinel.store import Store

log = get_logger("sentinel.vault.audit_log")

AuditSink = Callable[[dict[str, Any]], Awaitable[None]]
ProblemHook = Callable[[str, str | None], None]
"""``(kind, message)``: ``unreadable`` while the log cannot be read (message ``None`` once it
is read again), ``oversized`` for each entry skipped as too long."""
CHUNK = 1 << 20
HEAD_BYTES = 1 << 16
MAX_LINE = 16 << 20
"""The longest entry read (Vault refuses requests over 32 MiB by default, and HMACs the values)."""

MIGRATIONS = [
    """
    CREATE TABLE vault_audit_tail (
        path    TEXT PRIMARY KEY,
        inode   INTEGER NOT NULL,
        offset  INTEGER NOT NULL,
        head    TEXT NOT NULL,
        updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )
    """,
]


@dataclass(frozen=True, slots=True)
class Position:
    """Where the tailer is: the file (inode, first-line hash) and the offset past the last line read."""

    inode: int
    offset: int
    head: str


def first_line_hash(fh: BinaryIO) -> str:
    """sha256 of the file's first whole line ("" while it has none)."""
    start = os.pread(fh.fileno(), HEAD_BYTES, 0)
    end = start.find(b"\n")
    return hashlib.sha256(start[: end + 1]).hexdigest() if end >= 0 else ""


class NotRegularFile(OSError):
    """The path is a symbolic link, FIFO, device or directory, not a file to tail."""


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading if it is a regular file: a symbolic link is not followed
    and a FIFO does not block the open (``NotRegularFile`` for either)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise NotRegularFile(errno.ELOOP, "is a symbolic link, not the audit file", str(path)) from None
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegularFile(errno.EINVAL, f"is not a regular file (mode {stat.filemode(mode)})", str(path))
    return os.fdopen(fd, "rb")


def parse_entry(line: bytes) -> dict[str, Any] | None:
    """The audit entry on one line, or None when the line is not one."""
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
        return None
    return entry


class _Wake(FileSystemEventHandler):
    def __init__(self, tailer: AuditLogTailer) -> None:
        self.tailer = tailer

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        name = self.tailer.path.name
        for p in (event.src_path, getattr(event, "dest_path", "")):
            if p and Path(str(p)).name.startswith(name):
                self.tailer.wake_threadsafe()
                return


class AuditLogTailer:
    """Hands every entry of the audit log at ``path`` to ``sink``, exactly once, in order."""

    def __init__(
        self,
        path: str | Path,
        store: Store,
        sink: AuditSink,
        *,
        poll: float = 1.0,
        max_line: int = MAX_LINE,
        missing_grace: float = 10.0,
        on_problem: ProblemHook | None = None,
    ) -> None:
        self.path = Path(path)
        self.store = store
        self.sink = sink
        self.poll = poll
        self.max_line = max_line
        self.on_problem = on_problem
        self.missing_grace = missing_grace
        self._missing_since: float | None = None
        self.entries = 0
        self.malformed = 0
        self.oversized = 0
        self.failed = 0
        self.rotations = 0
        self.problem: str | None = None
        """Why the log cannot be read right now (``None`` while it is read)."""
        self._skip: tuple[int, int] | None = None
        """(inode, offset) where a line longer than ``max_line`` began, while skipping it."""
        self._fh: BinaryIO | None = None
        self._pos: Position | None = None
        self._stop = False
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._observer: BaseObserver | None = None
        store.migrate("vault_audit", MIGRATIONS)

    # -- state in the store ----------------------------------------------------------------
    def saved(self) -> Position | None:
        row = self.store.query_one(
            "SELECT inode, offset, head FROM vault_audit_tail WHERE path = ?", (str(self.path),)
        )
        return Position(int(row["inode"]), int(row["offset"]), str(row["head"])) if row else None

    def _save(self) -> None:
        if self._pos is None:
            return
        self.store.execute(
            "INSERT INTO vault_audit_tail(path, inode, offset, head) VALUES(?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET inode = excluded.inode, offset = excluded.offset, "
            "head = excluded.head, updated = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
            (str(self.path), self._pos.inode, self._pos.offset, self._pos.head),
        )

    # -- reading ---------------------------------------------------------------------------
    async def _drain(self, fh: BinaryIO, pos: Position) -> Position:
        """Hand on every whole line of ``fh`` from ``pos.offset``; return the new position.

        At most ``max_line`` bytes of one line are held: a longer line is skipped to its
        newline (``_skip`` remembers where it began across passes)."""
        offset = pos.offset
        head = pos.head
        pending = b""
        skip = self._skip[1] if self._skip is not None and self._skip[0] == pos.inode else None
        while True:
            chunk = os.pread(fh.fileno(), CHUNK, offset + len(pending))
            if not chunk:
                break
            if skip is not None:
                newline = chunk.find(b"\n")
                if newline < 0:
                    offset += len(chunk)
                    chunk = b""
                else:
                    offset += newline + 1
                    self._skipped(skip, offset - skip)
                    skip = None
                    chunk = chunk[newline + 1 :]
            elif len(pending) + len(chunk) > self.max_line and b"\n" not in chunk:
                skip = offset  # a line already longer than any entry: stop holding it
                offset += len(pending) + len(chunk)
                pending = chunk = b""
            pending += chunk
            cut = pending.rfind(b"\n")
            if cut >= 0:
                lines, pending = pending[: cut + 1], pending[cut + 1 :]
                line_at = offset
                for line in lines.splitlines(keepends=True):
                    if len(line) > self.max_line:
                        self._skipped(line_at, len(line))
                    else:
                        await self._deliver(line, line_at)
                    line_at += len(line)
                offset += len(lines)
            elif skip is None:
                continue
            if not head:
                head = first_line_hash(fh)
            self._pos = Position(pos.inode, offset, head)
            self._save()
        self._skip = (pos.inode, skip) if skip is not None else None
        return Position(pos.inode, offset, head or first_line_hash(fh))

    def _skipped(self, offset: int, length: int) -> None:
        self.oversized += 1
        metrics.VAULT_AUDIT_MALFORMED.inc()
        log.warning("vault_audit.oversized_line", path=str(self.path), offset=offset, length=length)
        if self.on_problem is not None:
            self.on_problem(
                "oversized",
                f"an entry of {length} bytes at offset {offset} of {self.path} is longer than "
                f"{self.max_line} bytes and was skipped unjudged",
            )

    def _unreadable(self, problem: str | None) -> None:
        """Say once that the log cannot be read (and once that it can again)."""
        if problem == self.problem:
            return
        if problem is None:
            log.info("vault_audit.readable", path=str(self.path), previous=self.problem)
        else:
            log.error("vault_audit.unreadable", path=str(self.path), error=problem)
        self.problem = problem
        if self.on_problem is not None:
            self.on_problem("unreadable", problem)

    async def _deliver(self, line: bytes, offset: int) -> None:
        if not line.strip():
            return
        entry = parse_entry(line)
        if entry is None:
            self.malformed += 1
            metrics.VAULT_AUDIT_MALFORMED.inc()
            log.warning("vault_audit.malformed_line", path=str(self.path), offset=offset, length=len(line))
            return
        self.entries += 1
        metrics.VAULT_AUDIT_ENTRIES.inc()
        try:
            await self.sink(entry)
        except Exception as e:  # one entry the sink chokes on must not stop the log (or loop on it)
            self.failed += 1
            metrics.VAULT_AUDIT_SINK_FAILURES.inc()
            log.error(
                "vault_audit.sink_failed", path=str(self.path), offset=offset, error=e.__class__.__name__
            )

    def _sibling(self, match: Callable[[BinaryIO, os.stat_result], bool]) -> BinaryIO | None:
        """An open handle on a rotated copy of the log beside it that ``match`` accepts."""
        try:
            names = sorted(p for p in self.path.parent.iterdir() if p.name.startswith(self.path.name + "."))
        except OSError:
            return None
        for candidate in names:
            try:
                fh = open_regular(candidate)
            except OSError:
                continue
            if match(fh, os.fstat(fh.fileno())):
                return fh
            fh.close()
        return None

    async def _open(self) -> bool:
        """Open the log where the store says we were (reading a rotated predecessor first)."""
        try:
            fh = open_regular(self.path)
        except FileNotFoundError:
            self._missing()
            return False
        st = os.fstat(fh.fileno())
        head = first_line_hash(fh)
        saved = self.saved()
        if saved is None:
            self._fh, self._pos = fh, Position(st.st_ino, st.st_size, head)
            self._trim_partial_line()
            self._save()
            log.info("vault_audit.started", path=str(self.path), offset=self._pos.offset)
            return True
        if saved.inode == st.st_ino and st.st_size >= saved.offset and (not saved.head or saved.head == head):
            self._fh, self._pos = fh, saved
            return True
        # Rotated (or truncated) while we were away: finish the predecessor, then start over.
        same_file = saved.inode == st.st_ino
        old = self._sibling(
            lambda f, s: (
                (s.st_ino == saved.inode and not same_file)
                or (s.st_size >= saved.offset and first_line_hash(f) == saved.head)
            )
        )
        if old is not None:
            with old:
                await self._drain(old, saved)
        else:
            log.warning("vault_audit.predecessor_missing", path=str(self.path), offset=saved.offset)
        self._count_rotation("while_stopped")
        self._fh, self._pos = fh, Position(st.st_ino, 0, head)
        self._save()
        return True

    def _trim_partial_line(self) -> None:
        """On a first start at the end of the file, back up to just after its last newline."""
        assert self._fh is not None and self._pos is not None
        offset = self._pos.offset
        tail = os.pread(self._fh.fileno(), min(offset, HEAD_BYTES), max(0, offset - HEAD_BYTES))
        if tail and not tail.endswith(b"\n"):
            cut = tail.rfind(b"\n")
            back = len(tail) - (cut + 1)
            self._pos = Position(self._pos.inode, offset - back, self._pos.head)

    def _count_rotation(self, how: str) -> None:
        self.rotations += 1
        metrics.VAULT_AUDIT_ROTATIONS.labels(how=how).inc()
        log.info("vault_audit.rotated", path=str(self.path), how=how)

    def _missing(self) -> None:
        """The log is absent: a problem once it stayed absent ``missing_grace`` seconds (a
        rotation without ``create`` leaves it absent until Vault reopens it)."""
        now = time.monotonic()
        if self._missing_since is None:
            self._missing_since = now
        if now - self._missing_since >= self.missing_grace:
            self._unreadable(f"{self.path} does not exist")

    async def read_available(self) -> None:
        """One pass: everything written since the last pass, following a rotation or truncation.
        ``OSError`` when the log (or the copy of a rotated one) cannot be read."""
        if self._fh is None and not await self._open():
            return
        self._missing_since = None
        await self._read_open()
        self._unreadable(None)

    async def _read_open(self) -> None:
        assert self._fh is not None and self._pos is not None
        pos = self._pos
        st = os.fstat(self._fh.fileno())
        head = first_line_hash(self._fh)
        if st.st_size < pos.offset or (pos.head and head and head != pos.head):
            # copytruncate, seen before reading on from a stale offset: the unread rest is
            # in the copy beside the log
            copy = self._sibling(lambda f, s: s.st_size >= pos.offset and first_line_hash(f) == pos.head)
            if copy is not None:
                with copy:
                    await self._drain(copy, pos)
            else:
                log.warning("vault_audit.copy_missing", path=str(self.path), offset=pos.offset)
            self._pos = Position(pos.inode, 0, "")
            self._save()
            self._count_rotation("copytruncate")
        self._pos = await self._drain(self._fh, self._pos)
        try:
            current = os.lstat(self.path).st_ino
        except FileNotFoundError:
            return  # renamed, its successor not created yet: the handle keeps the old file
        if current != self._pos.inode:
            # rename + create: finish the old file through the handle, then the new one
            self._pos = await self._drain(self._fh, self._pos)
            self._fh.close()
            self._fh = None
            try:
                fh = open_regular(self.path)
            except FileNotFoundError:
                return
            self._fh, self._pos = fh, Position(os.fstat(fh.fileno()).st_ino, 0, "")
            self._save()
            self._count_rotation("create")
            self._pos = await self._drain(self._fh, self._pos)

    # -- running ---------------------------------------------------------------------------
    def wake_threadsafe(self) -> None:
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed while watchdog still ran
                self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Tail until ``stop()``; problems reading are logged and retried, never fatal."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stop = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        observer = Observer()
        observer.schedule(_Wake(self), str(self.path.parent), recursive=False)
        observer.daemon = True
        observer.start()
        self._observer = observer
        try:
            while not self._stop:
                self._wake.clear()
                try:
                    await self.read_available()
                except OSError as e:
                    self._unreadable(f"{self.path} cannot be read: {e.strerror or e.__class__.__name__}")
                except Exception as e:  # whatever it is, the next pass tries again
                    log.error("vault_audit.pass_failed", path=str(self.path), error=e.__class__.__name__)
                    self._unreadable(f"{self.path} cannot be tailed: {e.__class__.__name__}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll)
        finally:
            observer.stop()
            await asyncio.to_thread(observer.join, 5)
            self.close()

    def stop(self) -> None:
        self._stop = True
        if self._wake is not None:
            self._wake.set()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def status(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "entries": self.entries,
            "malformed": self.malformed,
            "oversized": self.oversized,
            "problem": self.problem,
            "sink_failed": self.failed,
            "rotations": self.rotations,
            "offset": self._pos.offset if self._pos else None,
        }
