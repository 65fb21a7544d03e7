"""The audit trail: append-only, hash-chained, signed by a key the daemon cannot read, and
checkpointed where the daemon cannot rewrite.

Each entry records who did which privileged action to what (credential reveal, rotation,
freeze, unfreeze, approval, policy change). Its hash covers its own fields and the hash
of the entry before it. Appending is local and immediate (a SQLite transaction), so an
entry is chained even while Vault is unreachable; *sealing* then

1. signs every unsigned entry's hash (Vault Transit, Ed25519: the daemon's token may ask
   Vault to sign and nothing else, the private key never leaves Vault), and
2. writes a *checkpoint* of the chain head into Vault: one KV v2 key per checkpoint,
   named by the head's sequence number, written with ``cas=0`` by a token that holds
   ``create`` but no ``update``, ``delete``, ``destroy`` or metadata rights. A checkpoint
   records the head's hash and the hash of every entry since the previous checkpoint.

The CLI seals after each entry it writes; the daemon seals at most ``checkpoint_interval``
after an entry is written, and on stop. Two writers that checkpoint the same head race for
the same key: the loser reads the winner's checkpoint and accepts it when the hashes agree
(a disagreement means the local trail was rewritten, and is an error, never silently
accepted).

``verify`` recomputes the chain, checks every signature against a public key the
administrator pins (never one stored beside the entries) and walks every checkpoint:
an entry deleted, cut off or rewritten below the newest checkpoint is named, with the
checkpoint that proves it. Entries after the newest checkpoint are *pending*: chained,
not yet sealed.

The local-only modes (``[audit] signing_key = "file"`` or ``"credential"``) sign with a PEM
key on disk and keep checkpoints in a local file: weaker, since whoever can read the state
and the key can rewrite both. Details are scrubbed of secrets before they are written.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sentinel.backlog import Backlog
from sentinel.errors import AuditError, SentinelError, VaultConflict, VaultNotFound, VaultPermissionDenied
from sentinel.files import private_dir, readable_by_others, writable_by_others, write_private
from sentinel.logs import get_logger
from sentinel.redact import register_secret, scrub_obj
from sentinel.store import Store

log = get_logger("sentinel.audit")

GENESIS = "0" * 64
CHECKPOINTS = "audit/checkpoints"
SIGN_BATCH = 256
CHECKPOINT_HASHES_MAX = 400
"""A checkpoint lists at most this many entry hashes; more entries since the last one (a
Vault outage under load) are checkpointed in several, oldest first. Each hash is two JSON
strings of the write, and OpenBao refuses a request body of more than 1000
(``max_request_json_strings``, its default since 2.4.1)."""

MIGRATIONS = [
    """
    CREATE TABLE audit (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        seq       INTEGER NOT NULL,
        ts        TEXT NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        target    TEXT NOT NULL,
        details   TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL,
        key_id    TEXT NOT NULL,
        signature TEXT NOT NULL
    );
    CREATE INDEX audit_ts ON audit(ts);
    CREATE INDEX audit_seq ON audit(seq);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END
    """,
    # Entries are chained at once and signed later (when Vault answers): signatures get a
    # table of their own, append-only too. audit_checkpoint remembers locally which heads
    # were checkpointed (a hint for the next checkpoint; verify trusts only Vault's copy).
    """
    CREATE TABLE audit_signature (
        seq       INTEGER PRIMARY KEY,
        key_id    TEXT NOT NULL,
        signature TEXT NOT NULL
    );
    CREATE TRIGGER audit_signature_no_update BEFORE UPDATE ON audit_signature
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_signature_no_delete BEFORE DELETE ON audit_signature
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TABLE audit_checkpoint (
        seq  INTEGER PRIMARY KEY,
        hash TEXT NOT NULL,
        name TEXT NOT NULL
    )
    """,
]


@dataclass(frozen=True)
class Entry:
    seq: int
    ts: str
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    prev_hash: str
    hash: str
    key_id: str
    signature: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "key_id": self.key_id,
            "signature": self.signature,
        }


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str  # edited, deleted, inserted, reordered, bad-signature, unsigned, truncated, rewritten
    detail: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found: entries checked, problems, checkpoints walked, and the entries
    after the newest checkpoint (chained, not yet sealed)."""

    entries: int
    problems: list[Problem]
    checkpoints: int = 0
    pending: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Checkpoint:
    """The chain head at ``seq`` (its ``hash``) and the hashes of the entries since the
    previous checkpoint this writer knew of. ``name`` says where it is kept."""

    seq: int
    hash: str
    ts: str
    hashes: dict[int, str] = field(default_factory=dict)
    name: str = ""

    def data(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "hash": self.hash,
            "ts": self.ts,
            "hashes": {str(k): v for k, v in sorted(self.hashes.items())},
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any], name: str) -> Checkpoint:
        try:
            hashes = {int(k): str(v) for k, v in dict(data.get("hashes") or {}).items()}
            return cls(int(data["seq"]), str(data["hash"]), str(data.get("ts", "")), hashes, name)
        except (KeyError, TypeError, ValueError):
            raise AuditError(f"checkpoint {name}: not a checkpoint Sentinel wrote") from None

    def recorded(self) -> dict[int, str]:
        return {**self.hashes, self.seq: self.hash}


