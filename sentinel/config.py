"""Sentinel's configuration: one TOML file, ``SENTINEL_*`` environment variables over it.

The file (default ``/etc/sentinel/sentinel.toml``; ``--config`` or ``SENTINEL_CONFIG``
elsewhere) has a ``[sentinel]`` table for general keys and one table per component
(``[vault]``, ``[api]``, ``[audit]``, ...). An environment variable overrides one key:
``SENTINEL_<SECTION>_<KEY>`` (``SENTINEL_VAULT_ADDR``) or, for the ``[sentinel]`` table,
``SENTINEL_<KEY>`` (``SENTINEL_STATE_DIR``); lists are comma-separated.

The result is one frozen ``Config``. Loading validates everything and raises
``ConfigError`` naming the key and what is allowed; the daemon keeps its old ``Config`` when
a reload fails.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sentinel.alerts.settings import AlertsSettings
from sentinel.creds.settings import RotationSettings
from sentinel.engine.settings import EngineSettings
from sentinel.errors import ConfigError
from sentinel.files import writable_by_others
from sentinel.net import default_hosts, parse_host, url_host
from sentinel.response.settings import ResponseSettings
from sentinel.settings import Duration, build_section, convert, section_fields
from sentinel.vault.settings import VaultSettings  # [vault], re-exported
from sentinel.watcher.settings import WatcherSettings

DEFAULT_PATH = Path("/etc/sentinel/sentinel.toml")
PACKAGE_ROOT = Path(__file__).resolve().parent
SHIPPED_RULES = PACKAGE_ROOT.parent / "rules"


@dataclass(frozen=True)
class GeneralSettings:
    """``[sentinel]``: where things are and how Sentinel logs."""

    state_dir: Path = Path("/var/lib/sentinel")
    inventory: Path = Path("/etc/sentinel/inventory.toml")
    rules_dirs: tuple[Path, ...] = ()
    shipped_rules: bool = True
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    organisation: str = "Sentinel"
    runbook_url: str = ""
    max_operator_reach: int = 20

    @property
    def database(self) -> Path:
        return self.state_dir / "sentinel.sqlite3"

    @property
    def all_rules_dirs(self) -> tuple[Path, ...]:
        shipped = (SHIPPED_RULES,) if self.shipped_rules and SHIPPED_RULES.is_dir() else ()
        return shipped + self.rules_dirs


@dataclass(frozen=True)
class ApiSettings:
    """``[api]``: the HTTP API other tools and responders call."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8470
    capability_cache: Duration = Duration(5.0)
    authz_grace: Duration = Duration(300.0)
    acl_prefix: str = "sentinel"
    max_body_bytes: int = 1 << 20
    """A larger request body is refused (413) while it is read, before authorization."""
    read_timeout: Duration = Duration(10.0)
    """A request's headers and body must arrive within this time of its first byte (or of the
    connection opening); else the connection is closed (slow or half-sent requests)."""
    idle_timeout: Duration = Duration(5.0)
    """A kept-alive connection with no new request is closed after this time."""
    max_connections: int = 256
    """Requests are answered 503 while this many connections are open."""
    max_header_bytes: int = 16384
    """Request line and headers larger than this are refused (400)."""
    allowed_hosts: tuple[str, ...] = ()
    """Host header names (``name`` any port, ``name:port`` that port) the API and console answer;
    empty: ``host``, ``localhost``, ``127.0.0.1``, ``[::1]``. ``"*"``: any (unsafe: DNS rebinding)."""
    public_url: str = ""
    """Where people reach the console through a TLS-terminating proxy: its host is allowed and,
    when it is ``https://``, session cookies are ``Secure`` whatever scheme reaches the daemon."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks of proxies whose ``X-Forwarded-For``/``-Proto`` are believed (the
    client address rules see, the scheme); empty: nobody's, so a local process cannot forge them."""
    invalid_token_cache: Duration = Duration(60.0)
    """A token Vault said is invalid is refused without asking Vault again for this long (by its
    hash; never a token Vault could not be asked about); ``0``: off."""
    failed_auth_burst: int = 20
    """Failed authentications one client address may have in a row before its requests with a
    token not known valid are answered 429 ``too_many_auth_failures``, before Vault; ``0``: off."""
    failed_auth_rate: float = 2.0
    """Failed authentications per second an address regains after its burst."""

    @property
    def hosts(self) -> tuple[str, ...]:
        """The Host names requests may carry: the allow-list (or its default) and the public URL's."""
        public = url_host(self.public_url) if self.public_url else None
        return (*(self.allowed_hosts or default_hosts(self.host)), *((public,) if public else ()))

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.lower().startswith("https://")

    def validate(self, prefix: str) -> None:
        for i, entry in enumerate(self.allowed_hosts):
            if entry != "*" and parse_host(entry) is None:
                raise ConfigError(
                    f"config key '{prefix}.allowed_hosts[{i}]' must be a host name or IP address "
                    "(IPv6 in brackets), optionally with ':port', or '*'"
                )
        for i, entry in enumerate(self.trusted_proxies):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(
                    f"config key '{prefix}.trusted_proxies[{i}]' must be an IP address or network (10.0.0.0/8)"
                ) from None
        if self.public_url and url_host(self.public_url) is None:
            raise ConfigError(
                f"config key '{prefix}.public_url' must be an http:// or https:// URL with a host"
            )
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"config key '{prefix}.port' must be between 0 and 65535")
        for key, low in (("max_body_bytes", 1024), ("max_connections", 2), ("max_header_bytes", 1024)):
            if getattr(self, key) < low:
                raise ConfigError(f"config key '{prefix}.{key}' must be at least {low}")
        for key in ("read_timeout", "idle_timeout"):
            if not 1 <= getattr(self, key) <= 3600:
                raise ConfigError(f"config key '{prefix}.{key}' must be between 1s and 1h")
        if not 0 <= self.invalid_token_cache <= 3600:
            raise ConfigError(f"config key '{prefix}.invalid_token_cache' must be between 0 (off) and 1h")
        if not 0 <= self.failed_auth_burst <= 100_000:
            raise ConfigError(f"config key '{prefix}.failed_auth_burst' must be between 0 (off) and 100000")
        if not 0.01 <= self.failed_auth_rate <= 10_000:
            raise ConfigError(
                f"config key '{prefix}.failed_auth_rate' must be between 0.01 and 10000 (per second)"
            )


