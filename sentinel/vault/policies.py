"""Vault policies Sentinel ships: its own least-privilege policy and the password policy.

They are rendered from the configured mount and prefix; the files under ``vault/`` in the
repository are these renderings for the defaults (a test keeps them identical), so a
reviewer can read exactly what Sentinel asks Vault for.
"""

from __future__ import annotations

from sentinel.vault.settings import VaultSettings

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


FREEZE_SUFFIX = "-account-freeze"


def freeze_policy_name(settings: VaultSettings) -> str:
    """The policy every role carries and only the daemon writes: the freeze's denies."""
    return f"{settings.policy_prefix}{FREEZE_SUFFIX}"


FREEZE_PLACEHOLDER = "-none-frozen-"
"""The account id of the one rule that keeps the freeze policy valid when nothing is frozen."""


def freeze_policy_header(settings: VaultSettings) -> list[str]:
    return [
        f"# {freeze_policy_name(settings)}: written by Sentinel on every freeze and unfreeze.",
        "# Carried by every operator role; an explicit deny on the exact path wins over any grant.",
        "# Sentinel rewrites anything else found here and raises a critical alert.",
    ]


def empty_freeze_policy(settings: VaultSettings) -> str:
    """The freeze policy when nothing is frozen (what bootstrap creates)."""
    placeholder = (
        f'path "{settings.policy_prefix}/accounts/{FREEZE_PLACEHOLDER}/*" {{ capabilities = ["deny"] }}'
    )
    return "\n".join([*freeze_policy_header(settings), placeholder]) + "\n"


def daemon_policy(settings: VaultSettings) -> str:
    """The policy the Sentinel daemon's own token needs, and nothing more.

    Every path is exact, or a glob no wider than the feature it serves; each block names that
    feature. The daemon writes no policy but its freeze policy, changes no entity but its
    ``disabled`` flag, revokes no token, and mounts, enables or reads nothing outside its KV
    mount but what is listed here (tests/security/test_daemon_token_escalation.py tries).
    """
    m = settings.kv_mount.strip("/")
    p = settings.policy_prefix
    return f"""\
# {p}-daemon: what the Sentinel daemon itself may do in Vault. Nothing more.
# Role policies and groups are written by an administrator's own token ('sentinel policies
# apply'); this token writes no policy but the freeze policy, and revokes no token.

# Rotation (sentinel rotate, the scheduler, a freeze's rotate step): read a credential,
# write a new version with check-and-set, merge the rotation state into custom_metadata,
# destroy a pending version that never became current. No delete, no metadata overwrite.
path "{m}/data/accounts/*" {{
  capabilities = ["create", "read", "update"]
}}
path "{m}/metadata/accounts/*" {{
  capabilities = ["read", "list", "patch"]
  allowed_parameters = {{
    "custom_metadata" = []
    "max_versions"    = []
  }}
}}
path "{m}/metadata/accounts" {{
  capabilities = ["list"]
}}
path "{m}/destroy/accounts/*" {{
  capabilities = ["update"]
}}

# Rotation: new platform passwords come from Vault's password policy.
path "sys/policies/password/{settings.password_policy}/generate" {{
  capabilities = ["read"]
}}

# TOTP step-up (unfreeze, API step-up): responders' seeds, enrolled and used by Sentinel.
path "{m}/data/system/totp/*" {{
  capabilities = ["create", "read", "update"]
}}
path "{m}/metadata/system/totp/*" {{
  capabilities = ["read"]
}}

# Webhooks (/v1/hooks/<platform>): the secrets platforms sign deliveries with; read only.
path "{m}/data/system/hooks/*" {{
  capabilities = ["read"]
}}

# API and CLI authorization: learn who a caller's token belongs to, and ask Vault what it
# may do on Sentinel's capability paths.
path "auth/token/lookup" {{
  capabilities = ["update"]
}}
path "sys/capabilities-accessor" {{
  capabilities = ["update"]
}}

# Vault audit log: the HMAC of its own token accessor as the audit device writes it, so its
# own reads are told apart from a token someone gave Sentinel's display name.
path "sys/audit-hash/{settings.audit_device.strip("/")}" {{
  capabilities = ["update"]
}}

# Freeze: the one policy this token writes, denying frozen accounts to every role.
path "sys/policies/acl/{p}-account-freeze" {{
  capabilities = ["create", "read", "update"]
}}

# Blast-radius containment: disable an operator's identity entity. Only 'disabled', and
# only to true: never its policies, aliases, metadata or name, and never re-enabling an
# entity (an administrator's or Sentinel's own disabling would otherwise be undone).
path "identity/entity/id/*" {{
  capabilities = ["read", "update"]
  allowed_parameters = {{
    "disabled" = [true]
  }}
}}

# Blast radius and 'sentinel accounts audit': which accounts an operator reaches through
# the policies of their entity and groups, and which entities and groups hold Sentinel
# capabilities without the freeze policy (policy texts and memberships, never a secret).
path "identity/entity/name/*" {{
  capabilities = ["read"]
}}
path "identity/entity/id" {{
  capabilities = ["list"]
}}
path "identity/group/id/*" {{
  capabilities = ["read"]
}}
path "identity/group/id" {{
  capabilities = ["list"]
}}
path "sys/policies/acl/*" {{
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
