"""People as Vault knows them, for attacks on a real OpenBao: an identity entity with a
userpass login, and the token that login gives (bound to the entity, so group policies and
entity state apply to it the way they do in production)."""

from __future__ import annotations

import secrets

from sentinel.vault.client import VaultClient


def userpass_mount(admin: VaultClient) -> tuple[str, str]:
    """A fresh userpass auth mount; returns (path, accessor)."""
    path = "up-" + secrets.token_hex(4)
    admin.request("POST", f"sys/auth/{path}", json={"type": "userpass"})
    accessor = admin.request("GET", "sys/auth")["data"][f"{path}/"]["accessor"]
    return path, str(accessor)


def login(admin: VaultClient, mount: tuple[str, str], name: str, policies: list[str] | None = None) -> str:
    """Create entity ``name`` (entity ``policies``) with a userpass alias; return a fresh login token."""
    path, accessor = mount
    entity = admin.request("POST", "identity/entity", json={"name": name, "policies": policies or []})
    entity_id = (
        entity["data"]["id"] if entity else admin.request("GET", f"identity/entity/name/{name}")["data"]["id"]
    )
    admin.request(
        "POST",
        "identity/entity-alias",
        json={"name": name, "mount_accessor": accessor, "canonical_id": entity_id},
    )
    password = secrets.token_urlsafe(16)
    admin.request("POST", f"auth/{path}/users/{name}", json={"password": password})
    answer = admin.request("POST", f"auth/{path}/login/{name}", json={"password": password})
    return str(answer["auth"]["client_token"])
