"""The Vault side of a freeze: nobody but responders can act on, or read, a frozen account.

Vault evaluates policies by name on every request, and an explicit ``deny`` in any policy a
token carries wins over every grant *of the same path*. Across different paths Vault
applies only the most specific rule, and an exact path beats every glob: a role's exact
grant on ``<prefix>/accounts/<id>/moderate`` wins over a deny on ``<prefix>/accounts/<id>/*``.
So Sentinel's one freeze policy, ``<prefix>-account-freeze``, denies, for every frozen
account, each exact path a grant can name — every capability path
(``<prefix>/accounts/<id>/<capability>``) and every credential's data and metadata path
(the inventory's credentials and every standard kind) — and the globs besides.

Every role group ``sentinel policies apply`` writes carries that policy; responders'
roles do not. Freezing or unfreezing rewrites the one policy, so it takes effect for every
open token at once, with one Vault call; an operator whose login spread the attack can have
their identity entity disabled, which stops every token of theirs.

Because every role carries the freeze policy, a grant written into it would reach every
role member: ``verify_freeze_policy`` re-reads it, rewrites anything in it that is not
Sentinel's own deny rules, and reports what it found, so that the daemon's
``FreezePolicyWatch`` raises a critical ``freeze_policy_tampered`` alert.

The same token can also write Sentinel's own deny rules for an account that is not frozen:
a silent denial of service on its owners. A freeze is recorded in the state store before its
deny is written, so a deny for an account the store does not hold as frozen is at most an
unfreeze being written; once one has stayed past ``grace`` (``UNRECORDED_GRACE``), the
check removes it (the policy is written again from the store) and reports the account, and
the watch raises a critical ``freeze_unrecorded`` alert naming it, resolved once a later
check finds the deny gone. A rewrite for any other reason keeps such a deny while it is
still within its grace, so nothing is removed before it was seen to stay.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sentinel.capabilities import ACCOUNT_CAPABILITIES
from sentinel.config import Config
from sentinel.errors import SentinelError, VaultNotFound
from sentinel.inventory import CREDENTIAL_KINDS, Inventory
from sentinel.logs import Recurring, get_logger
from sentinel.response.acl import PathRule, PolicyParseError, parse_policy
from sentinel.response.store import ResponseStore
from sentinel.vault.client import VaultClient
from sentinel.vault.policies import (
    FREEZE_PLACEHOLDER,
    empty_freeze_policy,
    freeze_policy_header,
    freeze_policy_name,
)
from sentinel.vault.settings import VaultSettings

__all__ = [
    "UNRECORDED_GRACE",
    "FreezePolicyCheck",
    "FreezePolicyWatch",
    "VaultContainment",
    "containment_for",
    "freeze_paths",
    "freeze_policy_name",
    "render_freeze_policy",
]

log = get_logger("sentinel.response.containment")

_KV_VERBS = ("data", "metadata")
UNRECORDED_GRACE = 30.0
"""Seconds a deny for an account the store holds as not frozen may stay (an unfreeze being
written, perhaps by another process) before the check removes it and reports it."""


def freeze_paths(
    settings: VaultSettings, account: str, credentials: Iterable[str] = (), prefixes: Sequence[str] = ()
) -> list[str]:
    """Every path the freeze policy denies for ``account``: the exact capability and credential
    paths a role or a hand-written policy may grant (an exact grant would beat a glob deny),
    then the globs for whatever else lies below the account."""
    m = settings.kv_mount.strip("/")
    caps = dict.fromkeys([*prefixes, settings.policy_prefix])
    keys = dict.fromkeys([*CREDENTIAL_KINDS, *credentials])
    paths = [f"{p}/accounts/{account}/{c}" for p in caps for c in ACCOUNT_CAPABILITIES]
    paths += [f"{m}/{verb}/accounts/{account}/{k}" for k in keys for verb in _KV_VERBS]
    paths += [f"{m}/{verb}/accounts/{account}/*" for verb in _KV_VERBS]
    paths += [f"{p}/accounts/{account}/*" for p in caps]
    return paths


def render_freeze_policy(
    settings: VaultSettings,
    frozen: Iterable[str],
    credentials: Mapping[str, Iterable[str]] | None = None,
    prefixes: Sequence[str] = (),
) -> str:
    """The freeze policy denying ``frozen`` (``credentials``: account -> its credential names
    beyond the standard kinds; ``prefixes``: capability path prefixes beside the policy prefix)."""
    credentials = credentials or {}
    accounts = sorted(set(frozen))
    if not accounts:
        return empty_freeze_policy(settings)
    paths = (p for a in accounts for p in freeze_paths(settings, a, credentials.get(a, ()), prefixes))
    return _deny_lines(freeze_policy_header(settings), paths)


def _deny_lines(header: Sequence[str], paths: Iterable[str]) -> str:
    """The freeze policy's text: its header, then one deny line per path."""
    lines = [*header, *(f'path "{path}" {{ capabilities = ["deny"] }}' for path in paths)]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class FreezePolicyCheck:
    """What ``verify_freeze_policy`` found: ``tampered`` when the policy held anything
    Sentinel did not write (``findings`` say what), ``rewritten`` when it was written again."""

    tampered: bool
    rewritten: bool
    findings: tuple[str, ...] = ()
    unrecorded: tuple[str, ...] = ()
    """Accounts the policy denied though the store holds no freeze for them."""
    removed: tuple[str, ...] = ()
    """Of those, the ones denied past the grace: this check removed their denies."""


