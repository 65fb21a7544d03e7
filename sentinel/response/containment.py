"""The Vault side of a freeze: nobody but responders can read a frozen account's secrets.

Vault evaluates policies by name on every request, and an explicit ``deny`` in any policy a
token carries wins over every grant. Sentinel keeps one policy, ``<prefix>-account-freeze``,
that denies the credential paths (and the API capability paths) of every frozen account;
every operator role carries it (``sentinel policies render`` adds it), responders' roles do
not. Freezing or unfreezing rewrites that one policy, so it takes effect for every open
token at once, with one Vault call. Tokens Sentinel issued for an account are revoked by
accessor, and an operator whose login spread the attack can have their identity entity
disabled, which stops every token of theirs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from sentinel.config import VaultSettings
from sentinel.errors import VaultNotFound
from sentinel.response.store import ResponseStore
from sentinel.vault.client import VaultClient


def freeze_policy_name(settings: VaultSettings) -> str:
    return f"{settings.policy_prefix}-account-freeze"


def render_freeze_policy(settings: VaultSettings, frozen: Iterable[str]) -> str:
    m, p = settings.kv_mount.strip("/"), settings.policy_prefix
    lines = [
        f"# {freeze_policy_name(settings)}: written by Sentinel on every freeze and unfreeze.",
        "# Carried by every operator role; an explicit deny wins over any grant.",
    ]
    accounts = sorted(set(frozen))
    for account in accounts:
        lines += [
            f'path "{m}/data/accounts/{account}/*" {{\n  capabilities = ["deny"]\n}}',
            f'path "{m}/metadata/accounts/{account}/*" {{\n  capabilities = ["deny"]\n}}',
            f'path "{p}/accounts/{account}/*" {{\n  capabilities = ["deny"]\n}}',
        ]
    if not accounts:
        lines.append(f'path "{p}/accounts/-none-frozen-/*" {{\n  capabilities = ["deny"]\n}}')
    return "\n".join(lines) + "\n"


class VaultContainment:
    def __init__(self, vault: VaultClient, settings: VaultSettings, store: ResponseStore) -> None:
        self.vault = vault
        self.settings = settings
        self.store = store

    def write_freeze_policy(self) -> list[str]:
        """Rewrite the freeze policy from the store's frozen set; return the accounts denied."""
        frozen = self.store.frozen()
        self.vault.policy_write(
            freeze_policy_name(self.settings), render_freeze_policy(self.settings, frozen)
        )
        return frozen

    def apply_freeze_policy(self) -> int:
        """Rewrite the freeze policy from the store's frozen set; return how many are denied."""
        return len(self.write_freeze_policy())

    def revoke_issued(self, account: str) -> list[str]:
        """Revoke every token Sentinel issued for ``account``; return their accessors."""
        done = []
        for accessor in self.store.live_tokens(account):
            try:
                self.vault.revoke_accessor(accessor)
            except VaultNotFound:
                pass  # already expired
            self.store.token_revoked(accessor)
            done.append(accessor)
        return done

    async def arevoke_issued(self, account: str) -> list[str]:
        """``revoke_issued`` from the event loop: no thread at all when Sentinel issued no
        token for the account (the usual case: only a store lookup)."""
        if not self.store.live_tokens(account):
            return []
        return await asyncio.to_thread(self.revoke_issued, account)

    def set_operator_disabled(self, operator: str, disabled: bool) -> str:
        """Disable (or re-enable) the Vault identity entity named ``operator``; return its id."""
        entity = self.vault.request("GET", f"identity/entity/name/{operator}")
        if not entity or "data" not in entity:
            raise VaultNotFound(f"no Vault identity entity named {operator!r}")
        entity_id = str(entity["data"]["id"])
        self.vault.entity_set_disabled(entity_id, disabled)
        return entity_id
