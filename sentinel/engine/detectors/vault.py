"""Vault-request detectors: who reads which credentials, from where and when, and who changes
Sentinel's own policies. Sentinel's own requests (``[engine.takeover] self``) never reach these."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from sentinel.engine.detectors.base import Hit, Param, detector
from sentinel.engine.takeover_context import VaultContext

CONTROL_PATHS = [
    "sys/policies/acl/sentinel*",
    "sys/policy/sentinel*",
    "auth/*/role/*",
    "auth/*/users/*",
    "identity/entity*",
    "identity/group*",
    "sys/audit*",
    "sys/auth*",
]


def _who(ctx: VaultContext) -> str:
    r = ctx.request
    return r.display_name or r.identity or "an unknown caller"


@detector(
    "vault_mass_read",
    "One identity reads the credentials of many accounts within ``window``: at least "
    "``min_accounts`` and more than ``factor`` times the most it read within that window on any "
    "earlier day (once its reading has been learned).",
    {
        "window": Param("duration", "10m", "the window"),
        "min_accounts": Param("int", 8, "accounts needed at least"),
        "factor": Param("float", 2.0, "times the identity's learned peak"),
    },
    subject="vault",
)
def vault_mass_read(ctx: VaultContext, p: Mapping[str, Any]) -> Hit | None:
    r = ctx.request
    if not r.credential_read or r.account is None or not ctx.mature:
        return None
    accounts = ctx.identity.distinct_since(r.ts - p["window"])
    accounts.add(r.account)
    n = len(accounts)
    peak = ctx.identity.peak(int(p["window"]), r.ts)
    if n < p["min_accounts"] or n <= p["factor"] * peak:
        return None
    return (
        f"{_who(ctx)} read {n} accounts' credentials within {int(p['window'] // 60)} min "
        f"(most before: {peak})",
        1.0,
    )


@detector(
    "vault_new_address",
    "A credential read from an address this identity has never read from (once learned).",
    subject="vault",
)
def vault_new_address(ctx: VaultContext, p: Mapping[str, Any]) -> Hit | None:
    r = ctx.request
    if not r.credential_read or not r.remote_address or not ctx.mature:
        return None
    if r.remote_address in ctx.identity.ips:
        return None
    return f"{_who(ctx)} read a credential from a new address {r.remote_address}", 1.0


@detector(
    "vault_odd_hour",
    "A credential read at an hour of the day (UTC, neighbours half weight) at which this identity "
    "has read at most ``rare_share`` of its reads.",
    {"rare_share": Param("float", 0.0, "share of learned reads at or below which an hour is odd")},
    subject="vault",
)
def vault_odd_hour(ctx: VaultContext, p: Mapping[str, Any]) -> Hit | None:
    r = ctx.request
    if not r.credential_read or not ctx.mature:
        return None
    share, total = ctx.identity.hour_share(ctx.hour)
    if share > p["rare_share"]:
        return None
    return f"{_who(ctx)} read a credential at {ctx.hour:02d}:00 UTC ({share:.1%} of {total} reads)", 1.0


@detector(
    "vault_new_account",
    "A credential read of an account this identity has never read before (once learned).",
    subject="vault",
)
def vault_new_account(ctx: VaultContext, p: Mapping[str, Any]) -> Hit | None:
    r = ctx.request
    if not r.credential_read or r.account is None or not ctx.mature:
        return None
    if r.account in ctx.identity.accounts:
        return None
    return f"{_who(ctx)} read {r.account}'s credentials for the first time", 1.0


@detector(
    "vault_frozen_read",
    "A read of a frozen account's credentials.",
    subject="vault",
)
def vault_frozen_read(ctx: VaultContext, p: Mapping[str, Any]) -> Hit | None:
    r = ctx.request
    if not r.credential_read or ctx.frozen is None:
        return None
    return f"{_who(ctx)} read the credentials of {r.account}, frozen since {ctx.frozen.ts_text}", 1.0


@detector(
    "vault_denied_probe",
    "At least ``min_count`` refused requests on Sentinel's paths (its KV mount, mount lookups, "
    "control paths) by one identity within ``window`` (one refusal now and then is normal).",
    {
        "window": Param("duration", "10m", "the window"),
        "min_count": Param("int", 3, "refusals that make a probe"),
    },
    subject="vault",
)
def vault_denied_probe(ctx: VaultContext, p: Mapping[str, Any]) -> Hit | None:
    r = ctx.request
    if not r.denied:
        return None
    if r.area == "" and not any(fnmatch.fnmatchcase(r.path, pat) for pat in CONTROL_PATHS):
        return None
    n = 1 + sum(1 for t in ctx.identity.denied if t >= r.ts - p["window"])
    if n < p["min_count"]:
        return None
    return (
        f"{_who(ctx)} was refused {n} times within {int(p['window'] // 60)} min, last {r.operation} {r.path}",
        1.0,
    )


@detector(
    "vault_control_change",
    "Anyone but Sentinel and its administrators changing Sentinel's policies, roles, the freeze "
    "policy or the entities and groups that hold them (``paths``, glob patterns).",
    {
        "paths": Param("str_list", CONTROL_PATHS, "the control paths (glob patterns)"),
        "except_paths": Param(
            "str_list",
            ["auth/*/users/*/password"],
            "paths that are no control change (a user's own password)",
        ),
    },
    subject="vault",
)
def vault_control_change(ctx: VaultContext, p: Mapping[str, Any]) -> Hit | None:
    r = ctx.request
    if not r.write or ctx.admin:
        return None
    if not any(fnmatch.fnmatchcase(r.path, pat) for pat in p["paths"]):
        return None
    if any(fnmatch.fnmatchcase(r.path, pat) for pat in p["except_paths"]):
        return None
    state = "tried to change" if r.denied else "changed"
    return (
        f"{_who(ctx)} {state} {r.path} ({r.operation}) and is no administrator",
        1.0 if not r.denied else 0.5,
    )


@detector(
    "vault_root_token",
    "A request made with a root token.",
    subject="vault",
)
def vault_root_token(ctx: VaultContext, p: Mapping[str, Any]) -> Hit | None:
    r = ctx.request
    if not r.root:
        return None
    return f"a root token was used: {r.operation} {r.path}", 1.0
