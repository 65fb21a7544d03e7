"""How Sentinel logs in to Vault, and keeps its token alive.

Token auth: the token comes from ``[vault] token_file``, else the ``VAULT_TOKEN``
environment variable, else the systemd credential ``$CREDENTIALS_DIRECTORY/vault-token``
(``LoadCredential=vault-token:...`` in the unit). AppRole auth: ``approle_role_id`` and the
secret id read from ``approle_secret_id_file`` (a systemd credential works well).

``TokenKeeper`` renews the token once ``renew_fraction`` of its TTL has passed and logs in
again (AppRole) when it can no longer be renewed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sentinel.errors import VaultAuthError, VaultError
from sentinel.files import readable_by_others, writable_by_others
from sentinel.redact import register_secret

if TYPE_CHECKING:
    from sentinel.vault.client import VaultClient
    from sentinel.vault.settings import VaultSettings


@dataclass
class TokenSource:
    """Where the current token came from (never the token itself)."""

    kind: str  # "file", "env", "credential", "approle"
    where: str

    def describe(self) -> str:
        return f"{self.kind} ({self.where})"


def _read_secret_file(path: Path, what: str) -> str:
    unsafe = writable_by_others(path) or readable_by_others(path)
    if unsafe:
        raise VaultAuthError(f"refusing the {what} file: {unsafe}")
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise VaultAuthError(
            f"cannot read {what} from {path}: {e.strerror or e.__class__.__name__}"
        ) from None
    if not value:
        raise VaultAuthError(f"{what} file {path} is empty")
    register_secret(value)
    return value


def find_token(settings: VaultSettings, env: Mapping[str, str]) -> tuple[str, TokenSource]:
    if settings.token_file is not None:
        return _read_secret_file(settings.token_file, "Vault token"), TokenSource(
            "file", str(settings.token_file)
        )
    if env.get("VAULT_TOKEN"):
        token = env["VAULT_TOKEN"].strip()
        register_secret(token)
        return token, TokenSource("env", "VAULT_TOKEN")
    cred_dir = env.get("CREDENTIALS_DIRECTORY")
    if cred_dir and (Path(cred_dir) / "vault-token").exists():
        path = Path(cred_dir) / "vault-token"
        return _read_secret_file(path, "Vault token"), TokenSource("credential", str(path))
    raise VaultAuthError(
        "no Vault token: set [vault] token_file, the VAULT_TOKEN environment variable, or the systemd "
        'credential vault-token (LoadCredential=vault-token:PATH), or use [vault] auth = "approle"'
    )


def approle_login(client: VaultClient, settings: VaultSettings) -> TokenSource:
    assert settings.approle_secret_id_file is not None  # checked by VaultSettings.validate
    secret_id = _read_secret_file(settings.approle_secret_id_file, "AppRole secret id")
    resp = client.request(
        "POST",
        f"auth/{settings.approle_mount}/login",
        json={"role_id": settings.approle_role_id, "secret_id": secret_id},
    )
    token = resp["auth"]["client_token"]
    client.set_token(token)
    return TokenSource("approle", f"auth/{settings.approle_mount}")


def login(client: VaultClient, settings: VaultSettings, env: Mapping[str, str] | None = None) -> TokenSource:
    """Give ``client`` its token per ``settings``; return where it came from."""
    env = os.environ if env is None else env
    if settings.auth == "approle":
        return approle_login(client, settings)
    token, source = find_token(settings, env)
    client.set_token(token)
    return source


class TokenKeeper:
    """Renews Sentinel's own token before it expires (call ``tick`` periodically)."""

    def __init__(self, client: VaultClient, settings: VaultSettings) -> None:
        self.client = client
        self.settings = settings
        self._now = time.monotonic
        self.next_renewal: float | None = None
        self.last_error: str | None = None
        self.ttl = 0

    def start(self) -> None:
        info = self.client.lookup_self()
        self.ttl = info.ttl
        self._schedule(info.ttl, info.renewable)

    def _schedule(self, ttl: int, renewable: bool) -> None:
        if ttl <= 0:
            self.next_renewal = None  # root or non-expiring token
        elif not renewable and self.settings.auth != "approle":
            self.next_renewal = None
        else:
            self.next_renewal = self._now() + ttl * self.settings.renew_fraction

    def tick(self) -> bool:
        """Renew (or log in again) if due; return True if the token changed or was renewed."""
        if self.next_renewal is None or self._now() < self.next_renewal:
            return False
        try:
            try:
                info = self.client.renew_self()
                self.ttl = info.ttl
                self._schedule(info.ttl, info.renewable)
                if self.settings.auth == "approle" and info.ttl < 60:
                    raise VaultAuthError("token near its maximum TTL")
            except VaultError:
                if self.settings.auth != "approle":
                    raise
                approle_login(self.client, self.settings)
                fresh = self.client.lookup_self()
                self.ttl = fresh.ttl
                self._schedule(fresh.ttl, fresh.renewable)
            self.last_error = None
            return True
        except VaultError as e:
            self.last_error = e.message
            self.next_renewal = self._now() + 30.0
            raise
