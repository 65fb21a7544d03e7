"""Blast radius: every account an operator can reach, from the inventory and from Vault.

An operator is named the way ``ctx.operator()`` and the API name a person (their Vault
identity entity's name: ``sentinel.identity``) and the inventory's ``owners`` list them. What they can reach is the union of

- the accounts whose inventory ``owners`` name them, and
- the accounts Vault's policies let them act on: the policies of their entity
  (``identity/entity/name/<name>``), of every group it belongs to, directly or inherited
  (``identity/group/id/<id>``), and ``default``. Each policy's text is read
  (``sys/policies/acl/<name>``), parsed (``sentinel.response.acl``), templated paths
  (``{{identity.entity.name}}``, ...) are filled in for this entity, and the merged rules
  are asked, the way Vault decides, whether they grant ``publish``, ``respond``,
  ``moderate`` or ``admin`` on ``<prefix>/accounts/<id>/...`` or ``read`` of the account's
  credentials at ``<kv_mount>/data/accounts/<id>/<credential>``. ``deny`` is honoured;
  Sentinel's own freeze policy is left out (it describes today's freezes, not the grants).

Under-counting a blast radius is the dangerous failure, so nothing is dropped silently: a
policy that cannot be read or understood, a template that cannot be filled in, an operator
without an entity, or Vault being unreachable each leave a warning in the result (the
caller puts them in the alert), and the inventory owners are always included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from sentinel.capabilities import GLOBAL_CAPABILITIES, granted
from sentinel.errors import VaultError, VaultNotFound
from sentinel.inventory import CREDENTIAL_KINDS, Inventory
from sentinel.logs import get_logger
from sentinel.response.acl import Acl, PathRule, PolicyParseError, parse_policy
from sentinel.response.containment import freeze_policy_name

if TYPE_CHECKING:
    from sentinel.config import Config

log = get_logger("sentinel.response.reach")

ACTING = ("publish", "respond", "moderate", "admin")
"""Capabilities that let an operator act on an account (``analytics`` only reads numbers)."""

_TEMPLATE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


class PolicySource(Protocol):
    """The Vault reads reach needs (``VaultClient`` has them)."""

    def request(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> Any: ...
    def policy_read(self, name: str) -> str | None: ...


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    policies: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Identity:
    """A Vault identity entity and the groups it belongs to."""

    id: str
    name: str
    policies: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[Mapping[str, Any], ...] = ()
    groups: tuple[Group, ...] = ()

    def logins(self) -> tuple[str, ...]:
        """``<type> at auth/<path>`` for each login method (alias) of the entity."""
        found = (
            f"{a.get('mount_type') or 'login'} at auth/{str(a.get('mount_path') or '').removeprefix('auth/')}"
            for a in self.aliases
        )
        return tuple(dict.fromkeys(found))

    def policy_names(self) -> list[str]:
        """Every policy a token of this entity carries besides its login's own: entity, groups, default."""
        names = [*self.policies, *(p for g in self.groups for p in g.policies), "default"]
        return sorted(dict.fromkeys(n for n in names if n))


@dataclass(frozen=True)
class Reach:
    """Who reaches what, and how sure Sentinel is of it."""

    operator: str
    accounts: tuple[str, ...]
    owned: tuple[str, ...] = ()
    granted: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    policies: tuple[str, ...] = ()
    entity: str = ""
    vault: bool = False
    warnings: tuple[str, ...] = ()
    logins: tuple[str, ...] = ()
    """The entity's login methods (``oidc at auth/oidc/``): policies a login role adds to the
    token it issues are not part of the identity and not counted here; disabling the entity
    stops those tokens all the same."""

    @property
    def complete(self) -> bool:
        return self.vault and not self.warnings

    def summary(self) -> str:
        extra = len(set(self.accounts) - set(self.owned))
        how = (
            f"{len(self.owned)} owned in the inventory, {extra} more through Vault policies"
            if self.vault
            else "inventory owners only"
        )
        text = f"{self.operator} reaches {len(self.accounts)} account(s) ({how})"
        if self.warnings:
            text += f"; MAY BE LARGER: {len(self.warnings)} warning(s): {self.warnings[0]}"
        return text

    def details(self, most: int = 20) -> dict[str, str]:
        """One line each, for an alert: where the reach comes from, and what is uncertain."""
        extra = [a for a in self.accounts if a not in self.owned]
        out = {"owned in the inventory": _some(self.owned, most) or "none"}
        if self.vault:
            out["through Vault policies"] = _some(extra, most) or "none"
            out["policies read"] = ", ".join(self.policies) or "none"
        if self.logins:
            out["login methods (their role policies not counted)"] = ", ".join(self.logins)
        if self.warnings:
            out["warnings"] = " | ".join(self.warnings)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "operator": self.operator,
            "accounts": list(self.accounts),
            "owned": list(self.owned),
            "granted": {a: list(why) for a, why in self.granted.items()},
            "policies": list(self.policies),
            "entity": self.entity,
            "vault": self.vault,
            "complete": self.complete,
            "warnings": list(self.warnings),
            "logins": list(self.logins),
        }