@dataclass(frozen=True)
class AuditSettings:
    """``[audit]``: the signed, hash-chained audit trail.

    ``signing_key``: ``"vault"`` signs with the Transit key ``<policy_prefix>-audit`` (Ed25519,
    never exportable; the daemon may only ask Vault to sign) and checkpoints the chain head
    into Vault, create-only. ``"credential"`` (``$CREDENTIALS_DIRECTORY/audit-key``) and
    ``"file"`` (``key_file``, PEM PKCS#8) are local-only modes, weaker: whoever reads the key
    file can re-sign, and checkpoints are a local file.

    ``audit verify`` checks signatures against a key the administrator pins: the PEM file
    ``public_key_file``, or the Transit key's public part compared with
    ``public_key_fingerprint`` (``sha256:<hex>``, printed by ``sentinel audit key``).
    ``checkpoint_interval``: how long entries may wait before they are signed and checkpointed.
    """

    signing_key: Literal["vault", "credential", "file"] = "vault"
    key_file: Path | None = None
    public_key_file: Path | None = None
    public_key_fingerprint: str = ""
    checkpoint_interval: Duration = Duration(5.0)

    def validate(self, prefix: str) -> None:
        if self.signing_key == "file" and self.key_file is None:
            raise ConfigError(f"config key '{prefix}.signing_key' is 'file', which needs '{prefix}.key_file'")
        if not 0.1 <= self.checkpoint_interval <= 10:
            raise ConfigError(f"config key '{prefix}.checkpoint_interval' must be between 0.1s and 10s")
        fp = self.public_key_fingerprint
        if fp and not (fp.startswith("sha256:") and len(fp) == 71):
            raise ConfigError(
                f"config key '{prefix}.public_key_fingerprint' must be 'sha256:' and 64 hex digits"
            )


