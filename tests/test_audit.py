from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sentinel.audit import AuditTrail, Checkpoint, FileKeyStore
from sentinel.errors import AuditError
from sentinel.store import Store


@pytest.fixture
def trail(tmp_path: Path) -> Iterator[AuditTrail]:
    store = Store(tmp_path / "state.sqlite3")
    keys = FileKeyStore(tmp_path / "audit-key.pem", tmp_path / "checkpoints.jsonl", create=True)
    t = AuditTrail(store, keys, eager=False)
    for i in range(1, 7):
        t.append(f"op-{i}", "credential.reveal", f"acct-{i}", {"n": i, "password": "hunter2-hunter2"})
    t.seal()
    yield t
    store.close()


def raw(trail: AuditTrail) -> sqlite3.Connection:
    """What an attacker with the database file does: drop the guards, then edit."""
    db = sqlite3.connect(trail.store.path, isolation_level=None)
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("DROP TRIGGER audit_no_delete")
    return db


COLS = "seq, ts, actor, action, target, details, prev_hash, hash, key_id, signature"


def rows_of(db: sqlite3.Connection) -> list[tuple[object, ...]]:
    return list(db.execute(f"SELECT {COLS} FROM audit ORDER BY id").fetchall())


def rewrite(db: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    db.execute("DELETE FROM audit")
    for r in rows:
        db.execute(f"INSERT INTO audit({COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)", r)


def test_intact_trail_verifies_and_details_are_scrubbed(trail: AuditTrail) -> None:
    result = trail.verify()
    assert (result.entries, result.problems, result.checkpoints, result.pending) == (6, [], 1, ())
    entry = next(trail.entries())
    assert entry.details["password"] == "[REDACTED]"
    assert "hunter2" not in Path(trail.store.path).read_bytes().decode("latin-1")


def test_append_only_guard(trail: AuditTrail) -> None:
    from sentinel.errors import StoreError

    with pytest.raises(StoreError, match="append-only"):
        trail.store.execute("UPDATE audit SET actor = 'x' WHERE seq = 1")
    with pytest.raises(StoreError, match="append-only"):
        trail.store.execute("DELETE FROM audit WHERE seq = 1")


def test_edited_entry_is_named(trail: AuditTrail) -> None:
    raw(trail).execute("UPDATE audit SET actor = 'op-evil' WHERE seq = 3")
    problems = trail.verify().problems
    assert [(p.seq, p.kind) for p in problems] == [(3, "edited")]


def test_edited_and_rehashed_entry_fails_signature(trail: AuditTrail) -> None:
    import hashlib

    from sentinel.audit import canonical

    db = raw(trail)
    row = db.execute("SELECT seq, ts, action, target, details, prev_hash FROM audit WHERE seq = 2").fetchone()
    digest = hashlib.sha256(
        canonical(2, row[1], "op-evil", row[2], row[3], json.loads(row[4]), row[5])
    ).hexdigest()
    db.execute("UPDATE audit SET actor = 'op-evil', hash = ? WHERE seq = 2", (digest,))
    problems = trail.verify().problems
    kinds = {(p.seq, p.kind) for p in problems}
    assert (2, "bad-signature") in kinds
    assert (2, "rewritten") in kinds  # the checkpoint recorded its original hash
    assert (3, "inserted") in kinds or (3, "reordered") in kinds  # the chain breaks after it


def test_deleted_entry_is_named(trail: AuditTrail) -> None:
    raw(trail).execute("DELETE FROM audit WHERE seq = 4")
    problems = trail.verify().problems
    assert [(p.seq, p.kind) for p in problems] == [(5, "deleted"), (4, "deleted")]
    assert "entries 4..4" in problems[0].detail
    assert "checkpoints.jsonl:6 " in problems[1].detail


def test_inserted_entry_is_named(trail: AuditTrail) -> None:
    db = raw(trail)
    rows = rows_of(db)
    forged = (3, rows[2][1], "op-forger", *rows[2][3:])
    # The forger renumbers everything after the insertion point to keep the sequence tidy.
    tail = [(int(r[0]) + 1, *r[1:]) for r in rows[3:]]  # type: ignore[call-overload]
    rewrite(db, [*rows[:3], (4, *forged[1:]), *tail])
    problems = trail.verify().problems
    assert problems and problems[0].seq == 4
    assert problems[0].kind in ("edited", "inserted")


def test_reordered_entries_are_named(trail: AuditTrail) -> None:
    db = raw(trail)
    rows = rows_of(db)
    rewrite(db, [rows[0], rows[1], rows[3], rows[2], rows[4], rows[5]])
    problems = trail.verify().problems
    assert (problems[0].seq, problems[0].kind) == (4, "deleted")
    assert any(p.seq == 3 and p.kind == "reordered" for p in problems)


def test_truncation_detected_by_checkpoint(trail: AuditTrail) -> None:
    raw(trail).execute("DELETE FROM audit WHERE seq >= 5")
    problems = trail.verify().problems
    assert [(p.seq, p.kind) for p in problems] == [(5, "truncated")]
    assert "the trail ends at 4" in problems[0].detail


def test_wrong_key_is_reported(trail: AuditTrail) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    problems = trail.verify(other).problems
    assert {p.kind for p in problems} == {"bad-signature"}
    assert len(problems) == 6


def test_entries_after_the_last_checkpoint_are_pending_until_sealed(trail: AuditTrail) -> None:
    trail.append("op-7", "freeze", "acct-7", {})
    result = trail.verify()
    assert (result.ok, result.pending) == (True, (7,))
    assert trail.unsealed()
    cp = trail.seal()
    assert cp is not None and (cp.seq, sorted(cp.hashes)) == (7, [7])
    assert trail.seal() is None  # nothing new: no second checkpoint
    assert not trail.unsealed()
    assert trail.verify().pending == ()


def test_a_checkpoint_that_contradicts_the_trail_stops_sealing(trail: AuditTrail) -> None:
    """Another writer's checkpoint of the same head with another hash is never accepted."""
    db = raw(trail)
    db.execute("DELETE FROM audit_checkpoint")
    rows = rows_of(db)
    rewrite(db, rows[:5])  # the head is now 5, which the checkpoint file does not hold
    trail.keys.checkpoints.create(Checkpoint(5, "f" * 64, "t", {5: "f" * 64}))
    with pytest.raises(AuditError, match="another hash than the local trail"):
        trail.seal()


def test_several_pinned_keys_cover_a_key_change(trail: AuditTrail, tmp_path: Path) -> None:
    """Entries signed by an earlier key (a rotated one, or the one used before an upgrade)
    verify when that key is pinned as well, and only then."""
    old = trail.keys.local_public_key()
    newer = FileKeyStore(tmp_path / "new-key.pem", tmp_path / "checkpoints.jsonl", create=True)
    after = AuditTrail(trail.store, newer, eager=True)
    after.append("op-7", "freeze", "acct-7", {})
    new = newer.local_public_key()
    assert old is not None and new is not None
    assert after.verify(old, new).ok
    assert [p.seq for p in after.verify(new).problems] == [1, 2, 3, 4, 5, 6]
    assert [p.seq for p in after.verify(old).problems] == [7]


def test_an_entry_appended_while_another_writer_seals_is_not_checkpointed_unsigned(
    trail: AuditTrail, tmp_path: Path
) -> None:
    """Writer A signs, writer B appends, A checkpoints: A's checkpoint stops before B's
    unsigned entry, which B's (or the next) seal signs; nothing is left unsigned below a
    checkpoint, so verify stays intact."""
    other = AuditTrail(trail.store, eager=False)

    class AppendDuringSigning(FileKeyStore):
        def sign(self, digests: Sequence[str]) -> list[tuple[str, str]]:
            signed = super().sign(digests)
            other.append("op-b", "freeze", "acct-b", {})  # B, between A's signing and checkpoint
            return signed

    keys = AppendDuringSigning(tmp_path / "audit-key.pem", tmp_path / "checkpoints.jsonl")
    a = AuditTrail(trail.store, keys, eager=False)
    a.append("op-a", "freeze", "acct-a", {})
    cp = a.seal()
    assert cp is not None and cp.seq == 7  # A's own entry; B's 8 is not signed yet
    assert (trail.verify().ok, trail.verify().pending) == (True, (8,))
    assert trail.seal() is not None
    assert (trail.verify().ok, trail.verify().pending) == (True, ())
