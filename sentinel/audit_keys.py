"""Where the audit trail is signed and checkpointed (``[audit] signing_key``), and the public
key ``audit verify`` trusts: one the administrator pinned, never one stored beside the entries."""

from __future__ import annotations

import base64
import hmac
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sentinel.audit import FileKeyStore, KeyStore, VaultKeyStore, fingerprint
from sentinel.config import Config
from sentinel.errors import AuditError
from sentinel.vault.client import VaultClient
from sentinel.vault.policies import transit_key_name
from sentinel.vault.settings import VaultSettings


def audit_keystore(
    config: Config, vault: VaultClient | None, env: Mapping[str, str] | None = None
) -> KeyStore:
    env = os.environ if env is None else env
    checkpoints = config.sentinel.state_dir / "audit-checkpoints.jsonl"
    mode = config.audit.signing_key
    if mode == "vault":
        if vault is None:
            raise AuditError("[audit] signing_key = 'vault' but Vault is not configured")
        return VaultKeyStore(vault, config.vault.transit_mount, transit_key_name(config.vault))
    if mode == "credential":
        cred = env.get("CREDENTIALS_DIRECTORY")
        if not cred:
            raise AuditError(
                "[audit] signing_key = 'credential' needs the systemd credential audit-key "
                "(LoadCredential=audit-key:PATH); $CREDENTIALS_DIRECTORY is not set"
            )
        return FileKeyStore(Path(cred) / "audit-key", checkpoints)
    assert config.audit.key_file is not None
    return FileKeyStore(config.audit.key_file, checkpoints, create=True)


def transit_public_keys(vault: VaultClient, settings: VaultSettings) -> dict[int, Ed25519PublicKey]:
    """Every version's public key of the audit Transit key, read with ``vault``'s token."""
    mount, name = settings.transit_mount.strip("/"), transit_key_name(settings)
    data = vault.request("GET", f"{mount}/keys/{name}")["data"]
    if data.get("type") != "ed25519":
        raise AuditError(f"Transit key {mount}/{name} is {data.get('type')}, not ed25519")
    out: dict[int, Ed25519PublicKey] = {}
    for version, info in dict(data.get("keys") or {}).items():
        raw = base64.b64decode(str(info.get("public_key") or ""))
        out[int(version)] = Ed25519PublicKey.from_public_bytes(raw)
    return out


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        loaded = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as e:
        raise AuditError(f"{path}: not a readable PEM public key ({e.__class__.__name__})") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise AuditError(f"{path}: not an Ed25519 public key")
    return loaded


def pinned_public_keys(
    config: Config,
    vault: VaultClient | None,
    key_files: Sequence[Path] = (),
    pinned_fingerprint: str | None = None,
) -> list[Ed25519PublicKey]:
    """The keys ``audit verify`` checks signatures with: PEM files (``--public-key``, or
    ``[audit] public_key_file``), else the Transit key version whose public part has the
    pinned fingerprint (``--fingerprint`` or ``[audit] public_key_fingerprint``), read with
    ``vault`` (the verifier's own token). Empty when nothing is pinned (only local-only
    modes may then use the key file's own key)."""
    files = list(key_files) or ([config.audit.public_key_file] if config.audit.public_key_file else [])
    if files:
        return [load_public_key(p) for p in files]
    want = (pinned_fingerprint or config.audit.public_key_fingerprint).strip().lower()
    if not want:
        return []
    if config.audit.signing_key != "vault" or vault is None:
        raise AuditError(
            "a pinned fingerprint is compared with the Transit key: [audit] signing_key must be 'vault'"
        )
    for pub in transit_public_keys(vault, config.vault).values():
        if hmac.compare_digest(fingerprint(pub), want):
            return [pub]
    raise AuditError(
        f"the Transit key {transit_key_name(config.vault)} does not match the pinned fingerprint {want}: "
        "refusing to verify with it"
    )