def _some(items: Sequence[str], most: int) -> str:
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


# -- pure: templates, rules, accounts ----------------------------------------------------------
class UnknownTemplate(ValueError):
    """A policy template Sentinel does not know how to fill in."""


def _lookup(expr: str, identity: Identity) -> str | None:
    """The value of one ``{{identity...}}`` expression for ``identity`` (None: it has none)."""
    parts = expr.split(".")
    if parts[:2] == ["identity", "entity"] and len(parts) >= 3:
        return _entity_value(expr, parts[2:], identity)
    if parts[:2] == ["identity", "groups"] and len(parts) >= 5 and parts[2] in ("ids", "names"):
        return _group_value(expr, parts[2], parts[3], parts[4:], identity)
    raise UnknownTemplate(expr)


def _entity_value(expr: str, rest: list[str], identity: Identity) -> str | None:
    """``identity.entity.<rest>``: id, name, metadata.<key>, aliases.<mount accessor>.<field>."""
    if rest in (["id"], ["name"]):
        return identity.id if rest == ["id"] else identity.name
    if rest[0] == "metadata" and len(rest) == 2:
        return identity.metadata.get(rest[1])
    if rest[0] == "aliases" and len(rest) >= 3:
        alias = next((a for a in identity.aliases if a.get("mount_accessor") == rest[1]), None)
        field_ = rest[2:]
        if field_ in (["id"], ["name"]):
            return None if alias is None else str(alias.get(field_[0]) or "") or None
        if field_[0] in ("metadata", "custom_metadata") and len(field_) == 2:
            return None if alias is None else (alias.get(field_[0]) or {}).get(field_[1])
    raise UnknownTemplate(expr)


def _group_value(expr: str, by: str, key: str, rest: list[str], identity: Identity) -> str | None:
    """``identity.groups.<ids|names>.<key>.<rest>``: id, name or metadata.<key> of that group."""
    group = next((g for g in identity.groups if (g.id if by == "ids" else g.name) == key), None)
    if rest in (["id"], ["name"]):
        return None if group is None else getattr(group, rest[0])
    if rest[0] == "metadata" and len(rest) == 2:
        return None if group is None else group.metadata.get(rest[1])
    raise UnknownTemplate(expr)


def fill_templates(path: str, identity: Identity) -> str | None:
    """``path`` with ``{{identity...}}`` filled in, or ``None`` when Vault would skip the path.

    Vault ignores a templated path whose values do not exist for the entity (no such
    metadata key, alias or group); an expression Sentinel does not know raises
    ``UnknownTemplate``.
    """
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        value = _lookup(m.group(1), identity)
        if value is None or value == "":
            missing = True
            return ""
        return value

    out = _TEMPLATE.sub(sub, path)
    return None if missing else out


