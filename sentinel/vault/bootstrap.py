"""``sentinel vault bootstrap``: prepare a Vault for Sentinel, idempotently.

Run once by a Vault administrator (with a token allowed to mount engines and write
policies): enables the KV v2 mount, writes the password policy and Sentinel's own
least-privilege policy and, if asked, an AppRole role for the daemon. Running it again
changes nothing unless a policy differs from what this Sentinel ships.
"""

from __future__ import annotations

from dataclasses import dataclass

from sentinel.config import VaultSettings
from sentinel.errors import VaultNotFound
from sentinel.vault.client import VaultClient
from sentinel.vault.policies import PASSWORD_POLICY, daemon_policy, daemon_policy_name


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


def issue_daemon_token(client: VaultClient, settings: VaultSettings, ttl: str = "24h") -> tuple[str, str]:
    """A renewable token carrying only the daemon policy (for dev setups and tests)."""
    return client.create_token(
        policies=[daemon_policy_name(settings)],
        ttl=ttl,
        display_name="sentinel-daemon",
        no_parent=True,
    )
