"""Chaos tests: the real daemon process against its own OpenBao, which the test harms.

Each chaos module gets its own dev server (``chaos_vault``): the tests kill, pause,
restart or empty it, which the session's shared server must never suffer. The daemon runs
as ``sentinel run`` in a child process with the API on a free port; the test watches it
the way an operator would: ``/readyz``, ``/metrics``, ``sentinel status`` (the heartbeat in
the state store) and the alert outbox.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentinel.config import VaultSettings
from sentinel.files import write_private
from sentinel.net import free_port
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.store import Store
from sentinel.vault.client import VaultClient
from sentinel.vault.devproxy import TcpProxy
from sentinel.vault.devserver import DevVault
from tests.conftest import DEMO_INVENTORY, admin_client, bootstrap_daemon, sandbox_inventory, seed_sandbox
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def chaos_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevVault]:
    """An OpenBao dev server for this module alone (the tests harm it)."""
    server = DevVault(log_path=tmp_path_factory.mktemp("chaos-bao") / "bao.log").start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGCONT)
        server.stop()


@dataclass
class ChaosDaemon:
    """``sentinel run`` in a child process, and what an operator can see of it."""

    dir: Path
    vault: DevVault
    settings: VaultSettings
    admin: VaultClient
    token: str
    accessor: str
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.dir / "sentinel.toml"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.dir / "daemon.log"

    def cli(self, *args: str) -> list[str]:
        return ["--config", str(self.config), *args]

    def start(self) -> ChaosDaemon:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTINEL_", "VAULT_"))}
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sentinel", *self.cli("run")],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        wait_until("the daemon's API", lambda: self.get("/healthz") is not None, timeout=60)
        return self

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def get(self, path: str, timeout: float = 5.0) -> httpx.Response | None:
        try:
            return httpx.get(self.api + path, timeout=timeout)
        except httpx.HTTPError:
            return None

    def ready(self) -> dict[str, Any] | None:
        r = self.get("/readyz")
        return None if r is None else dict(r.json())

    def metric(self, name: str) -> float | None:
        r = self.get("/metrics")
        if r is None:
            return None
        for line in r.text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def status(self) -> dict[str, Any]:
        with Store(self.dir / "state" / "sentinel.sqlite3") as store:
            return dict(json.loads(store.get("daemon.status") or "{}"))

    def vault_state(self) -> str:
        return str(self.status().get("vault", {}).get("state", ""))

    def alerts(self, dedup_key: str) -> list[dict[str, Any]]:
        with Store(self.dir / "state" / "sentinel.sqlite3") as store:
            rows = store.query(
                "SELECT kind, status, body, resolved_at FROM alerts WHERE dedup_key = ? ORDER BY seq",
                (dedup_key,),
            )
        return [
            {"kind": r["kind"], "status": r["status"], "resolved": r["resolved_at"] is not None}
            | {"summary": json.loads(r["body"]).get("summary", "")}
            for r in rows
        ]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def check(self, token: str, account: str, timeout: float = 10.0) -> httpx.Response:
        """A gate check of a harmless text for ``account`` by ``token`` (a client giving up raises)."""
        return httpx.post(
            self.api + "/v1/check",
            json={"account": account, "text": "Our store opens at 9"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )


def publishers(tokens: dict[str, str], *names: str) -> Callable[[VaultClient, str], None]:
    """A ``prepare`` for ``daemon_factory``: a token in ``tokens`` per name, allowed to publish anywhere."""

    def prepare(admin: VaultClient, _daemon_token: str) -> None:
        admin.policy_write("publisher", 'path "sentinel/accounts/+/publish" { capabilities = ["update"] }')
        for name in names:
            tokens[name], _accessor = admin.create_token(["publisher"], ttl="1h")

    return prepare


@pytest.fixture
def daemon_factory(chaos_vault: DevVault, tmp_path: Path) -> Iterator[Callable[..., ChaosDaemon]]:
    """Bootstrap Sentinel in ``chaos_vault`` and start the daemon (stopped at the end)."""
    started: list[ChaosDaemon] = []

    def make(
        extra: str = "",
        inventory: str | None = None,
        addr: str | None = None,
        prepare: Callable[[VaultClient, str], None] | None = None,
        vault_extra: str = "",
        watcher: bool = False,
    ) -> ChaosDaemon:
        settings = VaultSettings(addr=chaos_vault.addr)  # the daemon's defaults: this server is the module's
        admin = admin_client(chaos_vault, settings)
        _, token, accessor = bootstrap_daemon(admin, settings)
        write_private(tmp_path / "vault-token", token)
        if prepare is not None:
            prepare(admin, token)
        (tmp_path / "inventory.toml").write_text(inventory or DEMO_INVENTORY.read_text())
        port = free_port()
        (tmp_path / "sentinel.toml").write_text(
            '[sentinel]\nstate_dir = "state"\ninventory = "inventory.toml"\nlog_format = "json"\n'
            f'[vault]\naddr = "{addr or chaos_vault.addr}"\ntoken_file = "vault-token"\n{vault_extra}'
            f"[api]\nport = {port}\n[watcher]\nenabled = {str(watcher).lower()}\n{extra}"
        )
        d = ChaosDaemon(tmp_path, chaos_vault, settings, admin, token, accessor, port)
        started.append(d)
        return d.start()

    yield make
    for d in started:
        d.stop()
        d.admin.close()


ACCOUNTS = ("shop-x", "shop-y", "help-x")


@pytest.fixture
def proxy(chaos_vault: DevVault) -> Iterator[TcpProxy]:
    with TcpProxy(chaos_vault.port) as p:
        yield p


def sandbox_world(
    sandbox: SandboxServer, people: dict[str, str], tag: str = ""
) -> tuple[str, Callable[[VaultClient, str], None]]:
    """Accounts ``ACCOUNTS`` on the sandbox as ``<id>-<tag>`` with their passwords in Vault,
    and publisher tokens ``op-pub`` / ``op-late`` in ``people`` (with their accessors)."""
    tag = tag or secrets.token_hex(3)
    handles = {a: f"{a}-{tag}" for a in ACCOUNTS}
    inventory = sandbox_inventory({a: {"handle": h, "tags": [a.split("-")[0]]} for a, h in handles.items()})

    def prepare(admin: VaultClient, token: str) -> None:
        daemon = admin.with_token(token)
        seed_sandbox(sandbox.url, daemon, handles)
        daemon.close()
        admin.policy_write("publisher", 'path "sentinel/accounts/+/publish" { capabilities = ["update"] }')
        for name in ("op-pub", "op-late"):
            people[name], people[f"{name}:accessor"] = admin.create_token(["publisher"], ttl="1h")

    return inventory, prepare
