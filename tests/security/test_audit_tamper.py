"""The audit trail against an attacker with the state directory, and one with the daemon's
Vault token, on a real OpenBao: whatever they rewrite below the newest checkpoint,
``sentinel audit verify`` names it, and Vault itself refuses what would hide it."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sentinel.audit import CHECKPOINT_HASHES_MAX, AuditTrail, Checkpoint, canonical, public_pem
from sentinel.audit_keys import audit_keystore, load_public_key, transit_public_keys
from sentinel.cli import main
from sentinel.config import Config, load_config
from sentinel.errors import VaultNotFound, VaultPermissionDenied
from sentinel.net import free_port
from sentinel.store import Store
from sentinel.vault.client import VaultClient
from sentinel.vault.policies import transit_key_name
from tests.conftest import Deployment


@dataclass
class Setup:
    deployment: Deployment
    config: Config
    daemon: VaultClient  # a client holding the daemon's real token
    store: Store
    pem: Path  # the public key the administrator pinned

    def trail(self, vault: VaultClient | None = None, eager: bool = False) -> AuditTrail:
        return AuditTrail(self.store, audit_keystore(self.config, vault or self.daemon), eager=eager)

    def pinned(self) -> Ed25519PublicKey:
        return load_public_key(self.pem)

    def verify(self, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
        capsys.readouterr()
        code = main(self.deployment.cli("audit", "verify", "--public-key", str(self.pem)))
        return code, capsys.readouterr().out


@pytest.fixture
def setup(deployment: Deployment) -> Iterator[Setup]:
    config = load_config(deployment.config, env={})
    daemon = deployment.admin.with_token(deployment.token)
    keys = transit_public_keys(deployment.admin, deployment.settings)  # the administrator's token
    pem = deployment.dir / "audit-public.pem"
    pem.write_text(public_pem(keys[1]))
    store = Store(config.sentinel.database)
    yield Setup(deployment, config, daemon, store, pem)
    store.close()
    daemon.close()


def write(trail: AuditTrail, count: int, checkpoint_every: int = 10) -> None:
    """``count`` entries, sealed every ``checkpoint_every`` (as the daemon's timer does)."""
    for i in range(count):
        trail.append(f"op-{i % 3}", "credential.reveal", f"acct-{i}", {"i": i})
        if (i + 1) % checkpoint_every == 0:
            trail.seal()
    trail.seal()


def attacker_db(setup: Setup) -> sqlite3.Connection:
    """Write access to the state directory: drop the guards, then edit."""
    db = sqlite3.connect(setup.config.sentinel.database, isolation_level=None)
    for trigger in (
        "audit_no_update",
        "audit_no_delete",
        "audit_signature_no_delete",
        "audit_signature_no_update",
    ):
        db.execute(f"DROP TRIGGER {trigger}")
    return db


def test_truncation_after_dropping_the_trigger_is_reported(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    write(setup.trail(), 40)
    assert setup.verify(capsys) == (0, "40 entries checked against 4 checkpoint(s): intact\n")
    db = attacker_db(setup)
    db.execute("DELETE FROM audit WHERE seq > 31")
    db.execute("DELETE FROM audit_signature WHERE seq > 31")
    db.execute("DELETE FROM audit_checkpoint")
    code, out = setup.verify(capsys)
    assert code == 1
    name = f"{setup.deployment.settings.kv_mount}/audit/checkpoints/00000000000000000040"
    assert f"TAMPERED entry 32: truncated: checkpoint {name}" in out
    assert "records entry 32, but the trail ends at 31" in out


def test_deleting_everything_is_reported(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    write(setup.trail(), 12)
    db = attacker_db(setup)
    for table in ("audit", "audit_signature", "audit_checkpoint"):
        db.execute(f"DELETE FROM {table}")
    code, out = setup.verify(capsys)
    assert code == 1
    assert "TAMPERED entry 1: truncated: checkpoint" in out
    assert "0 entries checked against 2 checkpoint(s)" in out


def _rewrite_actor(setup: Setup, seq: int, actor: str, sign: object) -> None:
    """Change entry ``seq``'s actor, recompute its hash and every later one (the chain stays
    whole), and re-sign each with ``sign(digest) -> (key_id, signature)``."""
    db = attacker_db(setup)
    rows = db.execute(
        "SELECT id, seq, ts, actor, action, target, details, prev_hash FROM audit ORDER BY seq"
    ).fetchall()
    prev = None
    for rid, s, ts, who, action, target, details, prev_hash in rows:
        if s < seq:
            continue
        prev = prev_hash if prev is None else prev
        who = actor if s == seq else who
        digest = hashlib.sha256(canonical(s, ts, who, action, target, json.loads(details), prev)).hexdigest()
        kid, sig = sign(digest)  # type: ignore[operator]
        db.execute(
            "UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE id = ?", (who, prev, digest, rid)
        )
        db.execute("DELETE FROM audit_signature WHERE seq = ?", (s,))
        db.execute("INSERT INTO audit_signature(seq, key_id, signature) VALUES(?,?,?)", (s, kid, sig))
        prev = digest


def test_daemon_token_cannot_read_the_signing_key(setup: Setup) -> None:
    transit = setup.config.vault.transit_mount
    name = transit_key_name(setup.config.vault)
    key = setup.deployment.admin.request("GET", f"{transit}/keys/{name}")["data"]
    assert (key["type"], key["exportable"], key["allow_plaintext_backup"]) == ("ed25519", False, False)
    for method, path, body in (
        ("GET", f"{transit}/export/signing-key/{name}", None),
        ("GET", f"{transit}/export/signing-key/{name}/latest", None),
        ("GET", f"{transit}/keys/{name}", None),
        ("GET", f"{transit}/backup/{name}", None),
        ("POST", f"{transit}/keys/{name}/config", {"exportable": True, "allow_plaintext_backup": True}),
        ("POST", f"{transit}/keys/{name}/rotate", {}),
        ("POST", f"{transit}/keys/evil", {"type": "ed25519", "exportable": True}),
        ("DELETE", f"{transit}/keys/{name}", None),
    ):
        with pytest.raises(VaultPermissionDenied):
            setup.daemon.request(method, path, json=body)
    # the old design's key in KV is gone, and that path is not where anything is kept now
    with pytest.raises((VaultNotFound, VaultPermissionDenied)):
        setup.daemon.kv_read("system/audit-key")


def test_actor_changed_and_chain_resigned_is_reported(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    """Everything the daemon's token can do: re-sign through Transit itself. The chain and
    every signature verify, but the checkpoint in Vault still holds the original hashes."""
    write(setup.trail(), 20)
    transit = setup.config.vault.transit_mount
    name = transit_key_name(setup.config.vault)

    def sign_with_daemon_token(digest: str) -> tuple[str, str]:
        b64 = base64.b64encode(bytes.fromhex(digest)).decode()
        sig = setup.daemon.request("POST", f"{transit}/sign/{name}", json={"input": b64})["data"]["signature"]
        return "transit:v1", sig.split(":", 2)[2]

    _rewrite_actor(setup, 7, "op-innocent", sign_with_daemon_token)
    code, out = setup.verify(capsys)
    assert code == 1
    assert "TAMPERED entry 7: rewritten: its hash differs from the one checkpoint" in out
    assert "bad-signature" not in out and "edited" not in out  # the forgery itself is flawless
    # the daemon token cannot replace the checkpoint that proves it
    checkpoint = f"audit/checkpoints/{20:020d}"
    with pytest.raises(VaultPermissionDenied):
        setup.daemon.kv_write(checkpoint, {"seq": 20, "hash": "0" * 64, "ts": "", "hashes": {}}, cas=1)


def test_actor_changed_and_resigned_with_another_key_is_reported(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    write(setup.trail(), 5)
    forger = Ed25519PrivateKey.generate()
    _rewrite_actor(
        setup, 5, "op-innocent", lambda d: ("k", base64.b64encode(forger.sign(bytes.fromhex(d))).decode())
    )
    # the forger also plants its own public key where the old design kept one
    code, out = setup.verify(capsys)
    assert code == 1
    assert "TAMPERED entry 5: bad-signature" in out
    assert "TAMPERED entry 5: rewritten" in out


def test_daemon_token_cannot_overwrite_or_delete_a_checkpoint(setup: Setup) -> None:
    write(setup.trail(), 3, checkpoint_every=3)
    m = setup.config.vault.kv_mount
    key = f"audit/checkpoints/{3:020d}"
    original = setup.deployment.admin.kv_read(key).data
    for cas in (0, 1, None):
        with pytest.raises(VaultPermissionDenied):
            setup.daemon.kv_write(key, {**original, "hash": "0" * 64}, cas=cas)
    for method, path, body in (
        ("DELETE", f"{m}/data/{key}", None),
        ("POST", f"{m}/delete/{key}", {"versions": [1]}),
        ("POST", f"{m}/destroy/{key}", {"versions": [1]}),
        ("DELETE", f"{m}/metadata/{key}", None),
        ("POST", f"{m}/metadata/{key}", {"max_versions": 1, "delete_version_after": "1s"}),
        ("PATCH", f"{m}/data/{key}", {"hash": "0" * 64}),
        ("POST", f"{m}/config", {"max_versions": 1}),
    ):
        headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else None
        with pytest.raises(VaultPermissionDenied):
            setup.daemon.request(method, path, json=body, headers=headers)
    assert setup.deployment.admin.kv_read(key).data == original
    assert setup.deployment.admin.kv_metadata(key).current_version == 1


def test_entries_written_while_vault_is_unreachable_are_sealed_when_it_returns(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    write(setup.trail(), 2)
    away = VaultClient(
        f"http://127.0.0.1:{free_port()}", setup.deployment.token, kv_mount=setup.config.vault.kv_mount
    )
    cli_like = setup.trail(away, eager=True)  # seals after each entry, as a CLI command does
    for i in range(3):
        entry = cli_like.append("op-ann", "freeze", f"acct-{i}", {})  # never raises
        assert entry.seq == 3 + i
    assert [e.signature == "" for e in setup.trail().entries()] == [False, False, True, True, True]
    code, out = setup.verify(capsys)
    assert code == 0
    assert "pending: entries 3..5 are chained but not yet checkpointed" in out

    assert setup.trail().unsealed()
    cp = setup.trail().seal()  # Vault is back
    assert cp is not None and (cp.seq, sorted(cp.hashes)) == (5, [3, 4, 5])
    assert setup.verify(capsys) == (0, "5 entries checked against 2 checkpoint(s): intact\n")


def test_a_long_outage_backlog_is_sealed_in_checkpoints_vault_accepts(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    """A minute of gate checks in grace leaves a thousand entries waiting; OpenBao refuses a
    request of more than 1000 JSON strings, so one checkpoint listing them all would be
    refused for ever and the trail never sealed again."""
    write(setup.trail(), 2)
    backlog = 2 * CHECKPOINT_HASHES_MAX + 100
    trail = setup.trail()
    for i in range(backlog):
        trail.append("op-tool", "gate.check_in_grace", f"acct-{i % 7}", {})  # Vault away: not sealed
    cp = setup.trail().seal()
    head = 2 + backlog
    assert cp is not None and cp.seq == head
    made = sorted(c.seq for c in setup.trail().keys.checkpoints.all())
    assert made == [2, 2 + CHECKPOINT_HASHES_MAX, 2 + 2 * CHECKPOINT_HASHES_MAX, head]
    assert not setup.trail().unsealed()
    assert setup.verify(capsys) == (0, f"{head} entries checked against 4 checkpoint(s): intact\n")


def test_checkpoint_conflict_between_writers_is_accepted_not_failed(setup: Setup) -> None:
    """Two writers checkpoint the same head: the second finds Vault's copy, agrees, moves on."""
    first = setup.trail()
    first.append("op-ann", "freeze", "acct-1", {})
    made = first.seal()
    setup.store.execute("DELETE FROM audit_checkpoint")  # the second writer had not seen it yet
    again = setup.trail().seal()
    assert made is not None and again is not None and (again.seq, again.hash) == (made.seq, made.hash)
    assert setup.trail().verify(setup.pinned()).ok


def test_forged_future_checkpoint_from_the_daemon_token_is_reported(setup: Setup) -> None:
    """The daemon token may add a checkpoint; adding a false one is loud, never silent."""
    write(setup.trail(), 2)
    cp = Checkpoint(9, "a" * 64, "forged", {9: "a" * 64})
    setup.daemon.kv_write(f"audit/checkpoints/{9:020d}", cp.data(), cas=0)
    problems = setup.trail().verify(setup.pinned()).problems
    assert [(p.seq, p.kind) for p in problems] == [(9, "truncated")]


def test_concurrent_writers_never_fail_and_the_trail_verifies(setup: Setup) -> None:
    """A daemon (timer seals) and CLI commands (seal after each entry), each with its own
    database connection and Vault client, all appending at once."""
    errors: list[BaseException] = []
    stop = threading.Event()
    db = setup.config.sentinel.database

    def cli_command(n: int) -> None:
        try:
            with Store(db) as store:
                vault = setup.deployment.admin.with_token(setup.deployment.token)
                trail = AuditTrail(store, audit_keystore(setup.config, vault), eager=True)
                for i in range(6):
                    trail.append(f"op-{n}", "credential.reveal", f"acct-{i}", {})
                vault.close()
        except BaseException as e:  # pragma: no cover - the assertion below reports it
            errors.append(e)

    def daemon() -> None:
        try:
            with Store(db) as store:
                trail = AuditTrail(store, audit_keystore(setup.config, setup.daemon), eager=False)
                while not stop.is_set():
                    trail.append("sentinel", "post.publish", "acct-d", {})
                    trail.seal()
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    d = threading.Thread(target=daemon)
    d.start()
    cli = [threading.Thread(target=cli_command, args=(n,)) for n in range(4)]
    for t in cli:
        t.start()
    for t in cli:
        t.join()
    stop.set()
    d.join()
    assert errors == []
    trail = setup.trail()
    trail.seal()
    result = trail.verify(setup.pinned())
    assert result.ok, result.problems
    assert result.entries >= 24 and result.pending == ()
    assert not trail.unsealed()


def test_a_false_local_checkpoint_hint_does_not_stop_sealing(setup: Setup) -> None:
    """The state directory remembers which head was checkpointed; a planted record of a
    head far ahead would otherwise stop every later checkpoint."""
    trail = setup.trail()
    write(trail, 2)
    db = sqlite3.connect(setup.config.sentinel.database, isolation_level=None)
    db.execute("INSERT INTO audit_checkpoint(seq, hash, name) VALUES(1000000, ?, 'planted')", ("b" * 64,))
    trail.append("op-ann", "freeze", "acct-1", {})
    assert trail.unsealed()
    cp = trail.seal()
    assert cp is not None and cp.seq == 3
    assert trail.verify(setup.pinned()).pending == ()
