"""The Vault audit-log tailer against a real OpenBao writing a file audit device."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentinel.store import Store
from sentinel.vault.audit_log import AuditLogTailer
from sentinel.vault.devserver import DevVault
from tests.waiting import wait_for


class Sink:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    async def __call__(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)

    def paths(self, tag: str) -> Counter[tuple[str, str]]:
        """(type, path) of every entry whose request path carries ``tag``."""
        return Counter(
            (e["type"], e["request"]["path"])
            for e in self.entries
            if tag in str((e.get("request") or {}).get("path", ""))
        )


def read_secrets(bao: DevVault, tag: str, count: int) -> list[str]:
    """``count`` real KV reads (of paths that hold nothing) through Vault's HTTP API."""
    paths = [f"secret/data/{tag}/{i}" for i in range(count)]
    with httpx.Client(base_url=bao.addr, headers={"X-Vault-Token": bao.root_token}) as client:
        for path in paths:
            client.get(f"/v1/{path}")
    return paths


def exactly_once(sink: Sink, paths: list[str], tag: str) -> None:
    seen = sink.paths(tag)
    want = Counter({(kind, p): 1 for p in paths for kind in ("request", "response")})
    assert seen == want


async def tailing(log_path: Path, store: Store) -> tuple[Sink, AuditLogTailer]:
    """A tailer that has taken its first position (the end of the log)."""
    sink = Sink()
    tailer = AuditLogTailer(log_path, store, sink)
    await tailer.read_available()
    return sink, tailer


@pytest.fixture
def log_path(audited_bao: DevVault) -> Path:
    assert audited_bao.audit_log is not None
    return audited_bao.audit_log


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


async def test_real_requests_reach_the_sink_as_the_raw_entries(
    audited_bao: DevVault, log_path: Path, store: Store
) -> None:
    sink = Sink()
    tailer = AuditLogTailer(log_path, store, sink, poll=5.0)
    task = asyncio.create_task(tailer.run())
    await wait_for(lambda: tailer.status()["offset"] is not None)
    tag = secrets.token_hex(4)
    paths = read_secrets(audited_bao, tag, 3)
    # watchdog wakes the tailer: well before its 5 s poll
    await wait_for(lambda: sum(sink.paths(tag).values()) == 6, timeout=4.0)
    tailer.stop()
    await task
    exactly_once(sink, paths, tag)
    response = next(e for e in sink.entries if e["type"] == "response" and tag in e["request"]["path"])
    assert response["request"]["operation"] == "read"
    assert response["request"]["remote_address"] == "127.0.0.1"
    assert response["auth"]["client_token"].startswith("hmac-sha256:")  # as the device wrote it
    assert audited_bao.root_token not in str(sink.entries)


async def test_first_start_begins_at_the_end_of_the_log(
    audited_bao: DevVault, log_path: Path, store: Store
) -> None:
    tag = secrets.token_hex(4)
    read_secrets(audited_bao, tag, 2)
    sink = Sink()
    tailer = AuditLogTailer(log_path, store, sink)
    await tailer.read_available()
    assert sink.paths(tag) == Counter()
    later = read_secrets(audited_bao, tag + "-later", 2)
    await tailer.read_available()
    exactly_once(sink, later, tag + "-later")
    tailer.close()


async def test_rename_and_create_loses_and_repeats_nothing(
    audited_bao: DevVault, log_path: Path, store: Store
) -> None:
    sink, tailer = await tailing(log_path, store)
    tag = secrets.token_hex(4)
    before = read_secrets(audited_bao, tag + "-a", 4)  # not read yet when the file is renamed
    os.rename(log_path, log_path.with_name(log_path.name + ".1"))
    during = read_secrets(audited_bao, tag + "-b", 2)  # still written to the renamed file
    audited_bao.reopen_audit_log()
    await wait_for(log_path.exists)
    after = read_secrets(audited_bao, tag + "-c", 3)
    await tailer.read_available()
    exactly_once(sink, before + during + after, tag)
    assert tailer.rotations == 1
    await tailer.read_available()
    exactly_once(sink, before + during + after, tag)
    tailer.close()