class VaultContainment:
    def __init__(
        self,
        vault: VaultClient,
        settings: VaultSettings,
        store: ResponseStore,
        inventory: Inventory | None = None,
        prefixes: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.vault = vault
        self.settings = settings
        self.store = store
        self.inventory = inventory
        self.prefixes = tuple(prefixes)
        self.clock = clock
        self.grace = UNRECORDED_GRACE
        self._unrecorded_since: dict[str, float] = {}
        """Accounts denied without a recorded freeze, and since when (this clock)."""
        self._lock = threading.Lock()  # a check never interleaves with a write of this process

    def _credentials(self) -> dict[str, list[str]]:
        if self.inventory is None:
            return {}
        return {a.id: [c.key for c in a.credentials] for a in self.inventory}

    def _paths(self, account: str) -> list[str]:
        return freeze_paths(self.settings, account, self._credentials().get(account, ()), self.prefixes)

    def render(self, frozen: Iterable[str]) -> str:
        return render_freeze_policy(self.settings, frozen, self._credentials(), self.prefixes)

    def write_freeze_policy(self) -> list[str]:
        """Rewrite the freeze policy from the store's frozen set; return the accounts denied."""
        with self._lock:
            frozen = self.store.frozen()
            self.vault.policy_write(freeze_policy_name(self.settings), self.render(frozen))
        return frozen

    def verify_freeze_policy(self, resync: bool = False) -> FreezePolicyCheck:
        """Re-read the freeze policy; rewrite it from the store when it differs.

        Tampering is a rule that is not one of Sentinel's own denies (a grant, or a deny of
        some other path), an unreadable policy, or a frozen account whose freeze was already
        written (its ``vault`` step is done) and is no longer denied. A policy that is merely
        behind the store (a freeze or unfreeze being written right now) is left to its
        writer. ``resync`` (at start and after a reload, when the inventory's credentials may
        have changed) rewrites such a policy too, and counts a missing deny as drift.
        """
        name = freeze_policy_name(self.settings)
        with self._lock:
            expected = self.render(self.store.frozen())
            actual = self.vault.policy_read(name)
            if actual is not None and actual.strip() == expected.strip():
                self._unrecorded_since.clear()
                return FreezePolicyCheck(False, False)
            denied = self._denied(actual)
            # read after the policy: a freeze is in the store before its deny is in Vault
            frozen = self.store.frozen()
            unrecorded, removed = self._unrecorded(denied, frozen)
            findings = self._foreign(actual) if actual is not None else []
            written = [a for a in frozen if self._vault_step_done(a)]
            if not resync:
                findings += [
                    f"the freeze of {a} was lifted" for a in written if not set(self._paths(a)) <= denied
                ]
            if not findings and not removed and not resync and actual is not None:
                return FreezePolicyCheck(False, False, unrecorded=unrecorded)
            kept = set(unrecorded) - set(removed)  # still within their grace
            self.vault.policy_write(name, self.render(set(self.store.frozen()) | kept))
        if findings:
            log.error("freeze.policy_tampered", policy=name, findings=findings)
        if removed:
            log.error("freeze.unrecorded_deny_removed", policy=name, accounts=list(removed))
        return FreezePolicyCheck(bool(findings), True, tuple(findings), unrecorded, removed)

    def _unrecorded(self, denied: set[str], frozen: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Accounts with Sentinel's own denies in the policy but no freeze in the store, and
        those of them denied for longer than the grace."""
        now = self.clock()
        ids = {a for a in map(_account_of, denied) if a is not None}
        accounts = ids - {FREEZE_PLACEHOLDER, *frozen}
        unrecorded = sorted(a for a in accounts if denied & set(self._paths(a)))
        since = {a: self._unrecorded_since.get(a, now) for a in unrecorded}
        self._unrecorded_since = since
        removed = tuple(a for a in unrecorded if now - since[a] >= self.grace)
        return tuple(unrecorded), removed

    def _denied(self, text: str | None) -> set[str]:
        try:
            rules = parse_policy(freeze_policy_name(self.settings), text or "")
        except PolicyParseError:
            return set()
        return {r.path for r in rules if r.capabilities == {"deny"}}

    def _foreign(self, text: str) -> list[str]:
        """What in ``text`` Sentinel did not write: grants, and denies of paths not its own."""
        try:
            rules = parse_policy(freeze_policy_name(self.settings), text)
        except PolicyParseError as e:
            return [f"unreadable: {e.message}"]
        own: dict[str, set[str]] = {}
        out = []
        if text.strip() != self._written_form(rules).strip():
            # Sentinel writes one line per denied path; any other text (JSON, repeated keys,
            # nested blocks, escapes) may be read by Vault otherwise than by this parser.
            out.append("the policy is not in the form Sentinel writes it (one deny line per path)")
        for r in rules:
            if r.capabilities != {"deny"}:
                out.append(f"path {r.path!r} grants {', '.join(sorted(r.capabilities))}")
                continue
            account = _account_of(r.path)
            if account is not None and account not in own:
                own[account] = set(self._paths(account))
            if account is None or r.path not in own[account]:
                out.append(f"path {r.path!r} is denied, which Sentinel never denies")
        return out

    def _written_form(self, rules: Sequence[PathRule]) -> str:
        """The text Sentinel writes for the deny rules ``rules`` (see ``render_freeze_policy``)."""
        return _deny_lines(freeze_policy_header(self.settings), (r.path for r in rules))

    def _vault_step_done(self, account: str) -> bool:
        rec = self.store.get(account)
        return rec is not None and any(s.step == "vault" and s.status == "done" for s in rec.steps)

    def set_operator_disabled(self, operator: str, disabled: bool) -> str:
        """Disable (or re-enable) the Vault identity entity named ``operator``; return its id."""
        entity = self.vault.entity_by_name(operator)
        if entity is None:
            raise VaultNotFound(f"no Vault identity entity named {operator!r}")
        entity_id = str(entity["id"])
        if disabled and entity_id == self.vault.lookup_self().entity_id:
            # Disabling it would end Sentinel's own token mid-lockdown: no freeze, rotation,
            # audit signature or alert after that until an administrator re-enabled it.
            raise SentinelError(
                f"{operator!r} is Sentinel's own Vault identity: not disabled; "
                "if Sentinel's login is compromised, revoke it with an administrator's token"
            )
        self.vault.entity_set_disabled(entity_id, disabled)
        return entity_id


def containment_for(
    vault: VaultClient, config: Config, inventory: Inventory, store: ResponseStore
) -> VaultContainment:
    """The containment of a configured Sentinel: its mount, prefixes and inventory."""
    return VaultContainment(vault, config.vault, store, inventory, (config.api.acl_prefix,))


_ACCOUNT = re.compile(r"/accounts/([^/*+]+)/")


def _account_of(path: str) -> str | None:
    m = _ACCOUNT.search(path)
    return m.group(1) if m else None


Alert = Callable[[FreezePolicyCheck], None]
Unrecorded = Callable[[str, bool], None]
"""``(account, found)``: a deny without a recorded freeze was removed (``True``), or is gone (``False``)."""


class FreezePolicyWatch:
    """The daemon's watch over the freeze policy: every ``interval`` seconds, verify it and
    hand a tampering finding to ``on_tamper`` (the alert and the audit entry), and each account
    denied without a recorded freeze to ``on_unrecorded`` (once, and again once it is gone)."""

    def __init__(
        self,
        containment: VaultContainment,
        interval: float,
        on_tamper: Alert,
        on_unrecorded: Unrecorded | None = None,
    ) -> None:
        self.containment = containment
        self.interval = interval
        self.on_tamper = on_tamper
        self.on_unrecorded = on_unrecorded
        self.alerted: set[str] = set()
        """Accounts reported as denied without a recorded freeze, not yet seen gone."""
        self.checks = 0
        self.failing = Recurring(log, "freeze.policy_check_failed", "freeze.policy_check_recovered")

    async def check(self, resync: bool = False) -> FreezePolicyCheck | None:
        try:
            result = await asyncio.to_thread(self.containment.verify_freeze_policy, resync)
        except SentinelError as e:  # Vault unreachable: try again next round
            self.failing.failed(e.message)
            return None
        finally:
            self.checks += 1
        self.failing.ok()
        if result.tampered:
            self.on_tamper(result)
        self._report(result)
        return result

    def _report(self, result: FreezePolicyCheck) -> None:
        if self.on_unrecorded is None:
            return
        for account in result.removed:
            if account not in self.alerted:
                self.alerted.add(account)
                self.on_unrecorded(account, True)
        for account in sorted(self.alerted - set(result.unrecorded)):
            self.alerted.discard(account)
            self.on_unrecorded(account, False)

    async def run(self) -> None:
        await self.check(resync=True)
        while True:
            await asyncio.sleep(self.interval)
            await self.check()
