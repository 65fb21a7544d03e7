"""Least privilege for people: a roles file rendered into Vault ACL policies.

``load_roles(path)`` reads the roles file, ``render(roles, inventory, ...)`` turns each role
into one HCL policy granting Sentinel capabilities on the API's ACL paths
(``sentinel.api.caller_access``), and ``plan``/``apply`` bring Vault in line, showing a diff first.
"""

from __future__ import annotations

from sentinel.policies.apply import Change, apply, plan
from sentinel.policies.render import RenderedPolicy, render, role_policy_name
from sentinel.policies.roles import Grant, Role, RolesFile, load_roles, parse_roles

__all__ = [
    "Change",
    "Grant",
    "RenderedPolicy",
    "Role",
    "RolesFile",
    "apply",
    "load_roles",
    "parse_roles",
    "plan",
    "render",
    "role_policy_name",
]
