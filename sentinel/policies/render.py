"""Roles to HCL: one Vault ACL policy per role, on the API's capability paths.

Accounts chosen by tag are expanded through the inventory when rendering (Vault knows
nothing of tags), so render and apply again after the inventory changes; ``all = true``
uses Vault's one-segment glob (``<prefix>/accounts/+/<capability>``) and needs no re-render.
Rendering is deterministic: the same roles and inventory give byte-identical policies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sentinel.capabilities import capability_path
from sentinel.errors import ConfigError
from sentinel.inventory import Inventory
from sentinel.policies.roles import Role, RolesFile

ROLE_INFIX = "-role-"


def role_policy_name(policy_prefix: str, role: str) -> str:
    return f"{policy_prefix}{ROLE_INFIX}{role}"


@dataclass(frozen=True)
class RenderedPolicy:
    name: str
    role: str
    hcl: str
    paths: tuple[str, ...]
    members: tuple[str, ...]

    @property
    def filename(self) -> str:
        return f"{self.name}.hcl"


def role_paths(role: Role, inventory: Inventory, acl_prefix: str, source: str = "") -> list[str]:
    where = f"{source}: role {role.name!r}" if source else f"role {role.name!r}"
    paths: list[str] = []
    for grant in role.grants:
        if grant.all:
            targets = ["+"]
        else:
            targets = []
            for account_id in grant.accounts:
                if account_id not in inventory:
                    raise ConfigError(
                        f"{where}: account {account_id!r} is not in the inventory {inventory.source}"
                    )
                targets.append(account_id)
            for tag in grant.tags:
                tagged = [a.id for a in inventory.active if tag in a.tags]
                if not tagged:
                    raise ConfigError(f"{where}: no active account in the inventory has tag {tag!r}")
                targets.extend(tagged)
        for account_id in targets:
            for cap in grant.capabilities:
                paths.append(capability_path(acl_prefix, cap, account_id))
    for cap in role.global_capabilities:
        paths.append(capability_path(acl_prefix, cap))
    return sorted(dict.fromkeys(paths))


def render_role(
    role: Role, inventory: Inventory, acl_prefix: str, policy_prefix: str, source: str = ""
) -> RenderedPolicy:
    name = role_policy_name(policy_prefix, role.name)
    paths = role_paths(role, inventory, acl_prefix, source)
    lines = [
        f"# {name}: Sentinel role {role.name!r}, rendered by 'sentinel policies render' from {Path(source).name if source else 'a roles file'}.",
        "# Do not edit: change the roles file and render again. 'update' on a path grants the capability.",
    ]
    if role.description:
        lines.append(f"# {role.description}")
    if role.members:
        lines.append(f"# members: {', '.join(role.members)}")
    for p in paths:
        lines += ["", f'path "{p}" {{', '  capabilities = ["update"]', "}"]
    return RenderedPolicy(name, role.name, "\n".join(lines) + "\n", tuple(paths), role.members)


def render(
    roles: RolesFile, inventory: Inventory, acl_prefix: str, policy_prefix: str
) -> list[RenderedPolicy]:
    """One policy per role, in the order of the roles file."""
    return [render_role(r, inventory, acl_prefix, policy_prefix, roles.source) for r in roles.roles]
