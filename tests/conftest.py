"""Shared fixtures: a real OpenBao dev server for every test that touches Vault."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from sentinel.audit import AuditTrail
from sentinel.audit_keys import audit_keystore
from sentinel.config import Config, VaultSettings
from sentinel.daemon import App
from sentinel.errors import VaultNotFound
from sentinel.files import write_private
from sentinel.inventory import load_inventory
from sentinel.logs import QUIET_LIBRARIES
from sentinel.platforms.health import HEALTH
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.redact import REDACTOR, register_secret
from sentinel.sdnotify import Notifier
from sentinel.store import Store
from sentinel.vault.bootstrap import bootstrap, issue_daemon_token
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import AUDIT_DEVICE, DevCA, DevVault


@pytest.fixture(autouse=True)
def fresh_platform_health() -> Iterator[None]:
    """Each test starts with the process's platform record empty: a Retry-After one test met
    (the HTTP client holds that account's calls back until it ends) never reaches the next."""
    HEALTH.reset()
    yield
    HEALTH.reset()


@pytest.fixture(scope="session")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevVault]:
    """One in-memory OpenBao dev server for the session (root token in ``bao.root_token``),
    over plain HTTP at ``bao.addr`` and over TLS at ``bao.tls_addr`` with a certificate from a
    CA this session makes (``bao.ca_path``): production Vault speaks TLS, and the Vault
    client, rotation and API suites speak it here (see ``tls_settings``)."""
    log = tmp_path_factory.mktemp("bao") / "bao.log"
    server = DevVault(log_path=log, tls=DevCA.create("Sentinel test CA")).start()
    try:
        yield server
    finally:
        server.stop()


def tls_settings(bao: DevVault, **names: str) -> VaultSettings:
    """Settings that reach the session's OpenBao over TLS, trusting the session's CA."""
    return VaultSettings(addr=bao.tls_addr, ca_cert=bao.ca_path, **names)


def admin_client(bao: DevVault, settings: VaultSettings) -> VaultClient:
    """The root token's client for ``settings`` (its address, CA and KV mount)."""
    ca = str(settings.ca_cert) if settings.ca_cert else None
    return VaultClient(settings.addr, bao.root_token, kv_mount=settings.kv_mount, ca_cert=ca)


def mount_settings(bao: DevVault, letter: str = "c", tls: bool = False, *more: str) -> VaultSettings:
    """Settings naming a KV mount, policy prefix and password policy of their own (``more``
    names further mounts, ``approle_mount`` say, each its own path) that no other test uses;
    with ``tls``, Vault is reached over TLS."""
    name = f"{letter}-{secrets.token_hex(4)}"
    names = dict.fromkeys(("kv_mount", "policy_prefix", "password_policy"), name)
    names |= {field: f"{name}-{field.removesuffix('_mount')}" for field in more}
    if bao.audit_log is not None:  # the daemon learns its own token's audit HMAC from this device
        names["audit_device"] = AUDIT_DEVICE
    return tls_settings(bao, **names) if tls else VaultSettings(addr=bao.addr, **names)


def bootstrap_daemon(
    admin: VaultClient, settings: VaultSettings, ttl: str = "1h"
) -> tuple[VaultClient, str, str]:
    """Sentinel bootstrapped as an administrator does it (``sentinel vault bootstrap``), and
    the daemon's least-privilege login: (its client, its token, the token's accessor)."""
    bootstrap(admin, settings)
    token, accessor = issue_daemon_token(admin, settings, ttl=ttl)
    return admin.with_token(token), token, accessor


def new_mount(
    bao: DevVault, letter: str = "c", tls: bool = False, ttl: str = "1h"
) -> tuple[VaultSettings, VaultClient, VaultClient, str]:
    """A fresh KV mount and policy prefix, bootstrapped as an administrator does it:
    (settings, the administrator's client, the daemon's client, the daemon's token);
    with ``tls``, reached over TLS."""
    settings = mount_settings(bao, letter, tls)
    admin = admin_client(bao, settings)
    daemon, token, _ = bootstrap_daemon(admin, settings, ttl)
    return settings, admin, daemon, token


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """The sandbox platform over real HTTP, one for the session: each test makes its own
    accounts (handles with a random tag), so tests never meet there."""
    with SandboxServer() as server:
        yield server