@dataclass(frozen=True)
class Config:
    """Everything Sentinel is configured with; frozen once loaded."""

    sentinel: GeneralSettings = field(default_factory=GeneralSettings)
    vault: VaultSettings = field(default_factory=VaultSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    alerts: AlertsSettings = field(default_factory=AlertsSettings)
    response: ResponseSettings = field(default_factory=ResponseSettings)
    watcher: WatcherSettings = field(default_factory=WatcherSettings)
    rotation: RotationSettings = field(default_factory=RotationSettings)
    source: str = "<defaults>"

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


def _sections() -> dict[str, type[Any]]:
    return {f.name: f.type for f in dataclasses.fields(Config) if f.name != "source"}  # type: ignore[misc]


def _section_types() -> dict[str, type[Any]]:
    hints = section_fields(Config)
    return {name: hints[name] for name in _sections()}


def apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """Overlay ``SENTINEL_*`` variables onto the raw TOML document (a new dict)."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    sections = _section_types()
    for name, value in env.items():
        if not name.startswith("SENTINEL_") or name in ("SENTINEL_CONFIG", "SENTINEL_DEBUG"):
            continue
        rest = name[len("SENTINEL_") :].lower()
        target = None
        for sec, cls in sections.items():
            if sec != "sentinel" and rest.startswith(sec + "_"):
                key = rest[len(sec) + 1 :]
                hints = section_fields(cls)
                if key in hints:
                    target = (sec, key, hints[key])
                    break
        if target is None:
            hints = section_fields(sections["sentinel"])
            if rest in hints:
                target = ("sentinel", rest, hints[rest])
        if target is None:
            raise ConfigError(
                f"environment variable {name} names no config key; use SENTINEL_<SECTION>_<KEY>, "
                "e.g. SENTINEL_VAULT_ADDR or SENTINEL_STATE_DIR"
            )
        sec, key, tp = target
        section = out.setdefault(sec, {})
        if not isinstance(section, dict):
            raise ConfigError(f"config key {sec!r} must be a table")
        section[key] = _env_value(value, tp, f"{sec}.{key} (from {name})")
    return out


def _env_value(value: str, tp: Any, key: str) -> Any:
    # Convert now so the error names the variable; build_section accepts the converted value.
    converted = convert(value, tp, key, from_env=True)
    if isinstance(converted, Path):
        return str(converted)
    if isinstance(converted, tuple):
        return [str(v) if isinstance(v, Path) else v for v in converted]
    return converted


def parse_config(
    raw: Mapping[str, Any], source: str = "<memory>", env: Mapping[str, str] | None = None
) -> Config:
    """Validate a parsed TOML document (plus environment overrides) into a ``Config``."""
    doc = apply_env(dict(raw), env if env is not None else {})
    sections = _section_types()
    unknown = sorted(set(doc) - set(sections))
    if unknown:
        raise ConfigError(
            f"{source}: config section {unknown[0]!r} is unknown; allowed: " + ", ".join(sorted(sections))
        )
    built: dict[str, Any] = {}
    for name, cls in sections.items():
        table = doc.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: config key {name!r} must be a table ([{name}])")
        try:
            built[name] = build_section(cls, table, name)
        except ConfigError as e:
            raise ConfigError(f"{source}: {e.message}") from None
    return Config(source=source, **built)


def config_path(explicit: str | Path | None, env: Mapping[str, str]) -> tuple[Path, bool]:
    """The config file to read and whether it was asked for (then it must exist)."""
    if explicit:
        return Path(explicit), True
    if env.get("SENTINEL_CONFIG"):
        return Path(env["SENTINEL_CONFIG"]), True
    return DEFAULT_PATH, False


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load the config file (missing default file: built-in defaults) with env overrides."""
    env = os.environ if env is None else env
    p, required = config_path(path, env)
    raw: dict[str, Any] = {}
    if p.exists():
        unsafe = writable_by_others(p)
        if unsafe:
            raise ConfigError(f"{p}: refusing a config file others could change: {unsafe}")
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p}: not valid TOML: {e}") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{p}: cannot read config: {e}") from None
    elif required:
        raise ConfigError(f"{p}: config file not found")
    cfg = parse_config(raw, source=str(p) if p.exists() else "<defaults>", env=env)
    return _resolve_relative(cfg, p.parent if p.exists() else Path.cwd())


def _resolve_relative(cfg: Config, base: Path) -> Config:
    """Relative paths in the config file are relative to the file's directory."""

    def fix(p: Path | None) -> Path | None:
        return None if p is None or p.is_absolute() else (base / p)

    g = cfg.sentinel
    general = dataclasses.replace(
        g,
        state_dir=fix(g.state_dir) or g.state_dir,
        inventory=fix(g.inventory) or g.inventory,
        rules_dirs=tuple(fix(d) or d for d in g.rules_dirs),
    )
    v = cfg.vault
    vault = dataclasses.replace(
        v,
        ca_cert=fix(v.ca_cert) or v.ca_cert,
        token_file=fix(v.token_file) or v.token_file,
        approle_secret_id_file=fix(v.approle_secret_id_file) or v.approle_secret_id_file,
    )
    a = cfg.audit
    audit = dataclasses.replace(
        a,
        key_file=fix(a.key_file) or a.key_file,
        public_key_file=fix(a.public_key_file) or a.public_key_file,
    )
    receivers = {
        name: dataclasses.replace(
            r,
            url_file=(fix(r.url_file) or r.url_file) if "$" not in str(r.url_file) else r.url_file,
            token_file=(fix(r.token_file) or r.token_file) if "$" not in str(r.token_file) else r.token_file,
        )
        for name, r in cfg.alerts.receivers.items()
    }
    alerts = dataclasses.replace(cfg.alerts, receivers=receivers)
    return cfg.replace(sentinel=general, vault=vault, audit=audit, alerts=alerts)
