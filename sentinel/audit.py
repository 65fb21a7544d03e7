"""The audit trail: append-only, hash-chained, Ed25519-signed.

Each entry records who did which privileged action to what (credential reveal, rotation,
freeze, unfreeze, approval, policy change). Its hash covers its own fields and the hash
of the entry before it; its signature covers that hash. ``verify`` recomputes the chain
and checks every signature against the public key, and names the first entry that was
edited, deleted, inserted or moved. The newest entry's sequence number and hash are
also anchored outside the database (in Vault when the key lives there), so cutting
entries off the end is detected too.

The signing key is kept in Vault (``<kv_mount>/system/audit-key``), in a systemd
credential (``$CREDENTIALS_DIRECTORY/audit-key``) or in a PEM file. Details are scrubbed of
secrets before they are written.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sentinel.errors import AuditError, VaultConflict, VaultNotFound
from sentinel.files import write_private
from sentinel.redact import register_secret, scrub_obj
from sentinel.store import Store

GENESIS = "0" * 64
KEY_PATH = "system/audit-key"
ANCHOR_PATH = "system/audit-anchor"

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
    kind: str  # "edited", "deleted", "inserted", "reordered", "bad-signature", "truncated", "unknown-key"
    detail: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.kind}: {self.detail}"


class KeyStore(Protocol):
    """Where the signing key lives."""

    def load_or_create(self) -> Ed25519PrivateKey: ...
    def public_key(self) -> Ed25519PublicKey: ...
    def read_anchor(self) -> tuple[int, str] | None: ...
    def write_anchor(self, seq: int, digest: str) -> None: ...


def _key_id(pub: Ed25519PublicKey) -> str:
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public_pem(pub: Ed25519PublicKey) -> str:
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


class VaultKeyStore:
    """Key (and anchor) in Vault KV v2, created on first use with check-and-set."""

    def __init__(self, vault: Any) -> None:
        self.vault = vault
        self._key: Ed25519PrivateKey | None = None

    def load_or_create(self) -> Ed25519PrivateKey:
        if self._key is not None:
            return self._key
        try:
            secret = self.vault.kv_read(KEY_PATH)
            self._key = _load_private(str(secret.data["private_key"]), f"Vault {KEY_PATH}")
        except VaultNotFound:
            key = Ed25519PrivateKey.generate()
            try:
                self.vault.kv_write(
                    KEY_PATH,
                    {"private_key": _pem(key), "public_key": _public_pem(key.public_key())},
                    cas=0,
                )
                self._key = key
            except VaultConflict:  # another process created it first
                secret = self.vault.kv_read(KEY_PATH)
                self._key = _load_private(str(secret.data["private_key"]), f"Vault {KEY_PATH}")
        return self._key

    def public_key(self) -> Ed25519PublicKey:
        secret = self.vault.kv_read(KEY_PATH)
        pub = serialization.load_pem_public_key(str(secret.data["public_key"]).encode())
        if not isinstance(pub, Ed25519PublicKey):
            raise AuditError(f"Vault {KEY_PATH}: public key is not Ed25519")
        return pub

    def read_anchor(self) -> tuple[int, str] | None:
        try:
            data = self.vault.kv_read(ANCHOR_PATH).data
        except VaultNotFound:
            return None
        return int(data["seq"]), str(data["hash"])

    def write_anchor(self, seq: int, digest: str) -> None:
        try:
            current = self.vault.kv_metadata(ANCHOR_PATH).current_version
        except VaultNotFound:
            current = 0
        self.vault.kv_write(ANCHOR_PATH, {"seq": seq, "hash": digest}, cas=current)


class FileKeyStore:
    """Key in a PEM file (or systemd credential); anchor in a file beside the state."""

    def __init__(self, key_path: Path, anchor_path: Path, create: bool = False) -> None:
        self.key_path = key_path
        self.anchor_path = anchor_path
        self.create = create
        self._key: Ed25519PrivateKey | None = None

    def load_or_create(self) -> Ed25519PrivateKey:
        if self._key is None:
            if not self.key_path.exists() and self.create:
                key = Ed25519PrivateKey.generate()
                self.key_path.parent.mkdir(parents=True, exist_ok=True)
                write_private(self.key_path, _pem(key), exclusive=True)
            try:
                pem = self.key_path.read_text()
            except OSError as e:
                raise AuditError(f"{self.key_path}: cannot read the audit key: {e.strerror}") from None
            self._key = _load_private(pem, str(self.key_path))
        return self._key

    def public_key(self) -> Ed25519PublicKey:
        return self.load_or_create().public_key()

    def read_anchor(self) -> tuple[int, str] | None:
        try:
            data = json.loads(self.anchor_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise AuditError(f"{self.anchor_path}: unreadable audit anchor: {e}") from None
        return int(data["seq"]), str(data["hash"])

    def write_anchor(self, seq: int, digest: str) -> None:
        tmp = self.anchor_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"seq": seq, "hash": digest}))
        tmp.replace(self.anchor_path)


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
    def __init__(self, store: Store, keys: KeyStore | None = None) -> None:
        """``keys`` may be None for read-only use (export); append and verify need it."""
        self.store = store
        self._keys = keys
        store.migrate("audit", MIGRATIONS)

    @property
    def keys(self) -> KeyStore:
        if self._keys is None:
            raise AuditError("the audit signing key is not available")
        return self._keys

    def append(self, actor: str, action: str, target: str, details: Mapping[str, Any] | None = None) -> Entry:
        """Write one entry (details scrubbed of secrets); return it."""
        key = self.keys.load_or_create()
        kid = _key_id(key.public_key())
        clean = scrub_obj(dict(details or {}))
        ts = _now()
        with self.store.transaction() as db:
            row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (int(row[0]) + 1, str(row[1])) if row else (1, GENESIS)
            digest = hashlib.sha256(canonical(seq, ts, actor, action, target, clean, prev)).hexdigest()
            sig = base64.b64encode(key.sign(bytes.fromhex(digest))).decode()
            db.execute(
                "INSERT INTO audit(seq, ts, actor, action, target, details, prev_hash, hash, key_id, signature) "
                "VALUES(?,?,?,?,?,?,?,?,?,?)",
                (seq, ts, actor, action, target, json.dumps(clean, sort_keys=True), prev, digest, kid, sig),
            )
        return Entry(seq, ts, actor, action, target, clean, prev, digest, kid, sig)

    def entries(self, since: str | None = None) -> Iterator[Entry]:
        sql = "SELECT * FROM audit"
        params: tuple[str, ...] = ()
        if since:
            sql += " WHERE ts >= ?"
            params = (since,)
        for r in self.store.query(sql + " ORDER BY id", params):
            yield Entry(
                int(r["seq"]),
                r["ts"],
                r["actor"],
                r["action"],
                r["target"],
                json.loads(r["details"]),
                r["prev_hash"],
                r["hash"],
                r["key_id"],
                r["signature"],
            )

    def head(self) -> tuple[int, str]:
        row = self.store.query_one("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        return (int(row["seq"]), str(row["hash"])) if row else (0, GENESIS)

    def anchor(self) -> tuple[int, str]:
        """Record the newest entry outside the database (detects truncation)."""
        seq, digest = self.head()
        self.keys.write_anchor(seq, digest)
        return seq, digest

    def verify(self, public_key: Ed25519PublicKey | None = None) -> tuple[int, list[Problem]]:
        """Check the whole chain; return (entries checked, problems found)."""
        if public_key is None and self.head()[0] == 0 and self.keys.read_anchor() is None:
            return 0, []  # nothing written yet, nothing to check
        pub = public_key or self.keys.public_key()
        kid = _key_id(pub)
        problems: list[Problem] = []
        prev_hash, expected_seq, count = GENESIS, 1, 0
        seen: dict[str, int] = {}
        for e in self.entries():
            count += 1
            recomputed = hashlib.sha256(
                canonical(e.seq, e.ts, e.actor, e.action, e.target, e.details, e.prev_hash)
            ).hexdigest()
            if recomputed != e.hash:
                problems.append(Problem(e.seq, "edited", "its content does not match its hash"))
            if e.key_id != kid:
                problems.append(Problem(e.seq, "unknown-key", f"signed by key {e.key_id}, expected {kid}"))
            else:
                try:
                    pub.verify(base64.b64decode(e.signature), bytes.fromhex(e.hash))
                except (InvalidSignature, ValueError):
                    problems.append(Problem(e.seq, "bad-signature", "signature does not verify"))
            if e.prev_hash != prev_hash:
                if e.prev_hash in seen and seen[e.prev_hash] != e.seq - 1:
                    problems.append(
                        Problem(e.seq, "reordered", f"follows entry {seen[e.prev_hash]} in the chain")
                    )
                elif e.seq > expected_seq:
                    problems.append(
                        Problem(
                            e.seq, "deleted", f"entries {expected_seq}..{e.seq - 1} before it are missing"
                        )
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
                problems.append(
                    Problem(e.seq, "inserted", f"sequence {e.seq} where {expected_seq} was expected")
                )
            seen[e.hash] = e.seq
            prev_hash, expected_seq = e.hash, e.seq + 1
        anchor = self.keys.read_anchor()
        if anchor is not None:
            a_seq, a_hash = anchor
            if a_seq >= expected_seq:
                problems.append(
                    Problem(
                        a_seq,
                        "truncated",
                        f"the anchor records entry {a_seq} but the trail ends at {expected_seq - 1}",
                    )
                )
            elif a_seq > 0 and seen.get(a_hash) != a_seq:
                problems.append(
                    Problem(a_seq, "edited", "does not match the hash anchored outside the database")
                )
        return count, problems