class CheckpointStore(Protocol):
    """Where checkpoints are kept: add one, read them all. Never rewrite or remove."""

    def create(self, cp: Checkpoint) -> Checkpoint:
        """Store ``cp``; if a checkpoint of the same head exists, return that one instead."""
        ...

    def all(self) -> list[Checkpoint]: ...


class KeyStore(Protocol):
    """How entries are signed and where checkpoints go."""

    checkpoints: CheckpointStore

    def sign(self, digests: Sequence[str]) -> list[tuple[str, str]]:
        """Sign each hex digest; return (key id, base64 signature) per digest, in order."""
        ...

    def local_public_key(self) -> Ed25519PublicKey | None:
        """The public key beside the signing key in local-only modes; None when the key
        lives in Vault and the verifier must pin one."""
        ...


def fingerprint(pub: Ed25519PublicKey) -> str:
    """``sha256:<hex>`` of the raw public key: what an administrator pins."""
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _key_id(pub: Ed25519PublicKey) -> str:
    return fingerprint(pub)[7:23]


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(pub: Ed25519PublicKey) -> str:
    return pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _load_private(pem: str, where: str) -> Ed25519PrivateKey:
    register_secret(pem)
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise AuditError(f"{where}: not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditError(f"{where}: the audit key must be Ed25519")
    return key


def _checkpoint_key(seq: int) -> str:
    return f"{seq:020d}"


class VaultCheckpoints:
    """Checkpoints in KV v2, one key per head (``<mount>/audit/checkpoints/<seq>``), written
    with ``cas=0``. The daemon's policy grants ``create`` and ``read`` there, so Vault itself
    refuses to overwrite, delete or destroy one."""

    def __init__(self, vault: Any) -> None:
        self.vault = vault

    def _name(self, seq: int) -> str:
        return f"{self.vault.kv_mount}/{CHECKPOINTS}/{_checkpoint_key(seq)}"

    def create(self, cp: Checkpoint) -> Checkpoint:
        path = f"{CHECKPOINTS}/{_checkpoint_key(cp.seq)}"
        try:
            self.vault.kv_write(path, cp.data(), cas=0)
        except (VaultConflict, VaultPermissionDenied) as refused:
            # Taken already (a concurrent writer checkpointed the same head): Vault refuses
            # the overwrite (403 without `update`, or a check-and-set conflict). Read it back.
            try:
                existing = self.vault.kv_read(path)
            except VaultNotFound:
                raise refused from None
            return Checkpoint.from_data(existing.data, self._name(cp.seq))
        return Checkpoint(cp.seq, cp.hash, cp.ts, cp.hashes, self._name(cp.seq))

    def all(self) -> list[Checkpoint]:
        keys = sorted(k for k in self.vault.kv_list(CHECKPOINTS) if not k.endswith("/"))
        return [
            Checkpoint.from_data(
                self.vault.kv_read(f"{CHECKPOINTS}/{k}").data, f"{self.vault.kv_mount}/{CHECKPOINTS}/{k}"
            )
            for k in keys
        ]


class FileCheckpoints:
    """Checkpoints as JSON lines in a local file (local-only mode: whoever can write the
    state directory can rewrite these too)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def create(self, cp: Checkpoint) -> Checkpoint:
        for have in self.all():
            if have.seq == cp.seq:
                return have
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as f:
            f.write(json.dumps(cp.data(), sort_keys=True) + "\n")
        return Checkpoint(cp.seq, cp.hash, cp.ts, cp.hashes, f"{self.path}:{cp.seq}")

    def all(self) -> list[Checkpoint]:
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return []
        except OSError as e:
            raise AuditError(f"{self.path}: unreadable audit checkpoints: {e.strerror}") from None
        out: list[Checkpoint] = []
        for n, line in enumerate(lines, 1):
            try:
                data = json.loads(line)
            except ValueError:
                raise AuditError(f"{self.path}: line {n} is not a checkpoint") from None
            out.append(Checkpoint.from_data(data, f"{self.path}:{data.get('seq', n)}"))
        return sorted(out, key=lambda c: c.seq)


class VaultKeyStore:
    """Sign with Vault Transit (``<transit_mount>/sign/<key>``, Ed25519, non-exportable);
    checkpoints in KV v2. The private key never reaches Sentinel."""

    def __init__(self, vault: Any, transit_mount: str, key: str) -> None:
        self.vault = vault
        self.transit_mount = transit_mount.strip("/")
        self.key = key
        self.checkpoints: CheckpointStore = VaultCheckpoints(vault)

    def sign(self, digests: Sequence[str]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for i in range(0, len(digests), SIGN_BATCH):
            batch = [
                {"input": base64.b64encode(bytes.fromhex(d)).decode()} for d in digests[i : i + SIGN_BATCH]
            ]
            resp = self.vault.request(
                "POST", f"{self.transit_mount}/sign/{self.key}", json={"batch_input": batch}
            )
            results = (resp or {}).get("data", {}).get("batch_results") or []
            if len(results) != len(batch):
                raise AuditError(f"Vault Transit answered {len(results)} signatures for {len(batch)} entries")
            for r in results:
                sig = str(r.get("signature") or "")
                if r.get("error") or not sig.startswith("vault:v"):
                    raise AuditError(f"Vault Transit refused to sign: {r.get('error') or 'no signature'}")
                _, version, b64 = sig.split(":", 2)
                out.append((f"transit:{self.key}:{version}", b64))
        return out

    def local_public_key(self) -> Ed25519PublicKey | None:
        return None


class FileKeyStore:
    """Local-only mode: key in a PEM file (or systemd credential), checkpoints in a file."""

    def __init__(self, key_path: Path, checkpoint_path: Path, create: bool = False) -> None:
        self.key_path = key_path
        self.create = create
        self.checkpoints: CheckpointStore = FileCheckpoints(checkpoint_path)
        self._key: Ed25519PrivateKey | None = None

    def load_or_create(self) -> Ed25519PrivateKey:
        if self._key is None:
            if not self.key_path.exists() and self.create:
                key = Ed25519PrivateKey.generate()
                private_dir(self.key_path.parent)
                write_private(self.key_path, _pem(key), exclusive=True)
            unsafe = writable_by_others(self.key_path) or readable_by_others(self.key_path)
            if unsafe:
                raise AuditError(f"refusing the audit signing key: {unsafe}")
            try:
                pem = self.key_path.read_text()
            except OSError as e:
                raise AuditError(f"{self.key_path}: cannot read the audit key: {e.strerror}") from None
            self._key = _load_private(pem, str(self.key_path))
        return self._key

    def sign(self, digests: Sequence[str]) -> list[tuple[str, str]]:
        key = self.load_or_create()
        kid = _key_id(key.public_key())
        return [(kid, base64.b64encode(key.sign(bytes.fromhex(d))).decode()) for d in digests]

    def local_public_key(self) -> Ed25519PublicKey | None:
        return self.load_or_create().public_key()


def canonical(
    seq: int, ts: str, actor: str, action: str, target: str, details: Mapping[str, Any], prev: str
) -> bytes:
    body = {
        "seq": seq,
        "ts": ts,
        "actor": actor,
        "action": action,
        "target": target,
        "details": details,
        "prev": prev,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditTrail:
    def __init__(self, store: Store, keys: KeyStore | None = None, *, eager: bool = True) -> None:
        """``keys`` may be None for read-only use (export). ``eager``: seal after every
        append (CLI commands); the daemon passes False and seals on a timer instead, so that
        no request waits on Vault."""
        self.store = store
        self._keys = keys
        self.eager = eager
        self._seal_lock = threading.Lock()
        self.backlog: Backlog[tuple[str, str, str, Mapping[str, Any] | None, str]] = Backlog(
            self._append_late, "audit"
        )
        """Entries the store refused, appended once it takes writes again (``record``)."""
        store.migrate("audit", MIGRATIONS)

    @property
    def keys(self) -> KeyStore:
        if self._keys is None:
            raise AuditError("the audit signing key is not available")
        return self._keys

    def append(self, actor: str, action: str, target: str, details: Mapping[str, Any] | None = None) -> Entry:
        """Chain one entry (details scrubbed of secrets) at once, without Vault; return it.
        When ``eager``, then try to seal it (a Vault outage leaves it pending, never fails)."""
        clean = scrub_obj(dict(details or {}))
        ts = _now()
        with self.store.transaction() as db:
            row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (int(row[0]) + 1, str(row[1])) if row else (1, GENESIS)
            digest = hashlib.sha256(canonical(seq, ts, actor, action, target, clean, prev)).hexdigest()
            db.execute(
                "INSERT INTO audit(seq, ts, actor, action, target, details, prev_hash, hash, key_id, signature) "
                "VALUES(?,?,?,?,?,?,?,?,'','')",
                (seq, ts, actor, action, target, json.dumps(clean, sort_keys=True), prev, digest),
            )
        if self.eager and self._keys is not None:
            self.try_seal()
        return Entry(seq, ts, actor, action, target, clean, prev, digest, "", "")

    def record(self, actor: str, action: str, target: str, details: Mapping[str, Any] | None = None) -> bool:
        """``append`` for the daemon, which acts on while its store cannot be written (a full disk,
        another process's lock): an entry the store refuses is kept in memory and appended, in
        order and with ``happened_at`` (when it was recorded), before the next one once the
        store takes writes again (or at ``flush_held``). False when it is held (``audit.held``)."""
        return self.backlog.submit((actor, action, target, details, _now()))

    def flush_held(self) -> bool:
        """Append the entries held while the store was unwritable; True when none is left."""
        return self.backlog.flush()

    def _append_late(self, entry: tuple[str, str, str, Mapping[str, Any] | None, str], late: bool) -> None:
        actor, action, target, details, at = entry
        self.append(actor, action, target, {**(details or {}), "happened_at": at} if late else details)

    def entries(self, since: str | None = None) -> Iterator[Entry]:
        sql = (
            "SELECT a.seq, a.ts, a.actor, a.action, a.target, a.details, a.prev_hash, a.hash, "
            "COALESCE(s.key_id, a.key_id) AS kid, COALESCE(s.signature, a.signature) AS sig "
            "FROM audit a LEFT JOIN audit_signature s ON s.seq = a.seq"
        )
        params: tuple[str, ...] = ()
        if since:
            sql += " WHERE a.ts >= ?"
            params = (since,)
        for r in self.store.query(sql + " ORDER BY a.id", params):
            yield Entry(
                int(r["seq"]),
                r["ts"],
                r["actor"],
                r["action"],
                r["target"],
                json.loads(r["details"]),
                r["prev_hash"],
                r["hash"],
                r["kid"],
                r["sig"],
            )

    def head(self) -> tuple[int, str]:
        row = self.store.query_one("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        return (int(row["seq"]), str(row["hash"])) if row else (0, GENESIS)

    def _checkpointed(self) -> int:
        """The newest head this database remembers checkpointing. Only a hint, kept where an
        attacker with the state directory can write: one that names no entry of the trail
        (a head far ahead, say, to stop all sealing) is ignored."""
        row = self.store.query_one(
            "SELECT MAX(c.seq) AS seq FROM audit_checkpoint c JOIN audit a ON a.seq = c.seq AND a.hash = c.hash"
        )
        return int(row["seq"]) if row and row["seq"] is not None else 0

    def unsealed(self) -> bool:
        """Is the head newer than the last checkpoint (so entries wait to be sealed)?"""
        return self.head()[0] > self._checkpointed()

    def seal(self) -> Checkpoint | None:
        """Sign every unsigned entry, then checkpoint the head if it moved (in several
        checkpoints when more than ``CHECKPOINT_HASHES_MAX`` entries wait); return the last
        checkpoint written (or found). Raises when Vault cannot be reached (entries stay
        pending) or when Vault's checkpoint of a head disagrees with the local trail."""
        with self._seal_lock:
            # Only entries after the last checkpoint: what is below one is never signed again.
            last = self._checkpointed()
            rows = self.store.query(
                "SELECT a.seq, a.hash FROM audit a LEFT JOIN audit_signature s ON s.seq = a.seq "
                "WHERE a.seq > ? AND s.seq IS NULL AND a.signature = '' ORDER BY a.seq",
                (last,),
            )
            pending = [(int(r["seq"]), str(r["hash"])) for r in rows]
            if pending:
                sigs = self.keys.sign([h for _, h in pending])
                with self.store.transaction() as db:
                    db.executemany(
                        "INSERT OR IGNORE INTO audit_signature(seq, key_id, signature) VALUES(?,?,?)",
                        [(seq, kid, sig) for (seq, _), (kid, sig) in zip(pending, sigs, strict=True)],
                    )
            # Checkpoint the newest entry up to which everything is signed: another writer may
            # have appended since, and its entry is signed by that writer's own seal.
            rows = self.store.query(
                "SELECT a.seq, a.hash, (s.seq IS NOT NULL OR a.signature != '') AS signed "
                "FROM audit a LEFT JOIN audit_signature s ON s.seq = a.seq WHERE a.seq > ? ORDER BY a.seq",
                (last,),
            )
            covered: list[tuple[int, str]] = []
            for r in rows:
                if not r["signed"]:
                    break
                covered.append((int(r["seq"]), str(r["hash"])))
            stored = None
            for i in range(0, len(covered), CHECKPOINT_HASHES_MAX):
                stored = self._checkpoint(covered[i : i + CHECKPOINT_HASHES_MAX])
            return stored

    def _checkpoint(self, covered: Sequence[tuple[int, str]]) -> Checkpoint:
        """Checkpoint the last of ``covered`` (signed entries after the previous checkpoint)."""
        seq, digest = covered[-1]
        stored = self.keys.checkpoints.create(Checkpoint(seq, digest, _now(), dict(covered)))
        if stored.hash != digest:
            raise AuditError(
                f"checkpoint {stored.name} records entry {seq} with another hash than the local "
                "trail: the trail was rewritten (run sentinel audit verify)"
            )
        self.store.execute(
            "INSERT OR IGNORE INTO audit_checkpoint(seq, hash, name) VALUES(?,?,?)",
            (seq, digest, stored.name),
        )
        return stored

    def try_seal(self) -> bool:
        """``seal``, logging instead of raising: an audited command never fails on it."""
        try:
            self.seal()
        except SentinelError as e:
            log.warning("audit.seal_deferred", error=e.message)
            return False
        return True

    def verify(self, *pinned: Ed25519PublicKey) -> Verification:
        """Check the whole chain and every checkpoint. A signature is good when one of the
        ``pinned`` keys verifies it (several: a rotated key, or the key that signed before an
        upgrade); local-only modes fall back to the key file's own public part."""
        checkpoints = self.keys.checkpoints.all()
        entries = list(self.entries())
        if not entries and not checkpoints:
            return Verification(0, [])
        local = self.keys.local_public_key()
        pubs = list(pinned) or ([local] if local is not None else [])
        if not pubs:
            raise AuditError(
                "no public key pinned: set [audit] public_key_file or public_key_fingerprint "
                "(see `sentinel audit key`), or pass --public-key / --fingerprint"
            )
        problems = _chain_problems(entries, pubs)
        head = max((e.seq for e in entries), default=0)
        last_cp = max((c.seq for c in checkpoints), default=0)
        unsigned = [e.seq for e in entries if not e.signature]
        problems += [
            Problem(s, "unsigned", f"its signature is missing, yet a checkpoint up to {last_cp} exists")
            for s in unsigned
            if s <= last_cp
        ]
        problems += _checkpoint_problems(entries, checkpoints, head)
        pending = tuple(e.seq for e in entries if e.seq > last_cp)
        return Verification(len(entries), problems, len(checkpoints), pending)


def _signed_by(pubs: Sequence[Ed25519PublicKey], signature: str, digest: str) -> bool:
    try:
        sig, message = base64.b64decode(signature), bytes.fromhex(digest)
    except ValueError:
        return False
    for pub in pubs:
        try:
            pub.verify(sig, message)
        except InvalidSignature:
            continue
        return True
    return False


def _chain_problems(entries: Sequence[Entry], pubs: Sequence[Ed25519PublicKey]) -> list[Problem]:
    problems: list[Problem] = []
    prev_hash, expected_seq = GENESIS, 1
    seen: dict[str, int] = {}
    for e in entries:
        recomputed = hashlib.sha256(
            canonical(e.seq, e.ts, e.actor, e.action, e.target, e.details, e.prev_hash)
        ).hexdigest()
        if recomputed != e.hash:
            problems.append(Problem(e.seq, "edited", "its content does not match its hash"))
        if e.signature and not _signed_by(pubs, e.signature, e.hash):
            problems.append(
                Problem(e.seq, "bad-signature", f"signature ({e.key_id}) does not verify with the pinned key")
            )
        if e.prev_hash != prev_hash:
            if e.prev_hash in seen and seen[e.prev_hash] != e.seq - 1:
                problems.append(
                    Problem(e.seq, "reordered", f"follows entry {seen[e.prev_hash]} in the chain")
                )
            elif e.seq > expected_seq:
                problems.append(
                    Problem(e.seq, "deleted", f"entries {expected_seq}..{e.seq - 1} before it are missing")
                )
            elif e.seq < expected_seq:
                problems.append(
                    Problem(e.seq, "reordered", f"sequence {e.seq} appears after {expected_seq - 1}")
                )
            else:
                problems.append(
                    Problem(e.seq, "inserted", "its predecessor hash does not match the entry before it")
                )
        elif e.seq != expected_seq:
            problems.append(Problem(e.seq, "inserted", f"sequence {e.seq} where {expected_seq} was expected"))
        seen[e.hash] = e.seq
        prev_hash, expected_seq = e.hash, e.seq + 1
    return problems


def _checkpoint_problems(
    entries: Sequence[Entry], checkpoints: Sequence[Checkpoint], head: int
) -> list[Problem]:
    """The first entry a checkpoint contradicts (missing, cut off or rewritten), named with
    that checkpoint; then how many later checkpoints disagree too."""
    by_seq: dict[int, str] = {}
    for e in entries:
        by_seq.setdefault(e.seq, e.hash)
    failing: list[Problem] = []
    for cp in sorted(checkpoints, key=lambda c: c.seq):
        for s, h in sorted(cp.recorded().items()):
            if s not in by_seq:
                kind = "truncated" if s > head else "deleted"
                where = f"the trail ends at {head}" if s > head else "it is missing"
                failing.append(
                    Problem(s, kind, f"checkpoint {cp.name} ({cp.ts}) records entry {s}, but {where}")
                )
                break
            if by_seq[s] != h:
                failing.append(
                    Problem(
                        s,
                        "rewritten",
                        f"its hash differs from the one checkpoint {cp.name} ({cp.ts}) records",
                    )
                )
                break
    if len(failing) > 1:
        first = min(failing, key=lambda p: p.seq)
        more = f"and {len(failing) - 1} later checkpoint(s) disagree with the trail too"
        return [first, Problem(first.seq, first.kind, more)]
    return failing
