"""``sentinel demo up`` (what ``make run`` calls): the whole product on one machine.

Starts an in-memory OpenBao dev server on 127.0.0.1, bootstraps it exactly as an
administrator would (``sentinel vault bootstrap``), gives the daemon a token that carries
only Sentinel's own policy, stores demo credentials for a dozen accounts, writes a config
under ``.run/`` and runs the daemon in the foreground with readable console logs. Ctrl-C
stops the daemon and everything it started; nothing is left running.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyotp

from sentinel.audit import public_pem
from sentinel.audit_keys import transit_public_keys
from sentinel.config import Config, load_config
from sentinel.daemon import Daemon
from sentinel.demo.inbox import Inbox, new_secret
from sentinel.errors import SentinelError, VaultNotFound
from sentinel.files import private_dir, private_file, write_private
from sentinel.inventory import Inventory, load_inventory
from sentinel.logs import configure, get_logger
from sentinel.net import free_port
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.vault.bootstrap import bootstrap, issue_daemon_token
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import AUDIT_DEVICE, DevVault
from sentinel.vault.layout import credential_path

DEMO_INVENTORY = Path(__file__).with_name("inventory.toml")
AUDIT_LOG = "openbao-audit.log"
"""The dev server's file audit device writes here; the daemon tails it (``[vault] audit_log``)."""
OPERATOR = "op-mallory"
"""The demo's operator: a userpass login whose role reads every account's credentials."""
log = get_logger("sentinel.demo")


@dataclass
class DemoEnvironment:
    """Everything ``demo up`` started, so that it can all be stopped."""

    workdir: Path
    vault: DevVault
    config_path: Path
    api_port: int
    stoppers: list[Callable[[], None]] = field(default_factory=list)
    sandbox_url: str = ""

    def stop(self) -> None:
        for stop in reversed(self.stoppers):
            try:
                stop()
            except Exception as e:  # keep stopping the rest
                print(f"demo: while stopping: {e.__class__.__name__}: {e}", file=sys.stderr)
        self.vault.stop()


def write_config(workdir: Path, vault_addr: str, api_port: int, inbox_url: str, extra: str = "") -> Path:
    path = workdir / "sentinel.toml"
    write_private(
        path,
        textwrap.dedent(
            f"""\
            # Written by `sentinel demo up`: a local demo, not a deployment.
            [sentinel]
            state_dir = "state"
            inventory = "inventory.toml"
            log_format = "console"
            organisation = "Example Corp (demo)"

            [vault]
            addr = "{vault_addr}"
            token_file = "vault-token"
            audit_log = "{workdir / AUDIT_LOG}"
            audit_device = "{AUDIT_DEVICE}"

            [api]
            host = "127.0.0.1"
            port = {api_port}

            [audit]
            signing_key = "vault"
            public_key_file = "{workdir / "audit-public.pem"}"

            [watcher]
            intervals = {{ sandbox = 3 }}

            [alerts]
            group_wait = "2s"

            [alerts.receivers.soc]
            type = "webhook"
            url = "{inbox_url}"
            token_file = "{workdir / "inbox-secret"}"
            """
        )
        + extra,
    )
    return path


def seed_credentials(
    vault: VaultClient,
    inventory: Inventory,
    password_policy: str,
    extra: Mapping[str, Mapping[str, str]] | None = None,
) -> int:
    """Store a demo credential (and TOTP seed where listed) for every account.

    ``extra`` adds fields (where the account lives, what it signs in as) to the data of
    every credential of an account, in its first version.
    """
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    count = 0
    for account in inventory.active:
        fields = dict((extra or {}).get(account.id, {}))
        for spec in account.credentials:
            path = credential_path(account.id, spec.key)
            if spec.kind == "totp_seed":
                data: dict[str, Any] = {"seed": pyotp.random_base32()}
            else:
                data = {"value": vault.generate_password(password_policy), **fields}
            version = vault.kv_write(path, data, cas=0)
            vault.kv_patch_metadata(
                path,
                {
                    "kind": spec.kind,
                    "platform": account.platform,
                    "created": now,
                    "rotated": now,
                    "rotation_period": str(int(spec.rotation_seconds or 0)),
                    "changed_by": "demo-seed",
                    "state": "current",
                    "current_version": str(version),
                },
            )
            count += 1
    return count