def reached_accounts(
    acl: Acl, inventory: Inventory, kv_mount: str, capability_prefixes: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """Account id -> what the merged rules let the operator do there (only accounts with something)."""
    m_ = kv_mount.strip("/")
    out: dict[str, tuple[str, ...]] = {}
    for account in inventory:
        why: list[str] = []
        for prefix in dict.fromkeys(capability_prefixes):
            for cap in ACTING:
                m = acl.match(f"{prefix}/accounts/{account.id}/{cap}")
                if m is not None and granted(m.capabilities):
                    why.append(f"{cap} via {m.rule} ({', '.join(m.policies)})")
        for key in dict.fromkeys([*(c.key for c in account.credentials), *CREDENTIAL_KINDS]):
            m = acl.match(f"{m_}/data/accounts/{account.id}/{key}")
            if m is not None and "read" in m.capabilities and "deny" not in m.capabilities:
                why.append(f"reads credential {key} via {m.rule} ({', '.join(m.policies)})")
                break
        if why:
            out[account.id] = tuple(why)
    return out


# -- Vault reads -----------------------------------------------------------------------------------
def _data(resp: Any) -> dict[str, Any] | None:
    if not isinstance(resp, dict) or not isinstance(resp.get("data"), dict):
        return None
    return dict(resp["data"])


def read_identity(vault: PolicySource, operator: str, warnings: list[str]) -> Identity:
    """The entity named ``operator`` and its groups; raises ``VaultNotFound`` when there is none."""
    data = _data(vault.request("GET", f"identity/entity/name/{quote(operator, safe='')}"))
    if data is None:
        raise VaultNotFound(f"no Vault identity entity named {operator!r}")
    group_ids: list[str] = []
    for key in ("group_ids", "direct_group_ids", "inherited_group_ids"):
        group_ids.extend(str(g) for g in data.get(key) or ())
    groups: list[Group] = []
    for gid in dict.fromkeys(group_ids):
        try:
            g = _data(vault.request("GET", f"identity/group/id/{quote(gid, safe='')}"))
        except VaultNotFound:
            continue
        except VaultError as e:
            warnings.append(
                f"cannot read group {gid} of {operator}: {e.message}; its policies are not counted"
            )
            continue
        if g is not None:
            groups.append(
                Group(
                    str(g.get("id") or gid),
                    str(g.get("name") or ""),
                    tuple(str(p) for p in g.get("policies") or ()),
                    {str(k): str(v) for k, v in (g.get("metadata") or {}).items()},
                )
            )
    return Identity(
        id=str(data.get("id") or ""),
        name=str(data.get("name") or operator),
        policies=tuple(str(p) for p in data.get("policies") or ()),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        aliases=tuple(a for a in data.get("aliases") or () if isinstance(a, dict)),
        groups=tuple(groups),
    )


def policy_rules(
    vault: PolicySource, identity: Identity, skip: Sequence[str], warnings: list[str]
) -> tuple[list[PathRule], list[str], bool]:
    """The rules of the identity's policies, templates filled in; (rules, policies read, root)."""
    rules: list[PathRule] = []
    read: list[str] = []
    for name in identity.policy_names():
        if name in skip:
            continue
        if name == "root":
            return rules, [*read, name], True
        try:
            text = vault.policy_read(name)
        except VaultError as e:
            warnings.append(f"cannot read policy {name!r}: {e.message}; its grants are not counted")
            log.error("reach.policy_unreadable", operator=identity.name, policy=name, error=e.message)
            continue
        if text is None:  # Vault ignores a policy name that does not exist
            continue
        try:
            parsed = parse_policy(name, text)
        except PolicyParseError as e:
            warnings.append(f"{e.message}; its grants are not counted")
            log.error("reach.policy_unparsed", operator=identity.name, policy=name, error=e.message)
            continue
        read.append(name)
        for rule in parsed:
            try:
                path = fill_templates(rule.path, identity)
            except UnknownTemplate as e:
                warnings.append(
                    f"policy {name!r} line {rule.line}: template {{{{{e}}}}} is not understood; "
                    f"path {rule.path!r} is not counted"
                )
                continue
            if path is not None:
                rules.append(PathRule(path, rule.capabilities, rule.policy, rule.line))
    return rules, read, False


def operator_reach(
    vault: PolicySource | None,
    inventory: Inventory,
    operator: str,
    *,
    kv_mount: str,
    capability_prefixes: Sequence[str],
    skip_policies: Sequence[str] = (),
) -> Reach:
    """Everything ``operator`` can reach; falls back to the inventory owners (with a warning)."""
    owned = tuple(inventory.reach().get(operator, []))
    warnings: list[str] = []
    if vault is None:
        return inventory_only(inventory, operator, "Vault is not available")
    try:
        identity = read_identity(vault, operator, warnings)
        rules, policies, root = policy_rules(vault, identity, skip_policies, warnings)
    except VaultNotFound:
        return inventory_only(inventory, operator, f"no Vault identity entity is named {operator}")
    except VaultError as e:
        return inventory_only(inventory, operator, f"Vault could not be asked ({e.message})")
    grants: dict[str, tuple[str, ...]]
    if root:
        grants = {a.id: ("root policy",) for a in inventory}
    else:
        grants = reached_accounts(Acl(rules), inventory, kv_mount, capability_prefixes)
    wanted = set(owned) | set(grants)
    accounts = tuple(a.id for a in inventory if a.id in wanted)
    result = Reach(
        operator,
        accounts,
        owned,
        grants,
        tuple(policies),
        identity.id,
        True,
        tuple(warnings),
        identity.logins(),
    )
    log.info(
        "reach.computed",
        operator=operator,
        accounts=len(accounts),
        owned=len(owned),
        through_vault=len(set(grants) - set(owned)),
        policies=list(policies),
        warnings=len(warnings),
    )
    return result


def inventory_only(inventory: Inventory, operator: str, why: str) -> Reach:
    """The fallback: the accounts the inventory's owners lists give ``operator``, and why only those."""
    owned = tuple(inventory.reach().get(operator, []))
    log.warning("reach.inventory_only", operator=operator, reason=why, accounts=len(owned))
    return Reach(operator, owned, owned, warnings=(f"{why}: reach is the inventory owners only",))


def reach_for(vault: PolicySource | None, inventory: Inventory, operator: str, config: Config) -> Reach:
    """``operator_reach`` with the mount, capability prefixes and freeze policy of ``config``."""
    return operator_reach(
        vault,
        inventory,
        operator,
        kv_mount=config.vault.kv_mount,
        capability_prefixes=(config.api.acl_prefix, config.vault.policy_prefix),
        skip_policies=(freeze_policy_name(config.vault),),
    )


# -- who holds Sentinel capabilities without the freeze policy --------------------------------------
@dataclass(frozen=True)
class FreezeGap:
    """An entity or group whose policies grant Sentinel capabilities while it does not
    carry the freeze policy: a freeze cannot deny those grants in Vault."""

    kind: str  # "entity" or "group"
    name: str
    id: str
    holds: tuple[str, ...]

    def detail(self, freeze_policy: str) -> str:
        return (
            f"holds Sentinel capabilities ({_some(list(self.holds), 3)}) without the freeze policy "
            f"{freeze_policy}: a freeze cannot deny them in Vault; add it (sentinel policies apply does)"
        )


def _listed(vault: PolicySource, path: str) -> dict[str, str]:
    """``LIST`` of ``identity/<kind>/id``: id -> name."""
    try:
        data = _data(vault.request("LIST", path))
    except VaultNotFound:
        return {}
    info = (data or {}).get("key_info") or {}
    return {str(k): str((v or {}).get("name") or k) for k, v in info.items()}


def _holds(
    vault: PolicySource,
    identity: Identity,
    inventory: Inventory,
    kv_mount: str,
    prefixes: Sequence[str],
    skip: Sequence[str],
    warnings: list[str],
) -> tuple[str, ...]:
    """What Sentinel capabilities the identity's policies grant (accounts and global ones)."""
    rules, _, root = policy_rules(vault, identity, skip, warnings)
    if root:
        return ("root policy",)
    acl = Acl(rules)
    held = [f"{a}: {why[0]}" for a, why in reached_accounts(acl, inventory, kv_mount, prefixes).items()]
    for prefix in dict.fromkeys(prefixes):
        for cap in GLOBAL_CAPABILITIES:
            m = acl.match(f"{prefix}/global/{cap}")
            if m is not None and granted(m.capabilities):
                held.append(f"{cap} via {m.rule} ({', '.join(m.policies)})")
    return tuple(held)


def freeze_gaps(
    vault: PolicySource, inventory: Inventory, config: Config
) -> tuple[list[FreezeGap], list[str]]:
    """Every identity group and entity holding Sentinel capabilities without the freeze
    policy (an entity is covered when any of its groups carries it), and warnings."""
    freeze = freeze_policy_name(config.vault)
    prefixes = (config.api.acl_prefix, config.vault.policy_prefix)
    mount = config.vault.kv_mount
    warnings: list[str] = []
    gaps: list[FreezeGap] = []
    for gid, name in sorted(_listed(vault, "identity/group/id").items(), key=lambda kv: kv[1]):
        g = _data(vault.request("GET", f"identity/group/id/{quote(gid, safe='')}")) or {}
        policies = tuple(str(p) for p in g.get("policies") or ())
        if freeze in policies or not policies:
            continue
        group = Identity(id="", name="", policies=policies)
        held = _holds(vault, group, inventory, mount, prefixes, (freeze, "default"), warnings)
        if held:
            gaps.append(FreezeGap("group", name, gid, held))
    for eid, name in sorted(_listed(vault, "identity/entity/id").items(), key=lambda kv: kv[1]):
        identity = read_identity(vault, name, warnings)
        if freeze in identity.policy_names():
            continue
        held = _holds(vault, identity, inventory, mount, prefixes, (freeze,), warnings)
        if held:
            gaps.append(FreezeGap("entity", name, eid, held))
    return gaps, warnings
