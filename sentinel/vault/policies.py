"""Vault policies Sentinel ships: its own least-privilege policy and the password policy.

They are rendered from the configured mount and prefix; the files under ``vault/`` in the
repository are these renderings for the defaults (a test keeps them identical), so a
reviewer can read exactly what Sentinel asks Vault for.
"""

from __future__ import annotations

from sentinel.config import VaultSettings

PASSWORD_POLICY = """\
# Passwords Sentinel generates for platform accounts (sys/policies/password/<name>).
# 32 characters from all four classes: strong for every platform we know, and
# without quotes or backslashes that some login forms mangle.
length = 32

rule "charset" {
  charset   = "abcdefghijklmnopqrstuvwxyz"
  min-chars = 2
}

rule "charset" {
  charset   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
  min-chars = 2
}

rule "charset" {
  charset   = "0123456789"
  min-chars = 2
}

rule "charset" {
  charset   = "!#%*+-=?@^_~"
  min-chars = 2
}
"""


def daemon_policy_name(settings: VaultSettings) -> str:
    return f"{settings.policy_prefix}-daemon"


def transit_key_name(settings: VaultSettings) -> str:
    """The Transit key that signs the audit trail."""
    return f"{settings.policy_prefix}-audit"


def daemon_policy(settings: VaultSettings) -> str:
    """The policy the Sentinel daemon's own token needs, and nothing more."""
    m = settings.kv_mount.strip("/")
    p = settings.policy_prefix
    return f"""\
# {p}-daemon: what the Sentinel daemon itself may do in Vault. Nothing more.

# Account credentials: read, write new versions (check-and-set), merge metadata,
# destroy versions older than 'previous' after the grace period. No delete of history.
path "{m}/data/accounts/*" {{
  capabilities = ["create", "read", "update"]
}}
path "{m}/metadata/accounts/*" {{
  capabilities = ["read", "list", "patch", "update"]
}}
path "{m}/metadata/accounts" {{
  capabilities = ["list"]
}}
path "{m}/destroy/accounts/*" {{
  capabilities = ["update"]
}}

# Sentinel's own material (the audit signing key, TOTP seeds of responders).
path "{m}/data/system/*" {{
  capabilities = ["create", "read", "update"]
}}
path "{m}/metadata/system/*" {{
  capabilities = ["read", "list"]
}}

# New platform passwords come from Vault's password policy.
path "sys/policies/password/{settings.password_policy}/generate" {{
  capabilities = ["read"]
}}

# Least privilege for people: ask Vault what a caller's token may do.
path "sys/capabilities-accessor" {{
  capabilities = ["update"]
}}
path "auth/token/lookup" {{
  capabilities = ["update"]
}}
path "auth/token/lookup-accessor" {{
  capabilities = ["update"]
}}

# Freeze: revoke tokens by accessor, swap the per-account access policies, and
# disable an operator's identity entity (blast-radius containment).
path "auth/token/revoke-accessor" {{
  capabilities = ["update"]
}}
path "sys/policies/acl/{p}-account-*" {{
  capabilities = ["create", "read", "update", "delete"]
}}
path "sys/policies/acl/{p}-role-*" {{
  capabilities = ["create", "read", "update", "delete"]
}}
path "identity/entity/id/*" {{
  capabilities = ["read", "update"]
}}
path "identity/entity/name/*" {{
  capabilities = ["read"]
}}

# Blast radius: which accounts an operator reaches through the policies of their entity
# and its groups (the policy texts and group memberships only, never a secret).
path "sys/policies/acl/*" {{
  capabilities = ["read"]
}}
path "identity/group/id/*" {{
  capabilities = ["read"]
}}

# Its own token: look up and renew (also in Vault's default policy).
path "auth/token/lookup-self" {{
  capabilities = ["read"]
}}
path "auth/token/renew-self" {{
  capabilities = ["update"]
}}

# --- Audit trail (sentinel/audit.py). The daemon may only ask Transit to sign with the
# audit key (never read, export, back up, rotate or configure it), and only add checkpoints
# of the chain head: `create` without `update`, so Vault refuses to overwrite one, and no
# delete, destroy or metadata rights, so none can be removed. Reading and listing them lets
# the daemon accept a checkpoint a concurrent writer made first.
path "{settings.transit_mount.strip("/")}/sign/{transit_key_name(settings)}" {{
  capabilities = ["update"]
}}
path "{m}/data/audit/checkpoints/*" {{
  capabilities = ["create", "read"]
}}
path "{m}/metadata/audit/checkpoints/" {{
  capabilities = ["list"]
}}
"""
