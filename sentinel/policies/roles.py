"""The roles file: who may do what on which accounts, in a few lines of TOML.

```toml
[roles.social-team]
description = "Writes and answers for the brand accounts"
members = ["op-alice", "op-bob"]        # Vault identity entity names
global = ["approve"]                    # approve | lockdown | unfreeze

[[roles.social-team.grants]]
tags = ["brand"]                        # accounts by inventory tag ...
capabilities = ["publish", "respond", "analytics"]

[[roles.social-team.grants]]
accounts = ["example-support-x"]        # ... by id, or all = true for every account
capabilities = ["respond"]
```

Capabilities per account: publish, respond, moderate, analytics, admin, tune. Errors name the
file, role and key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentinel.capabilities import ACCOUNT_CAPABILITIES, GLOBAL_CAPABILITIES
from sentinel.errors import ConfigError

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_MEMBER = re.compile(r"^[A-Za-z0-9._@-]{1,128}$")


@dataclass(frozen=True)
class Grant:
    capabilities: tuple[str, ...]
    accounts: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    all: bool = False


@dataclass(frozen=True)
class Role:
    name: str
    description: str = ""
    members: tuple[str, ...] = ()
    global_capabilities: tuple[str, ...] = ()
    grants: tuple[Grant, ...] = ()


@dataclass(frozen=True)
class RolesFile:
    roles: tuple[Role, ...]
    source: str = "<memory>"


def _strings(raw: Mapping[str, Any], key: str, where: str, allowed: tuple[str, ...] = ()) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of non-empty strings")
    for v in value:
        if allowed and v not in allowed:
            raise ConfigError(f"{where}: '{key}' has {v!r}; allowed: {', '.join(allowed)}")
    return tuple(dict.fromkeys(value))


def _grant(raw: Any, where: str) -> Grant:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a grant must be a table")
    unknown = sorted(set(raw) - {"capabilities", "accounts", "tags", "all"})
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed: accounts, tags, all, capabilities")
    caps = _strings(raw, "capabilities", where, ACCOUNT_CAPABILITIES)
    if not caps:
        raise ConfigError(
            f"{where}: 'capabilities' must name at least one of {', '.join(ACCOUNT_CAPABILITIES)}"
        )
    everything = raw.get("all", False)
    if not isinstance(everything, bool):
        raise ConfigError(f"{where}: 'all' must be true or false")
    grant = Grant(caps, _strings(raw, "accounts", where), _strings(raw, "tags", where), everything)
    if not (grant.accounts or grant.tags or grant.all):
        raise ConfigError(f"{where}: name the accounts (accounts = [...], tags = [...] or all = true)")
    return grant


def _role(name: str, raw: Any, source: str) -> Role:
    where = f"{source}: role {name!r}"
    if not _NAME.match(name):
        raise ConfigError(f"{where}: role names use lowercase letters, digits, '-' and '_' (at most 64)")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table ([roles.{name}])")
    unknown = sorted(set(raw) - {"description", "members", "global", "grants"})
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; allowed: description, members, global, grants"
        )
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{where}: 'description' must be a string")
    members = _strings(raw, "members", where)
    for m in members:
        if not _MEMBER.match(m):
            raise ConfigError(f"{where}: member {m!r} may only hold letters, digits, '.', '_', '@' or '-'")
    grants_raw = raw.get("grants", [])
    if not isinstance(grants_raw, list):
        raise ConfigError(f"{where}: 'grants' must be an array of tables ([[roles.{name}.grants]])")
    grants = tuple(_grant(g, f"{where} grant {i + 1}") for i, g in enumerate(grants_raw))
    glob = _strings(raw, "global", where, GLOBAL_CAPABILITIES)
    if not grants and not glob:
        raise ConfigError(f"{where}: grants nothing; add [[roles.{name}.grants]] or global = [...]")
    return Role(name, description, members, glob, grants)


def parse_roles(data: Mapping[str, Any], source: str = "<memory>") -> RolesFile:
    unknown = sorted(set(data) - {"roles"})
    if unknown:
        raise ConfigError(
            f"{source}: unknown top-level key {unknown[0]!r}; the file holds [roles.NAME] tables"
        )
    roles = data.get("roles", {})
    if not isinstance(roles, dict) or not roles:
        raise ConfigError(f"{source}: no roles; define at least one [roles.NAME] table")
    return RolesFile(tuple(_role(name, raw, source) for name, raw in roles.items()), source)


def load_roles(path: str | Path) -> RolesFile:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: roles file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read roles file: {e}") from None
    return parse_roles(data, str(p))
