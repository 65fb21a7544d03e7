"""``sentinel vault bootstrap``: prepare a Vault for Sentinel, idempotently.

Run once by a Vault administrator (with a token allowed to mount engines and write
policies): enables the KV v2 mount, the Transit mount with the audit signing key (Ed25519,
never exportable), writes the password policy and Sentinel's own least-privilege policy
and, if asked, an AppRole role for the daemon. Running it again
changes nothing unless a policy differs from what this Sentinel ships.
"""

from __future__ import annotations

from dataclasses import dataclass

from sentinel.audit import fingerprint
from sentinel.audit_keys import transit_public_keys
from sentinel.errors import VaultInvalidRequest, VaultNotFound
from sentinel.vault.client import VaultClient
from sentinel.vault.policies import (
    PASSWORD_POLICY,
    daemon_policy,
    daemon_policy_name,
    empty_freeze_policy,
    freeze_policy_name,
    transit_key_name,
)
from sentinel.vault.settings import VaultSettings


@dataclass(frozen=True)
class Step:
    name: str
    status: str  # "created", "updated", "unchanged"
    detail: str = ""


def _same(a: str | None, b: str) -> bool:
    return a is not None and a.strip() == b.strip()


def bootstrap(
    client: VaultClient,
    settings: VaultSettings,
    approle: bool = False,
    token_ttl: str = "24h",
) -> list[Step]:
    steps: list[Step] = []
    created = client.enable_kv2(settings.kv_mount)
    steps.append(Step(f"KV v2 mount {settings.kv_mount}/", "created" if created else "unchanged"))

    steps += _audit_transit_key(client, settings)

    current = client.password_policy_read(settings.password_policy)
    if _same(current, PASSWORD_POLICY):
        steps.append(Step(f"password policy {settings.password_policy}", "unchanged"))
    else:
        client.password_policy_write(settings.password_policy, PASSWORD_POLICY)
        steps.append(
            Step(f"password policy {settings.password_policy}", "created" if current is None else "updated")
        )

    name = daemon_policy_name(settings)
    wanted = daemon_policy(settings)
    current = client.policy_read(name)
    if _same(current, wanted):
        steps.append(Step(f"ACL policy {name}", "unchanged"))
    else:
        client.policy_write(name, wanted)
        steps.append(Step(f"ACL policy {name}", "created" if current is None else "updated"))

    # The freeze policy every role group carries: created empty here (by the administrator),
    # afterwards only rewritten by the daemon; an existing one holds today's freezes.
    freeze = freeze_policy_name(settings)
    if client.policy_read(freeze) is None:
        client.policy_write(freeze, empty_freeze_policy(settings))
        steps.append(Step(f"ACL policy {freeze}", "created"))
    else:
        steps.append(Step(f"ACL policy {freeze}", "unchanged"))

    if approle:
        mounts = client.request("GET", "sys/auth")
        auth = mounts.get("data", mounts) if isinstance(mounts, dict) else {}
        path = settings.approle_mount.strip("/") + "/"
        if path not in auth:
            client.request("POST", f"sys/auth/{settings.approle_mount}", json={"type": "approle"})
            steps.append(Step(f"auth method {path}", "created"))
        else:
            steps.append(Step(f"auth method {path}", "unchanged"))
        role = f"auth/{settings.approle_mount}/role/sentinel"
        want = {"token_policies": [name], "token_ttl": "1h", "token_max_ttl": token_ttl}
        try:
            have = client.request("GET", role)["data"]
            same = list(have.get("token_policies") or []) == [name]
        except VaultNotFound:
            have, same = None, False
        if same:
            steps.append(Step("AppRole role sentinel", "unchanged"))
        else:
            client.request("POST", role, json=want)
            steps.append(Step("AppRole role sentinel", "created" if have is None else "updated"))
    return steps


def _audit_transit_key(client: VaultClient, settings: VaultSettings) -> list[Step]:
    """The Transit mount and the audit signing key: Ed25519, not exportable, no plaintext
    backup, not deletable, so that no token (the daemon's included) can ever read it."""
    steps: list[Step] = []
    mount, name = settings.transit_mount.strip("/"), transit_key_name(settings)
    existing = client.mounts().get(mount + "/")
    if existing is None:
        client.request(
            "POST", f"sys/mounts/{mount}", json={"type": "transit", "description": "Sentinel audit"}
        )
        steps.append(Step(f"Transit mount {mount}/", "created"))
    elif existing.get("type") != "transit":
        raise VaultInvalidRequest(f"mount {mount!r} exists but is not a Transit engine")
    else:
        steps.append(Step(f"Transit mount {mount}/", "unchanged"))
    try:
        data = client.request("GET", f"{mount}/keys/{name}")["data"]
        status = "unchanged"
    except VaultNotFound:
        client.request(
            "POST",
            f"{mount}/keys/{name}",
            json={"type": "ed25519", "exportable": False, "allow_plaintext_backup": False},
        )
        data, status = client.request("GET", f"{mount}/keys/{name}")["data"], "created"
    if data.get("type") != "ed25519" or data.get("exportable") or data.get("allow_plaintext_backup"):
        raise VaultInvalidRequest(
            f"Transit key {mount}/{name} exists but is not a non-exportable Ed25519 key; "
            "the audit trail needs one that cannot leave Vault"
        )
    keys = transit_public_keys(client, settings)
    pin = fingerprint(keys[max(keys)])
    steps.append(Step(f"audit signing key {mount}/{name}", status, f"pin public_key_fingerprint = {pin}"))
    return steps


def issue_daemon_token(client: VaultClient, settings: VaultSettings, ttl: str = "24h") -> tuple[str, str]:
    """A renewable token carrying only the daemon policy (for dev setups and tests)."""
    return client.create_token(
        policies=[daemon_policy_name(settings)],
        ttl=ttl,
        display_name="sentinel-daemon",
        no_parent=True,
    )
