"""Bring Vault in line with the rendered role policies: plan (with a diff), then apply.

``plan`` compares each rendered policy with what Vault holds and, for roles with members,
the identity group ``<policy>`` (internal group carrying the role's policy and the freeze
policy ``<prefix>-account-freeze``, so that a freeze denies in Vault what the role grants;
members resolved from Vault entity names). ``apply`` performs only the changes of a plan,
so running it twice changes nothing the second time; it needs the administrator's own
token (the daemon's token may write no role policy and no group). With ``prune``, role
policies (``<prefix>-role-*``) that the roles file no longer defines are deleted.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sentinel.errors import VaultNotFound
from sentinel.policies.render import ROLE_INFIX, RenderedPolicy
from sentinel.vault.client import VaultClient
from sentinel.vault.policies import FREEZE_SUFFIX

Action = Literal["create", "update", "unchanged", "delete"]


@dataclass
class Change:
    kind: Literal["policy", "group"]
    name: str
    action: Action
    diff: str = ""
    hcl: str = ""
    policies: list[str] = field(default_factory=list)
    member_ids: list[str] = field(default_factory=list)
    missing_members: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "name": self.name, "action": self.action}
        if self.kind == "group":
            out["members"] = len(self.member_ids)
            out["missing_members"] = self.missing_members
        return out


def unified(name: str, old: str, new: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"vault:{name}", f"rendered:{name}"
        )
    )


def _entity_id(vault: VaultClient, name: str) -> str | None:
    try:
        resp = vault.request("GET", f"identity/entity/name/{name}")
    except VaultNotFound:
        return None
    if not resp:
        return None
    return str(resp["data"]["id"])


def _group(vault: VaultClient, name: str) -> dict[str, Any] | None:
    try:
        resp = vault.request("GET", f"identity/group/name/{name}")
    except VaultNotFound:
        return None
    return dict(resp["data"]) if resp else None


def plan(
    vault: VaultClient, rendered: Sequence[RenderedPolicy], policy_prefix: str, prune: bool = False
) -> list[Change]:
    changes: list[Change] = []
    for r in rendered:
        current = vault.policy_read(r.name)
        if current is None:
            changes.append(Change("policy", r.name, "create", unified(r.name, "", r.hcl), r.hcl))
        elif current.strip() != r.hcl.strip():
            changes.append(Change("policy", r.name, "update", unified(r.name, current, r.hcl), r.hcl))
        else:
            changes.append(Change("policy", r.name, "unchanged", "", r.hcl))
        if r.members:
            changes.append(_plan_group(vault, r, policy_prefix))
    if prune:
        wanted = {r.name for r in rendered}
        for name in sorted(vault.policy_list()):
            if name.startswith(policy_prefix + ROLE_INFIX) and name not in wanted:
                old = vault.policy_read(name) or ""
                changes.append(Change("policy", name, "delete", unified(name, old, "")))
    return changes


def group_policies(role_policy: str, policy_prefix: str) -> list[str]:
    """The policies of a role's group: the role's own, and the freeze policy."""
    return sorted([role_policy, f"{policy_prefix}{FREEZE_SUFFIX}"])


def _plan_group(vault: VaultClient, r: RenderedPolicy, policy_prefix: str) -> Change:
    ids: list[str] = []
    missing: list[str] = []
    for member in r.members:
        eid = _entity_id(vault, member)
        if eid is None:
            missing.append(member)
        else:
            ids.append(eid)
    group = _group(vault, r.name)
    policies = group_policies(r.name, policy_prefix)
    new = f"policies: {', '.join(policies)}\nmember_entity_ids: {', '.join(sorted(ids))}\n"
    if group is None:
        action: Action = "create"
        old = ""
    else:
        have_ids = sorted(group.get("member_entity_ids") or [])
        have_policies = sorted(group.get("policies") or [])
        action = "unchanged" if (have_ids, have_policies) == (sorted(ids), policies) else "update"
        old = f"policies: {', '.join(have_policies)}\nmember_entity_ids: {', '.join(have_ids)}\n"
    diff = unified(f"group/{r.name}", old, new) if action != "unchanged" else ""
    return Change(
        "group",
        r.name,
        action,
        diff,
        policies=policies,
        member_ids=sorted(ids),
        missing_members=missing,
    )


def apply(vault: VaultClient, changes: Sequence[Change]) -> list[Change]:
    """Perform the changes of a plan; returns those that changed something."""
    done: list[Change] = []
    for c in changes:
        if c.action == "unchanged":
            continue
        if c.kind == "policy":
            if c.action == "delete":
                vault.policy_delete(c.name)
            else:
                vault.policy_write(c.name, c.hcl)
        else:
            members = sorted(set(c.member_ids))
            vault.request(
                "POST",
                f"identity/group/name/{c.name}",
                json={
                    "type": "internal",
                    "policies": c.policies,
                    "member_entity_ids": members,
                    "metadata": {"managed_by": "sentinel"},
                },
            )
        done.append(c)
    return done
