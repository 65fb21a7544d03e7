"""Attacks on the Vault audit-log tailer by someone who can write the log or its directory.

Lines Vault never writes (nested past any decoder, longer than any entry), and the log
replaced by a FIFO, a symbolic link or nothing: the tailer neither stops nor hangs nor holds
the line in memory, real reads written by the real OpenBao after the attack still arrive,
and a log it cannot read is reported (the daemon raises an alert) until it is read again.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import tracemalloc
from pathlib import Path

import pytest

from sentinel.store import Store
from sentinel.vault.audit_log import AuditLogTailer
from sentinel.vault.devserver import DevVault
from tests.vault.test_audit_log import Sink, exactly_once, read_secrets
from tests.waiting import wait_for

FORGED = '{"type": "response", "time": "2026-01-01T00:00:00Z", "request": {"id": "forged"}}\n'


class Problems:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []

    def __call__(self, kind: str, message: str | None) -> None:
        self.seen.append((kind, message))

    def last(self, kind: str) -> str | None:
        return next(m for k, m in reversed(self.seen) if k == kind)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


@pytest.fixture
def log_path(audited_bao: DevVault) -> Path:
    assert audited_bao.audit_log is not None
    return audited_bao.audit_log


async def test_a_line_nested_past_the_decoder_is_malformed_and_real_reads_after_it_arrive(
    audited_bao: DevVault, log_path: Path, store: Store
) -> None:
    sink = Sink()
    tailer = AuditLogTailer(log_path, store, sink)
    await tailer.read_available()
    with log_path.open("a") as f:
        f.write("[" * 100_000 + "\n" + '{"type": "request", "request": ' * 50_000 + "\n")
    tag = secrets.token_hex(4)
    paths = read_secrets(audited_bao, tag, 2)
    await tailer.read_available()
    exactly_once(sink, paths, tag)
    assert tailer.malformed == 2
    tailer.close()


async def test_an_endless_line_is_skipped_without_being_held_and_reported(
    audited_bao: DevVault, log_path: Path, store: Store
) -> None:
    sink, problems = Sink(), Problems()
    tailer = AuditLogTailer(log_path, store, sink, max_line=1 << 16, on_problem=problems)
    await tailer.read_available()
    start = log_path.stat().st_size
    with log_path.open("ab") as f:  # one write: Vault's own lines cannot land inside it
        f.write(b'{"type": "request", "padding": "' + b"A" * (12 << 20))
    tracemalloc.start()
    try:
        await tailer.read_available()  # the line has no end yet
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20  # a chunk or two, never the 12 MiB line
    with log_path.open("ab") as f:
        f.write(b'"}\n')
    tag = secrets.token_hex(4)
    paths = read_secrets(audited_bao, tag, 2)
    await tailer.read_available()
    exactly_once(sink, paths, tag)
    assert tailer.oversized == 1
    assert problems.last("oversized") == (
        f"an entry of {(12 << 20) + 35} bytes at offset {start} of {log_path} is longer than "
        f"{1 << 16} bytes and was skipped unjudged"
    )
    tailer.close()


async def test_a_log_replaced_by_a_fifo_neither_hangs_the_daemon_nor_goes_unreported(
    tmp_path: Path, store: Store
) -> None:
    log = tmp_path / "audit.log"
    os.mkfifo(log)
    problems = Problems()
    tailer = AuditLogTailer(log, store, Sink(), poll=0.05, on_problem=problems)
    done = threading.Event()

    def unblock() -> None:
        # Only an open that blocks on the FIFO needs a writer; the tailer must not.
        if not done.wait(10):
            with open(log, "wb"):
                pass

    threading.Thread(target=unblock, daemon=True).start()
    task = asyncio.create_task(tailer.run())
    try:
        await wait_for(lambda: tailer.problem, what="the FIFO reported")
    finally:
        done.set()
        tailer.stop()
        await task
    [(kind, message)] = problems.seen
    assert (
        kind == "unreadable"
        and message
        and message.startswith(f"{log} cannot be read: is not a regular file (mode p")
    )


async def test_a_log_replaced_by_a_symlink_to_forged_entries_is_refused_until_a_real_file_returns(
    tmp_path: Path, store: Store
) -> None:
    log = tmp_path / "audit.log"
    log.write_text("")
    sink, problems = Sink(), Problems()
    tailer = AuditLogTailer(log, store, sink, on_problem=problems)
    await tailer.read_available()
    forged = tmp_path / "elsewhere.log"
    forged.write_text(FORGED)
    log.rename(tmp_path / "audit.log.1")
    log.symlink_to(forged)
    with pytest.raises(OSError, match="symbolic link"):
        await tailer.read_available()
    with pytest.raises(OSError, match="symbolic link"):
        await tailer.read_available()  # and again on the next pass: nothing read through it
    assert sink.entries == []
    log.unlink()
    log.write_text(FORGED.replace("forged", "real"))
    await tailer.read_available()
    assert [e["request"]["id"] for e in sink.entries] == ["real"]
    assert tailer.problem is None
    tailer.close()


async def test_a_symlink_in_the_run_loop_is_reported_and_resolved(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "audit.log"
    log.symlink_to(tmp_path / "elsewhere.log")
    (tmp_path / "elsewhere.log").write_text(FORGED)
    problems = Problems()
    tailer = AuditLogTailer(log, store, Sink(), poll=0.05, on_problem=problems)
    task = asyncio.create_task(tailer.run())
    try:
        await wait_for(lambda: tailer.problem, what="the symlink reported")
        log.unlink()
        log.write_text("")
        await wait_for(lambda: tailer.problem is None, what="the problem resolved")
    finally:
        tailer.stop()
        await task
    assert problems.seen == [
        ("unreadable", f"{log} cannot be read: is a symbolic link, not the audit file"),
        ("unreadable", None),
    ]


async def test_a_deleted_log_is_reported_once_the_grace_has_passed(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "audit.log"
    problems = Problems()
    tailer = AuditLogTailer(log, store, Sink(), missing_grace=0.0, on_problem=problems)
    await tailer.read_available()
    await tailer.read_available()
    assert problems.seen == [("unreadable", f"{log} does not exist")]
    log.write_text("")
    await tailer.read_available()
    assert problems.seen[-1] == ("unreadable", None)
    tailer.close()