def seed_sandbox(vault: VaultClient, inventory: Inventory, sandbox_url: str) -> int:
    """Open each sandbox account with the password Vault holds for it."""
    count = 0
    with httpx.Client(base_url=sandbox_url, timeout=10) as http:
        for account in inventory.active:
            if account.platform != "sandbox":
                continue
            try:
                password = str(vault.kv_read(credential_path(account.id, "password")).data["value"])
            except VaultNotFound:
                continue
            http.post("/api/accounts", json={"handle": account.id, "password": password}).raise_for_status()
            count += 1
    return count


def seed_operator(admin: VaultClient, config: Config, workdir: Path) -> None:
    """An operator as an organisation has them: a userpass login (so an identity entity) whose
    role policy reads every account's credentials; its password goes to ``operator-password``
    for ``sentinel demo attack insider``."""
    policy = f"{config.vault.policy_prefix}-role-demo-social"
    kv = config.vault.kv_mount
    admin.policy_write(
        policy,
        f'path "{kv}/data/accounts/*" {{ capabilities = ["read"] }}\n'
        f'path "{kv}/metadata/accounts/*" {{ capabilities = ["read", "list"] }}\n',
    )
    admin.request("POST", "sys/auth/userpass", json={"type": "userpass"})
    password = new_secret()
    admin.request(
        "POST", f"auth/userpass/users/{OPERATOR}", json={"password": password, "token_policies": [policy]}
    )
    write_private(workdir / "operator-password", password + "\n")


RESPONDERS = ("op-ana", "op-ben")
"""The demo's two responders: one locks down, the other unfreezes (the two-person rule)."""


def add_responders(admin: VaultClient, daemon: VaultClient, workdir: Path, acl_prefix: str) -> None:
    """Two responders as an organisation would have them: Vault identity entities holding
    every Sentinel capability, who log in with Vault's userpass method. Each one's password,
    a token from a login, and a TOTP step-up seed go into ``<workdir>/<name>.password``,
    ``.token`` and ``.totp`` (readable by you only)."""
    import secrets

    from sentinel.response import stepup

    policy = "demo-responder"
    admin.policy_write(policy, f'path "{acl_prefix}/*" {{ capabilities = ["update"] }}\n')
    mounts = admin.request("GET", "sys/auth")
    if "userpass/" not in (mounts.get("data") or mounts):  # the demo operator's login may have it already
        admin.request("POST", "sys/auth/userpass", json={"type": "userpass"})
        mounts = admin.request("GET", "sys/auth")
    accessor = (mounts.get("data") or mounts)["userpass/"]["accessor"]
    for name in RESPONDERS:
        password = secrets.token_urlsafe(18)
        admin.request("POST", f"auth/userpass/users/{name}", json={"password": password})
        entity = admin.request("POST", "identity/entity", json={"name": name, "policies": [policy]})
        admin.request(
            "POST",
            "identity/entity-alias",
            json={"name": name, "canonical_id": entity["data"]["id"], "mount_accessor": accessor},
        )
        login = admin.with_token("")
        try:
            token = login.request("POST", f"auth/userpass/login/{name}", json={"password": password})
        finally:
            login.close()
        write_private(workdir / f"{name}.password", password + "\n")
        write_private(workdir / f"{name}.token", token["auth"]["client_token"] + "\n")
        seed = pyotp.parse_uri(stepup.enroll(daemon, name, issuer="Sentinel demo")).secret
        write_private(workdir / f"{name}.totp", seed + "\n")


def responder_code(workdir: Path, name: str) -> str:
    """The demo responder's current TOTP code (what their authenticator app would show)."""
    try:
        seed = (workdir / f"{name}.totp").read_text().strip()
    except OSError:
        raise SentinelError(f"no demo responder {name!r} in {workdir} (is the demo running there?)") from None
    return pyotp.TOTP(seed).now()


def sandbox_fields(inventory: Inventory, sandbox_url: str) -> dict[str, dict[str, str]]:
    """Where each demo account lives. Handles repeat across real platforms (@examplecorp on X
    and on Instagram); on the one sandbox each demo account signs in with its inventory id."""
    return {
        a.id: {"service": sandbox_url, "identifier": a.id}
        for a in inventory.active
        if a.platform == "sandbox"
    }