def sandbox_inventory(accounts: Mapping[str, Mapping[str, Any]]) -> str:
    """``inventory.toml`` for sandbox accounts, ``id -> fields`` (``handle`` at least): each is
    gated, in UTC and owned by ``op-ann`` unless its fields say otherwise."""
    blocks = []
    for aid, fields in accounts.items():
        row = {
            "id": aid,
            "platform": "sandbox",
            "timezone": "UTC",
            "publishing": "gated",
            "owners": ["op-ann"],
        }
        # TOML writes strings, booleans and lists of strings as JSON does.
        blocks.append(
            "[[accounts]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in (row | fields).items())
        )
    return "\n".join(blocks)


def seed_sandbox(
    sandbox_url: str, vault: VaultClient, handles: Mapping[str, str], identifier: bool = False
) -> dict[str, str]:
    """Each account ``id -> handle`` made on the sandbox platform with a fresh password, which
    Vault then holds as the account's password (with the platform's address as ``service``
    and, with ``identifier``, the handle to log in with); returns ``id -> password``."""
    passwords = {}
    for aid, handle in handles.items():
        pw = passwords[aid] = "pw-" + secrets.token_hex(8)
        httpx.post(f"{sandbox_url}/api/accounts", json={"handle": handle, "password": pw}).raise_for_status()
        data = {"value": pw, "service": sandbox_url} | ({"identifier": handle} if identifier else {})
        vault.kv_write(f"accounts/{aid}/password", data, cas=0)
    return passwords


@pytest.fixture(scope="session")
def audited_bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevVault]:
    """A second dev server that writes a file audit log (``audited_bao.audit_log``), for the
    tests of the audit-log tailer, which rotate and truncate it."""
    where = tmp_path_factory.mktemp("audited-bao")
    server = DevVault(log_path=where / "bao.log", audit_log=where / "audit" / "audit.log").start()
    try:
        yield server
    finally:
        server.stop()


DEMO_INVENTORY = Path(__file__).resolve().parents[1] / "sentinel" / "demo" / "inventory.toml"


@dataclass
class Deployment:
    """A config directory like /etc/sentinel, against the session's OpenBao."""

    dir: Path
    vault: DevVault
    settings: VaultSettings
    token: str
    admin: VaultClient

    @property
    def config(self) -> Path:
        return self.dir / "sentinel.toml"

    def write_config(self, extra: str = "", addr: str | None = None) -> None:
        s = self.settings
        self.config.write_text(
            f'[sentinel]\nstate_dir = "state"\ninventory = "inventory.toml"\nlog_format = "json"\n'
            f'[vault]\naddr = "{addr or s.addr}"\nkv_mount = "{s.kv_mount}"\npolicy_prefix = "{s.policy_prefix}"\n'
            f'password_policy = "{s.password_policy}"\ntoken_file = "vault-token"\n'
            f"[api]\nenabled = false\n{extra}"
        )

    def cli(self, *args: str) -> list[str]:
        return ["--config", str(self.config), *args]


@pytest.fixture
def deployment(bao: DevVault, tmp_path: Path) -> Iterator[Deployment]:
    settings, admin, _, token = new_mount(bao, "d")
    write_private(tmp_path / "vault-token", token)
    (tmp_path / "inventory.toml").write_text(DEMO_INVENTORY.read_text())
    d = Deployment(dir=tmp_path, vault=bao, settings=settings, token=token, admin=admin)
    d.write_config()
    yield d
    admin.close()


