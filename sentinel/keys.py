"""Where the audit signing key comes from, per ``[audit] signing_key``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sentinel.audit import FileKeyStore, KeyStore, VaultKeyStore
from sentinel.config import Config
from sentinel.errors import AuditError
from sentinel.vault.client import VaultClient


def audit_keystore(
    config: Config, vault: VaultClient | None, env: Mapping[str, str] | None = None
) -> KeyStore:
    env = os.environ if env is None else env
    anchor = config.sentinel.state_dir / "audit-anchor.json"
    mode = config.audit.signing_key
    if mode == "vault":
        if vault is None:
            raise AuditError("[audit] signing_key = 'vault' but Vault is not configured")
        return VaultKeyStore(vault)
    if mode == "credential":
        cred = env.get("CREDENTIALS_DIRECTORY")
        if not cred:
            raise AuditError(
                "[audit] signing_key = 'credential' needs the systemd credential audit-key "
                "(LoadCredential=audit-key:PATH); $CREDENTIALS_DIRECTORY is not set"
            )
        return FileKeyStore(Path(cred) / "audit-key", anchor)
    assert config.audit.key_file is not None
    return FileKeyStore(config.audit.key_file, anchor, create=True)
