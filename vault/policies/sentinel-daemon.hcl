# sentinel-daemon: what the Sentinel daemon itself may do in Vault. Nothing more.

# Account credentials: read, write new versions (check-and-set), merge metadata,
# destroy versions older than 'previous' after the grace period. No delete of history.
path "sentinel/data/accounts/*" {
  capabilities = ["create", "read", "update"]
}
path "sentinel/metadata/accounts/*" {
  capabilities = ["read", "list", "patch", "update"]
}
path "sentinel/metadata/accounts" {
  capabilities = ["list"]
}
path "sentinel/destroy/accounts/*" {
  capabilities = ["update"]
}

# Sentinel's own material (the audit signing key, TOTP seeds of responders).
path "sentinel/data/system/*" {
  capabilities = ["create", "read", "update"]
}
path "sentinel/metadata/system/*" {
  capabilities = ["read", "list"]
}

# New platform passwords come from Vault's password policy.
path "sys/policies/password/sentinel-platform/generate" {
  capabilities = ["read"]
}

# Least privilege for people: ask Vault what a caller's token may do.
path "sys/capabilities-accessor" {
  capabilities = ["update"]
}
path "auth/token/lookup" {
  capabilities = ["update"]
}
path "auth/token/lookup-accessor" {
  capabilities = ["update"]
}

# Freeze: revoke tokens by accessor, swap the per-account access policies, and
# disable an operator's identity entity (blast-radius containment).
path "auth/token/revoke-accessor" {
  capabilities = ["update"]
}
path "sys/policies/acl/sentinel-account-*" {
  capabilities = ["create", "read", "update", "delete"]
}
path "sys/policies/acl/sentinel-role-*" {
  capabilities = ["create", "read", "update", "delete"]
}
path "identity/entity/id/*" {
  capabilities = ["read", "update"]
}
path "identity/entity/name/*" {
  capabilities = ["read"]
}

# Blast radius: which accounts an operator reaches through the policies of their entity
# and its groups (the policy texts and group memberships only, never a secret).
path "sys/policies/acl/*" {
  capabilities = ["read"]
}
path "identity/group/id/*" {
  capabilities = ["read"]
}

# Its own token: look up and renew (also in Vault's default policy).
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
path "auth/token/renew-self" {
  capabilities = ["update"]
}

# --- Audit trail (sentinel/audit.py). The daemon may only ask Transit to sign with the
# audit key (never read, export, back up, rotate or configure it), and only add checkpoints
# of the chain head: `create` without `update`, so Vault refuses to overwrite one, and no
# delete, destroy or metadata rights, so none can be removed. Reading and listing them lets
# the daemon accept a checkpoint a concurrent writer made first.
path "transit/sign/sentinel-audit" {
  capabilities = ["update"]
}
path "sentinel/data/audit/checkpoints/*" {
  capabilities = ["create", "read"]
}
path "sentinel/metadata/audit/checkpoints/" {
  capabilities = ["list"]
}