def prepare(workdir: Path, fresh: bool = True) -> DemoEnvironment:
    """Start the dev Vault, bootstrap it, seed credentials, write the config."""
    if fresh and workdir.exists():
        shutil.rmtree(workdir)
    private_dir(workdir, tighten=True)
    write_private(workdir / "inventory.toml", DEMO_INVENTORY.read_text())
    private_file(workdir / "openbao.log")
    private_file(workdir / AUDIT_LOG)
    dev = DevVault(log_path=workdir / "openbao.log", audit_log=workdir / AUDIT_LOG).start()
    sandbox: SandboxServer | None = None
    inbox: Inbox | None = None
    try:
        api_port = free_port()
        secret = new_secret()
        write_private(workdir / "inbox-secret", secret + "\n")
        inbox = Inbox(secret).start()
        config_path = write_config(workdir, dev.addr, api_port, inbox.url)
        config = load_config(config_path, env={})
        admin = VaultClient(dev.addr, dev.root_token, kv_mount=config.vault.kv_mount)
        bootstrap(admin, config.vault)
        # the administrator pins the audit key's public part (``sentinel audit key``)
        pins = transit_public_keys(admin, config.vault)
        write_private(workdir / "audit-public.pem", public_pem(pins[max(pins)]))
        write_private(workdir / "root-token", dev.root_token + "\n")
        token, _ = issue_daemon_token(admin, config.vault)
        write_private(workdir / "vault-token", token + "\n")
        daemon_client = admin.with_token(token)
        inventory = load_inventory(workdir / "inventory.toml")
        sandbox = SandboxServer().start()
        write_private(workdir / "sandbox-url", sandbox.url + "\n")
        seed_credentials(
            daemon_client, inventory, config.vault.password_policy, sandbox_fields(inventory, sandbox.url)
        )
        seed_sandbox(daemon_client, inventory, sandbox.url)
        seed_operator(admin, config, workdir)
        add_responders(admin, daemon_client, workdir, config.api.acl_prefix)
        admin.close()
        daemon_client.close()
    except BaseException:
        dev.stop()
        if sandbox is not None:
            sandbox.stop()
        if inbox is not None:
            inbox.stop()
        raise
    env = DemoEnvironment(workdir=workdir, vault=dev, config_path=config_path, api_port=api_port)
    env.stoppers.append(sandbox.stop)
    env.stoppers.append(inbox.stop)
    env.sandbox_url = sandbox.url
    return env


def banner(env: DemoEnvironment, config: Config) -> str:
    cli = f"{Path(sys.executable).parent / 'sentinel'} --config {env.config_path}"
    return textwrap.dedent(
        f"""\

        ──────────────────────────────────────────────────────────────────────────
         Sentinel demo — {len(load_inventory(config.sentinel.inventory))} accounts of Example Corp, local OpenBao dev server
        ──────────────────────────────────────────────────────────────────────────
         API            http://127.0.0.1:{env.api_port}   (OpenAPI: /openapi.json)
         Platform       {env.sandbox_url}   (the sandbox: every demo account lives here)
         Vault          {env.vault.addr}   (in memory; root token in {env.workdir}/root-token)
         Config, state  {env.config_path}, {config.sentinel.state_dir}
         Logs, alerts   this terminal (alerts arrive in a signed-webhook inbox standing in for chat)

         Console        http://127.0.0.1:{env.api_port}/console/   (sign in with a token below; API viewer: /docs)
         Responders     op-ana and op-ben: tokens in {env.workdir}/op-ana.token, op-ben.token;
                        or sign in to the console with Vault userpass (passwords in op-ana.password, ...);
                        each holds every Sentinel capability and has a TOTP step-up seed

         In another terminal:
           {cli} status
           {cli} accounts audit
           {cli} demo attack worm          (or: hoax, giveaway) — watch this terminal and the console
           {cli} demo attack insider       (an operator's token reads every credential at once)
           {cli} incidents list
           VAULT_TOKEN=$(cat {env.workdir}/op-ana.token) {cli} lockdown example-news-x --reason "trying it" --yes
           VAULT_TOKEN=$(cat {env.workdir}/op-ben.token) {cli} unfreeze example-news-x --reason "cleaned up" \\
               --code $({cli} demo code op-ben --dir {env.workdir})   (two-person rule: not who froze it)
           {cli} audit verify

         Ctrl-C stops the daemon and the dev server.
        ──────────────────────────────────────────────────────────────────────────
        """
    )


def run(workdir: Path) -> int:
    env = prepare(workdir)
    try:
        config = load_config(env.config_path, env={})
        configure(level="info", fmt="console")
        print(banner(env, config), flush=True)
        daemon = Daemon(lambda: load_config(env.config_path, env={}))
        return asyncio.run(daemon.serve())
    finally:
        env.stop()
