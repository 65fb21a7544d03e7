# sentinel-daemon: what the Sentinel daemon itself may do in Vault. Nothing more.
# Role policies and groups are written by an administrator's own token ('sentinel policies
# apply'); this token writes no policy but the freeze policy, and revokes no token.

# Rotation (sentinel rotate, the scheduler, a freeze's rotate step): read a credential,
# write a new version with check-and-set, merge the rotation state into custom_metadata,
# destroy a pending version that never became current. No delete, no metadata overwrite.
path "sentinel/data/accounts/*" {
  capabilities = ["create", "read", "update"]
}
path "sentinel/metadata/accounts/*" {
  capabilities = ["read", "list", "patch"]
  allowed_parameters = {
    "custom_metadata" = []
    "max_versions"    = []
  }
}
path "sentinel/metadata/accounts" {
  capabilities = ["list"]
}
path "sentinel/destroy/accounts/*" {
  capabilities = ["update"]
}

# Rotation: new platform passwords come from Vault's password policy.
path "sys/policies/password/sentinel-platform/generate" {
  capabilities = ["read"]
}

# TOTP step-up (unfreeze, API step-up): responders' seeds, enrolled and used by Sentinel.
path "sentinel/data/system/totp/*" {
  capabilities = ["create", "read", "update"]
}
path "sentinel/metadata/system/totp/*" {
  capabilities = ["read"]
}

# Webhooks (/v1/hooks/<platform>): the secrets platforms sign deliveries with; read only.
path "sentinel/data/system/hooks/*" {
  capabilities = ["read"]
}

# API and CLI authorization: learn who a caller's token belongs to, and ask Vault what it
# may do on Sentinel's capability paths.
path "auth/token/lookup" {
  capabilities = ["update"]
}
path "sys/capabilities-accessor" {
  capabilities = ["update"]
}

# Vault audit log: the HMAC of its own token accessor as the audit device writes it, so its
# own reads are told apart from a token someone gave Sentinel's display name.
path "sys/audit-hash/file" {
  capabilities = ["update"]
}

# Freeze: the one policy this token writes, denying frozen accounts to every role.
path "sys/policies/acl/sentinel-account-freeze" {
  capabilities = ["create", "read", "update"]
}

# Blast-radius containment: disable an operator's identity entity. Only 'disabled', and
# only to true: never its policies, aliases, metadata or name, and never re-enabling an
# entity (an administrator's or Sentinel's own disabling would otherwise be undone).
path "identity/entity/id/*" {
  capabilities = ["read", "update"]
  allowed_parameters = {
    "disabled" = [true]
  }
}

# Blast radius and 'sentinel accounts audit': which accounts an operator reaches through
# the policies of their entity and groups, and which entities and groups hold Sentinel
# capabilities without the freeze policy (policy texts and memberships, never a secret).
path "identity/entity/name/*" {
  capabilities = ["read"]
}
path "identity/entity/id" {
  capabilities = ["list"]
}
path "identity/group/id/*" {
  capabilities = ["read"]
}
path "identity/group/id" {
  capabilities = ["list"]
}
path "sys/policies/acl/*" {
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