async def test_copytruncate_loses_and_repeats_nothing(
    audited_bao: DevVault, log_path: Path, store: Store
) -> None:
    sink, tailer = await tailing(log_path, store)
    tag = secrets.token_hex(4)
    seen = read_secrets(audited_bao, tag + "-a", 2)
    await tailer.read_available()
    unread = read_secrets(audited_bao, tag + "-b", 3)  # only in the copy once truncated
    shutil.copyfile(log_path, log_path.with_name(log_path.name + ".1"))
    os.truncate(log_path, 0)
    # written again past the old offset before the tailer looks: only the first line tells
    # (however long earlier tests of the session made the log)
    after: list[str] = []
    while log_path.stat().st_size <= tailer.status()["offset"]:
        after += read_secrets(audited_bao, f"{tag}-c{len(after)}", 40)
    await tailer.read_available()
    exactly_once(sink, seen + unread + after, tag)
    assert tailer.rotations == 1
    tailer.close()


async def test_restart_resumes_at_the_stored_offset_even_across_a_rotation(
    audited_bao: DevVault, log_path: Path, store: Store
) -> None:
    first, tailer = await tailing(log_path, store)
    tag = secrets.token_hex(4)
    read_before = read_secrets(audited_bao, tag + "-a", 2)
    await tailer.read_available()
    tailer.close()  # the daemon stops
    while_down = read_secrets(audited_bao, tag + "-b", 2)
    second = Sink()
    restarted = AuditLogTailer(log_path, store, second)
    await restarted.read_available()
    exactly_once(first, read_before, tag + "-a")
    exactly_once(second, while_down, tag)
    restarted.close()
    # stopped again; the log is rotated while nobody watches
    unread = read_secrets(audited_bao, tag + "-c", 2)
    os.rename(log_path, log_path.with_name(log_path.name + ".1"))
    audited_bao.reopen_audit_log()
    await wait_for(log_path.exists)
    fresh = read_secrets(audited_bao, tag + "-d", 2)
    third = Sink()
    again = AuditLogTailer(log_path, store, third)
    await again.read_available()
    exactly_once(third, unread + fresh, tag)
    again.close()


async def test_malformed_and_half_written_lines(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "audit.log"
    log.write_text("")
    sink = Sink()
    tailer = AuditLogTailer(log, store, sink)
    await tailer.read_available()
    entry = '{"type": "request", "request": {"id": "r1", "path": "sentinel/data/accounts/a/password"}}'
    with log.open("a") as f:
        f.write("not json at all\n[1, 2]\n{}\n" + entry + "\n" + entry[:20])
    await tailer.read_available()
    assert tailer.malformed == 3
    assert [e["request"]["id"] for e in sink.entries] == ["r1"]
    with log.open("a") as f:
        f.write(entry[20:].replace("r1", "r2") + "\n")
    await tailer.read_available()
    assert [e["request"]["id"] for e in sink.entries] == ["r1", "r2"]
    assert tailer.malformed == 3
    tailer.close()


async def test_an_entry_the_sink_fails_on_is_counted_and_skipped(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "audit.log"
    log.write_text("")
    seen: list[str] = []

    async def choosy(entry: dict[str, Any]) -> None:
        if entry["request"]["id"] == "bad":
            raise KeyError("auth")
        seen.append(entry["request"]["id"])

    tailer = AuditLogTailer(log, store, choosy)
    await tailer.read_available()
    with log.open("a") as f:
        for rid in ("r1", "bad", "r2"):
            f.write(f'{{"type": "request", "request": {{"id": "{rid}"}}}}\n')
    await tailer.read_available()
    await tailer.read_available()
    assert seen == ["r1", "r2"]
    assert tailer.status()["sink_failed"] == 1
    tailer.close()
