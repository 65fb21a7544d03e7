from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sentinel.errors import StoreError
from sentinel.store import Store
from tests.full_disk import fill, small_tmpfs

V1 = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v)"
V2 = (
    "ALTER TABLE t ADD COLUMN w TEXT;"
    "CREATE TRIGGER t_guard BEFORE DELETE ON t BEGIN SELECT RAISE(ABORT, 'no; really'); END"
)


def test_migrations_apply_once_per_component_and_survive_reopen(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    with Store(db) as s:
        assert s.migrate("one", [V1]) == 1
        s.execute("INSERT INTO t(v) VALUES('a')")
        assert s.migrate("one", [V1, V2]) == 2
        assert s.version("one") == 2 and s.version("other") == 0
        with pytest.raises(StoreError, match="no; really"):
            s.execute("DELETE FROM t")
    with Store(db) as s:
        assert s.migrate("one", [V1, V2]) == 2  # nothing re-applied
        assert [r["v"] for r in s.query("SELECT v FROM t")] == ["a"]
        assert s.query_one("PRAGMA journal_mode")[0] == "wal"  # type: ignore[index]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as s:
        s.migrate("one", [V1, V2])
        with pytest.raises(StoreError, match="schema version 2, newer than this Sentinel knows"):
            s.migrate("one", [V1])


def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as s:
        with pytest.raises(StoreError, match="migration 1 of 'bad' failed"):
            s.migrate("bad", ["CREATE TABLE ok1 (x); CREATE TABLE broken ("])
        assert s.version("bad") == 0
        assert s.query_one("SELECT name FROM sqlite_master WHERE name = 'ok1'") is None


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as s:
        s.migrate("one", [V1])
        with pytest.raises(RuntimeError), s.transaction() as db:
            db.execute("INSERT INTO t(v) VALUES('x')")
            raise RuntimeError("boom")
        assert s.query("SELECT * FROM t") == []


def test_a_disk_filling_up_inside_a_transaction_is_a_store_error_and_applies_nothing(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "small", "2m") as small, Store(small / "s.sqlite3") as s:
        s.migrate("one", [V1])
        filler = small / "filler"
        fill(filler)
        with pytest.raises(StoreError) as raised, s.transaction() as db:
            db.execute("INSERT INTO t(v) VALUES('kept apart')")
            db.execute("INSERT INTO t(v) VALUES(?)", ("x" * (8 << 20),))  # spills past the cache
        assert str(small / "s.sqlite3") in raised.value.message and "full" in raised.value.message
        filler.unlink()
        assert s.query("SELECT v FROM t") == []  # nothing half-applied
        with s.transaction() as db:
            db.execute("INSERT INTO t(v) VALUES('after')")
        assert [r["v"] for r in s.query("SELECT v FROM t")] == ["after"]


def test_another_process_holding_the_write_lock_is_a_store_error(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3", busy_timeout=0.05) as s:
        s.migrate("one", [V1])
        locker = sqlite3.connect(str(s.path), isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match="locked"), s.transaction() as db:
                db.execute("INSERT INTO t(v) VALUES('x')")
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        with s.transaction() as db:
            db.execute("INSERT INTO t(v) VALUES('after')")
        assert [r["v"] for r in s.query("SELECT v FROM t")] == ["after"]


def test_errors_of_the_statement_stay_sqlite_errors_and_roll_back(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as s:
        s.migrate("one", [V1])
        s.execute("INSERT INTO t(id, v) VALUES(1, 'x')")
        with pytest.raises(sqlite3.IntegrityError), s.transaction() as db:
            db.execute("INSERT INTO t(id, v) VALUES(2, 'y')")
            db.execute("INSERT INTO t(id, v) VALUES(1, 'again')")
        with pytest.raises(sqlite3.OperationalError, match="no such table"), s.transaction() as db:
            db.execute("INSERT INTO t(id, v) VALUES(3, 'z')")
            db.execute("SELECT * FROM missing")
        with pytest.raises(sqlite3.OperationalError, match="table is locked"), s.transaction() as db:
            db.execute("INSERT INTO t(id, v) VALUES(4, 'w')")
            reading = db.execute("SELECT * FROM t")
            reading.fetchone()
            db.execute("DROP TABLE t")  # the connection's own read in the way: a bug, not an outage
        assert [r["v"] for r in s.query("SELECT v FROM t")] == ["x"]


def test_kv_and_unopenable_path(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as s:
        assert s.get("k") is None
        s.put("k", "1")
        s.put("k", "2")
        assert s.get("k") == "2"
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot open state database"):
        Store(blocker / "sub" / "s.sqlite3")


def test_second_process_sees_committed_rows(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    with Store(db) as s:
        s.migrate("one", [V1])
        s.execute("INSERT INTO t(v) VALUES('seen')")
        other = sqlite3.connect(db)
        assert other.execute("SELECT v FROM t").fetchall() == [("seen",)]
        other.close()


def test_two_processes_migrating_at_once_apply_each_script_once(tmp_path: Path) -> None:
    """The daemon and a CLI command opening a fresh database together: the one that read
    the version before the other's migration committed skips what is applied by then."""
    db = tmp_path / "s.sqlite3"
    with Store(db) as late, Store(db) as early:
        reads: list[int] = []
        real = late.version

        def first_read_is_stale(component: str) -> int:
            reads.append(0)
            return 0 if len(reads) == 1 else real(component)  # read before ``early`` committed

        late.version = first_read_is_stale  # type: ignore[method-assign]
        assert early.migrate("one", [V1, V2]) == 2
        assert late.migrate("one", [V1, V2]) == 2  # before the fix: "table t already exists"
        assert real("one") == 2


def test_the_database_and_its_wal_files_are_the_owners_alone_under_any_umask(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0)
    try:
        path = tmp_path / "state" / "sentinel.sqlite3"
        store = Store(path)
        store.put("k", "v")
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        modes = [stat.S_IMODE(p.stat().st_mode) for p in files]
        store.close()
        # An older install's loose files are tightened on the next open.
        os.chmod(path, 0o644)
        Store(path).close()
    finally:
        os.umask(old)
    assert modes == [0o600, 0o600, 0o600]
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
