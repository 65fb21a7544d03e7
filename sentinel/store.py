"""SQLite state that must survive a restart (WAL mode, versioned migrations).

Each component (freeze state, incidents, alert outbox, baselines, rotation progress, ...)
owns its tables and an ordered list of migration scripts, registered under a component
name. ``Store.migrate(component, scripts)`` applies the scripts it has not applied yet, each
in its own transaction, and records the version in ``schema_versions``. Components
therefore evolve independently, the way each Django app has its own migrations, and a
database written by a newer Sentinel is refused rather than misread.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sentinel.errors import StoreError
from sentinel.files import private_dir, private_file, tighten

_BASE = """
CREATE TABLE IF NOT EXISTS schema_versions (
    component TEXT PRIMARY KEY,
    version   INTEGER NOT NULL,
    applied   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE TABLE IF NOT EXISTS kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class Store:
    """A thread-safe handle on the state database.

    One connection, serialised by a lock: SQLite in WAL mode lets other processes (the
    CLI while the daemon runs) read and write concurrently; within one process the lock
    keeps transactions from interleaving.
    """

    def __init__(self, path: str | Path, busy_timeout: float = 30.0) -> None:
        """``busy_timeout``: how long a write waits for another process's lock before failing
        (the daemon waits briefly: its event loop must not stall behind a stuck writer)."""
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            if str(path) != ":memory:":
                # The database and the -wal and -shm files SQLite creates with its mode: 0600.
                private_dir(self.path.parent)
                private_file(self.path)
                for suffix in ("-wal", "-shm"):
                    tighten(f"{self.path}{suffix}")
            self._db = sqlite3.connect(
                str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            self._db.executescript(_BASE)
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"{self.path}: cannot open state database: {e}") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- migrations -----------------------------------------------------------------
    def version(self, component: str) -> int:
        row = self.query_one("SELECT version FROM schema_versions WHERE component = ?", (component,))
        return int(row["version"]) if row else 0

    def migrate(self, component: str, scripts: Sequence[str]) -> int:
        """Apply the scripts of ``component`` not yet applied; return the new version."""
        with self._lock:
            current = self.version(component)
            if current > len(scripts):
                raise StoreError(
                    f"{self.path}: component {component!r} is at schema version {current}, newer than this "
                    f"Sentinel knows ({len(scripts)}); upgrade Sentinel or use a matching state directory"
                )
            for number in range(current + 1, len(scripts) + 1):
                try:
                    self._db.execute("BEGIN IMMEDIATE")
                    if self.version(component) >= number:  # another process applied it meanwhile
                        self._db.execute("COMMIT")
                        continue
                    for statement in _split(scripts[number - 1]):
                        self._db.execute(statement)
                    self._db.execute(
                        "INSERT INTO schema_versions(component, version) VALUES(?, ?) "
                        "ON CONFLICT(component) DO UPDATE SET version = excluded.version, "
                        "applied = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
                        (component, number),
                    )
                    self._db.execute("COMMIT")
                except sqlite3.Error as e:
                    self._rollback()  # BEGIN itself may be what failed (locked)
                    raise StoreError(
                        f"{self.path}: migration {number} of {component!r} failed: {e}"
                    ) from None
            return len(scripts)

    # -- queries --------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error).

        An error of the database's condition raised inside (``unavailable``: a full disk,
        another connection's lock, an I/O error, a corrupt file) leaves as ``StoreError`` naming the path and
        SQLite's message, like a failed BEGIN or COMMIT, so callers that wait out an
        unwritable store (the backlogs, the API's ``503 store_unavailable``) see it as one. An
        error of the statement itself (``IntegrityError`` on a constraint, a syntax error or a
        missing table, a misused cursor) stays the ``sqlite3`` error it is: a bug or a
        conflict the caller handles, never something to retry.
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise StoreError(f"{self.path}: cannot start transaction: {e}") from None
            try:
                yield self._db
            except sqlite3.Error as e:
                self._rollback()
                if unavailable(e):
                    raise StoreError(f"{self.path}: transaction failed: {e}") from None
                raise
            except BaseException:
                self._rollback()
                raise
            else:
                try:
                    self._db.execute("COMMIT")
                except sqlite3.Error as e:
                    # Left open, the failed transaction would refuse every later BEGIN.
                    self._rollback()
                    raise StoreError(f"{self.path}: commit failed: {e}") from None

    def _rollback(self) -> None:
        """End a failed transaction. SQLite may have rolled it back itself (a full disk, an
        I/O error): a ROLLBACK then would raise over the error that matters."""
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # nothing was committed; the next BEGIN says what is wrong

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one statement in autocommit; return the rowcount (or last row id for INSERT)."""
        with self._lock:
            try:
                cur = self._db.execute(sql, params)
            except sqlite3.Error as e:
                raise StoreError(f"{self.path}: {e}") from None
            if sql.lstrip().upper().startswith("INSERT"):
                return int(cur.lastrowid or 0)
            return int(cur.rowcount)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return list(self._db.execute(sql, params).fetchall())
            except sqlite3.Error as e:
                raise StoreError(f"{self.path}: {e}") from None

    def query_one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    # -- small key/value area for cursors and flags ------------------------------------
    def get(self, key: str, default: str | None = None) -> str | None:
        row = self.query_one("SELECT value FROM kv WHERE key = ?", (key,))
        return str(row["value"]) if row else default

    def put(self, key: str, value: str) -> None:
        self.execute(
            "INSERT INTO kv(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


UNAVAILABLE_CODES = frozenset({5, 7, 8, 10, 11, 13, 14, 15, 26})
"""SQLite's primary result codes for a database that cannot be used now, whatever is asked of
it: BUSY (another connection's lock), NOMEM, READONLY, IOERR, CORRUPT, FULL, CANTOPEN,
PROTOCOL, NOTADB (https://www.sqlite.org/rescode.html). LOCKED is not among them: without a
shared cache it is a conflict within the one connection (a table changed while read), a bug."""


def unavailable(e: sqlite3.Error) -> bool:
    """Whether ``e`` says the database cannot be used now (not that the statement is wrong)."""
    code = getattr(e, "sqlite_errorcode", None)
    if code is None:  # raised by the sqlite3 module itself, not by SQLite
        return False
    return int(code) & 0xFF in UNAVAILABLE_CODES


def _split(script: str) -> list[str]:
    """Split a migration script into complete SQL statements (trigger bodies stay whole)."""
    out: list[str] = []
    buf = ""
    for piece in script.split(";"):
        buf = f"{buf};{piece}" if buf else piece
        if sqlite3.complete_statement(buf + ";"):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