def running_app(config: Config, vault: VaultClient) -> App:
    """The daemon's shared ``App`` for in-process service tests: state store, Vault, audit trail."""
    store = Store(config.sentinel.database)
    app = App(
        config=config,
        inventory=load_inventory(config.sentinel.inventory),
        store=store,
        notifier=Notifier({}),
        vault=vault,
        vault_ok=True,
    )
    app.audit = AuditTrail(store, audit_keystore(config, vault), eager=False)
    return app


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Each test leaves logging as it found it: a CLI command, the daemon or a test configures
    structlog and the root logger for the whole process (``sentinel.logs.configure``), which
    must not decide what a later test's logs look like, or whether they are written at all."""
    config = structlog.get_config() if structlog.is_configured() else None
    if config is not None:
        config["processors"] = list(config["processors"])
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_sentinel", False)]
    loggers = [root, *map(logging.getLogger, QUIET_LIBRARIES)]
    levels = [lg.level for lg in loggers]
    yield
    if config is None:
        structlog.reset_defaults()
    else:
        structlog.configure(**config)
    for h in root.handlers[:]:
        if getattr(h, "_sentinel", False):
            root.removeHandler(h)
    for h in ours:
        root.addHandler(h)
    for lg, level in zip(loggers, levels, strict=True):
        lg.setLevel(level)


@pytest.fixture(autouse=True)
def forget_secrets() -> Iterator[None]:
    """Secrets a test registers are forgotten after it (the redaction registry is the
    process's): a seed's issuer, say, stored as a credential field, would otherwise be
    redacted from every later test's output."""
    with REDACTOR.scope():
        yield


PERSON_ROLE = "sentinel-test-person"


def auth_accessor(admin: VaultClient, mount: str) -> str:
    """The accessor of the auth method mounted at ``mount`` (``token``, ``userpass-x``, ...)."""
    resp = admin.request("GET", "sys/auth")
    return str((resp.get("data") or resp)[f"{mount.strip('/')}/"]["accessor"])


def person_entity(admin: VaultClient, name: str) -> str:
    """The id of the Vault identity entity ``name`` (created on first use)."""
    try:
        return str(admin.request("GET", f"identity/entity/name/{name}")["data"]["id"])
    except VaultNotFound:
        return str(admin.request("POST", "identity/entity", json={"name": name})["data"]["id"])


def person_token(admin: VaultClient, name: str, policies: Sequence[str], ttl: str = "1h") -> tuple[str, str]:
    """``(token, accessor)`` of a login of the person ``name``, as an auth method gives one: a
    token of their Vault identity entity (through an alias on the token auth method)."""
    eid = person_entity(admin, name)
    token_mount = auth_accessor(admin, "token")
    found = admin.request(
        "POST", "identity/lookup/entity", json={"alias_name": name, "alias_mount_accessor": token_mount}
    )
    if not found:
        admin.request(
            "POST",
            "identity/entity-alias",
            json={"name": name, "canonical_id": eid, "mount_accessor": token_mount},
        )
    admin.request(
        "POST", f"auth/token/roles/{PERSON_ROLE}", json={"allowed_entity_aliases": ["*"], "orphan": True}
    )
    auth = admin.request(
        "POST",
        f"auth/token/create/{PERSON_ROLE}",
        json={"entity_alias": name, "policies": list(policies) or ["default"], "ttl": ttl},
    )["auth"]
    assert auth["entity_id"] == eid
    register_secret(auth["client_token"])
    return str(auth["client_token"]), str(auth["accessor"])


def capability_policy(
    admin: VaultClient, capability: str, accounts: Sequence[str] = (), prefix: str = "sentinel"
) -> str:
    """The name of a Vault policy granting Sentinel's ``capability`` (on each of ``accounts``
    for a per-account one), written under a fresh name, for a person's token."""
    from sentinel.capabilities import capability_path

    paths = [capability_path(prefix, capability, a) for a in accounts] or [
        capability_path(prefix, capability)
    ]
    name = f"cap-{capability}-{secrets.token_hex(4)}"
    admin.policy_write(name, "".join(f'path "{p}" {{ capabilities = ["update"] }}\n' for p in paths))
    return name
