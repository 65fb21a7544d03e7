"""``[vault]``: how Sentinel reaches Vault. It lives beside the Vault client, which needs
nothing else of the configuration; ``sentinel.config`` re-exports it as part of ``Config``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sentinel.errors import ConfigError
from sentinel.net import is_loopback_url
from sentinel.settings import Duration


@dataclass(frozen=True)
class VaultSettings:
    """``[vault]``: how Sentinel reaches Vault (or OpenBao) and logs in.

    The token is never written in this file: it comes from ``token_file``, the
    ``VAULT_TOKEN`` environment variable, or the systemd credential
    ``$CREDENTIALS_DIRECTORY/vault-token``, in that order; or Sentinel logs in with AppRole.
    """

    addr: str = "http://127.0.0.1:8200"
    allow_plain_http: bool = False
    """Send tokens in clear to an ``http://`` address that is not this host (a lab only)."""
    ca_cert: Path | None = None
    namespace: str = ""
    kv_mount: str = "sentinel"
    policy_prefix: str = "sentinel"
    password_policy: str = "sentinel-platform"
    transit_mount: str = "transit"
    auth: Literal["token", "approle"] = "token"
    token_file: Path | None = None
    approle_mount: str = "approle"
    approle_role_id: str = ""
    approle_secret_id_file: Path | None = None
    timeout: Duration = Duration(10.0)
    renew_fraction: float = 0.5
    health_interval: Duration = Duration(3.0)
    health_timeout: Duration = Duration(2.0)
    audit_log: Path | None = None
    """Vault's file audit log, tailed for credential-access events (none: not watched)."""
    audit_device: str = "file"
    """The path of the audit device writing ``audit_log`` (``vault audit enable file`` names it
    ``file``): the daemon asks it for the HMAC of its own token accessor, to know its own lines."""

    def validate(self, prefix: str) -> None:
        if not self.addr.startswith(("http://", "https://")):
            raise ConfigError(
                f"config key '{prefix}.addr': {self.addr!r} must start with http:// or https://"
            )
        # Every request carries a token (the daemon's, or a person's from the CLI): in clear
        # over the network anyone on the path could take it.
        if self.addr.startswith("http://") and not is_loopback_url(self.addr) and not self.allow_plain_http:
            raise ConfigError(
                f"config key '{prefix}.addr': {self.addr!r} would send Vault tokens in clear to "
                f"another host; use https://, or set '{prefix}.allow_plain_http = true' (a lab only)"
            )
        if self.auth == "approle" and (not self.approle_role_id or self.approle_secret_id_file is None):
            raise ConfigError(
                f"config key '{prefix}.auth' is 'approle', which needs '{prefix}.approle_role_id' "
                f"and '{prefix}.approle_secret_id_file'"
            )
        if not 0.1 <= self.renew_fraction <= 0.9:
            raise ConfigError(f"config key '{prefix}.renew_fraction' must be between 0.1 and 0.9")
        if not self.kv_mount.strip("/"):
            raise ConfigError(f"config key '{prefix}.kv_mount' must not be empty")
        if not 0.2 <= float(self.health_interval) <= 60:
            raise ConfigError(f"config key '{prefix}.health_interval' must be between 0.2s and 60s")
        if not 0.1 <= float(self.health_timeout) <= float(self.health_interval):
            raise ConfigError(
                f"config key '{prefix}.health_timeout' must be between 0.1s and '{prefix}.health_interval'"
            )
