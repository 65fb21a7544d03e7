"""Who is acting: the caller's Vault identity, never a request field, a display name or the Unix user.

A person logs in to Vault through an auth method (OIDC, LDAP, userpass, AppRole...); each
login is an *alias* of one identity *entity*, and every token of every alias carries that
entity's id. That id is the person: two logins of one entity are one person for the
two-person unfreeze rule, the four-eyes rule on held posts, blast radius and containment.
A token without an entity (``bao token create`` without a role) is its own identity,
keyed by its accessor.

``key`` is what decisions compare (``entity:<id>`` or ``token:<accessor>``); ``name`` is
what people read in the audit trail, alerts and held posts: the entity's name as Vault
has it (unique in Vault, set by Vault's administrators), or the key when there is none.
Token metadata and display names are chosen by whoever creates the token, so neither is
ever used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sentinel.errors import VaultError
from sentinel.vault.client import TokenInfo

ENTITY = "entity:"
TOKEN = "token:"


@dataclass(frozen=True)
class Identity:
    key: str
    name: str
    entity_id: str = ""
    accessor: str = ""

    def same_person(self, key: str, name: str = "") -> bool:
        """Whether another record (by identity ``key``, or by ``name`` for records made before
        keys were kept) names this identity. Either match counts: a refusal never falls open."""
        return bool(key and key == self.key) or same_name(name, self.name)


def same_name(a: str, b: str) -> bool:
    """Whether two names of people name one Vault entity: Vault's identity store looks names
    up without regard to case (``OP-ANA`` is op-ana), so the four-eyes and two-person rules
    compare them the same way (casefolded: a refusal never falls open)."""
    return bool(a) and a.casefold() == b.casefold()


def identity_of(info: TokenInfo, entity_name: Callable[[str], str]) -> Identity:
    """The identity of a looked-up token; ``entity_name`` reads an entity's name from Vault."""
    if info.entity_id:
        key = ENTITY + info.entity_id
        try:
            name = entity_name(info.entity_id) or key
        except VaultError:  # not readable with this token: the id alone still decides
            name = key
        return Identity(key, name, info.entity_id, info.accessor)
    key = TOKEN + info.accessor
    return Identity(key, key, "", info.accessor)


def is_authenticated_name(name: str) -> bool:
    """A name that is a Vault entity's own (containment may act on it), not a bare token or id."""
    return bool(name) and not name.startswith((ENTITY, TOKEN))
