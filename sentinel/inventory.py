"""The inventory: one TOML file listing every account Sentinel protects.

Each ``[[accounts]]`` table needs ``id``, ``platform``, ``handle``, ``timezone`` (IANA) and
``publishing`` (``"gated"`` or ``"open"``); ``owners``, ``tags`` and ``domains`` default to
empty lists. Optional: ``business_hours`` (``"mon-fri 08:00-18:00"``, several specs
separated by commas), ``retired``, ``display_name``, ``max_post_length`` (the longest post
text this account may publish, where it differs from its platform's documented maximum: an
X account without Premium takes 280, a Mastodon server sets its own) and
``[[accounts.credentials]]`` tables with ``kind`` and ``rotation`` (a duration such as ``"90d"``).

Every error names the file, the account (by id, or by position when the id itself is
bad) and the key, and nothing is half-loaded: either the whole file is valid or
``InventoryError`` is raised.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sentinel.durations import parse_duration
from sentinel.errors import InventoryError
from sentinel.files import writable_by_others

PLATFORMS = (
    "bluesky",
    "facebook",
    "instagram",
    "linkedin",
    "mastodon",
    "sandbox",
    "threads",
    "tiktok",
    "x",
    "youtube",
)
PUBLISHING = ("gated", "open")
CREDENTIAL_KINDS = ("password", "app_password", "oauth_token", "api_key", "totp_seed")
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_KNOWN_KEYS = {
    "id",
    "platform",
    "handle",
    "timezone",
    "publishing",
    "owners",
    "tags",
    "domains",
    "business_hours",
    "retired",
    "display_name",
    "credentials",
    "max_post_length",
}
MAX_POST_LENGTH = 1_000_000
"""The largest ``max_post_length`` an account may declare."""


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Weekly windows in the account's local time: (weekday 0=Mon, start minute, end minute)."""

    spec: str
    windows: tuple[tuple[int, int, int], ...]

    def contains(self, weekday: int, minute_of_day: int) -> bool:
        return any(d == weekday and s <= minute_of_day < e for d, s, e in self.windows)

    @classmethod
    def parse(cls, spec: str) -> BusinessHours:
        """Parse ``"mon-fri 08:00-18:00, sat 10:00-14:00"``; raise ``ValueError`` if malformed."""
        windows: list[tuple[int, int, int]] = []
        for part in spec.split(","):
            part = part.strip().lower()
            m = re.fullmatch(r"([a-z]{3})(?:-([a-z]{3}))?\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", part)
            if not m:
                raise ValueError(f"{part!r} is not like 'mon-fri 08:00-18:00'")
            d0, d1 = m.group(1), m.group(2) or m.group(1)
            if d0 not in _DAYS or d1 not in _DAYS:
                raise ValueError(f"unknown day in {part!r}; use {', '.join(_DAYS)}")
            start = int(m.group(3)) * 60 + int(m.group(4))
            end = int(m.group(5)) * 60 + int(m.group(6))
            if not (0 <= start < 24 * 60 and 0 < end <= 24 * 60 and start < end):
                raise ValueError(f"hours in {part!r} must be within 00:00-24:00 and start before they end")
            i, j = _DAYS.index(d0), _DAYS.index(d1)
            days = range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)]
            windows.extend((d, start, end) for d in days)
        return cls(spec=spec, windows=tuple(windows))


@dataclass(frozen=True, slots=True)
class CredentialSpec:
    kind: str
    rotation_seconds: float | None = None
    name: str = ""

    @property
    def key(self) -> str:
        """The credential's name under the account in Vault (defaults to its kind)."""
        return self.name or self.kind


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    platform: str
    handle: str
    timezone: str
    publishing: str
    owners: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    business_hours: BusinessHours | None = None
    retired: bool = False
    display_name: str = ""
    credentials: tuple[CredentialSpec, ...] = ()
    max_post_length: int | None = None
    """The longest post text the account takes, where it differs from its platform's
    documented maximum (``PlatformInfo.text_limit``)."""

    @property
    def gated(self) -> bool:
        return self.publishing == "gated"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "platform": self.platform,
            "handle": self.handle,
            "timezone": self.timezone,
            "publishing": self.publishing,
            "owners": list(self.owners),
            "tags": list(self.tags),
            "domains": list(self.domains),
            "business_hours": self.business_hours.spec if self.business_hours else None,
            "retired": self.retired,
            "display_name": self.display_name,
            "max_post_length": self.max_post_length,
            "credentials": [
                {"kind": c.kind, "name": c.key, "rotation_seconds": c.rotation_seconds}
                for c in self.credentials
            ],
        }


@dataclass(frozen=True)
class Inventory:
    accounts: tuple[Account, ...]
    source: str = "<memory>"
    _by_id: Mapping[str, Account] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {a.id: a for a in self.accounts})

    def __iter__(self) -> Iterator[Account]:
        return iter(self.accounts)

    def __len__(self) -> int:
        return len(self.accounts)

    def __contains__(self, account_id: object) -> bool:
        return account_id in self._by_id

    def get(self, account_id: str) -> Account | None:
        return self._by_id.get(account_id)

    def __getitem__(self, account_id: str) -> Account:
        try:
            return self._by_id[account_id]
        except KeyError:
            raise InventoryError(f"{self.source}: no account with id {account_id!r}") from None

    @property
    def active(self) -> tuple[Account, ...]:
        return tuple(a for a in self.accounts if not a.retired)

    def select(
        self,
        ids: Iterable[str] = (),
        tags: Iterable[str] = (),
        platforms: Iterable[str] = (),
        operators: Iterable[str] = (),
        everything: bool = False,
    ) -> list[Account]:
        """Accounts matching any of the selectors (union), in inventory order.

        Unknown ids raise ``InventoryError`` so a typo never silently selects nothing.
        """
        ids, tags, platforms, operators = list(ids), set(tags), set(platforms), set(operators)
        for i in ids:
            self[i]
        wanted = set(ids)
        out = []
        for a in self.accounts:
            if (
                everything
                or a.id in wanted
                or tags.intersection(a.tags)
                or a.platform in platforms
                or operators.intersection(a.owners)
            ):
                out.append(a)
        return out

    def reach(self) -> dict[str, list[str]]:
        """Operator id -> accounts whose ``owners`` name that operator.

        The inventory's half of a blast radius; ``sentinel.response.reach`` adds the accounts
        the operator's Vault policies grant.
        """
        out: dict[str, list[str]] = {}
        for a in self.accounts:
            for o in a.owners:
                out.setdefault(o, []).append(a.id)
        return out


def _where(source: str, index: int, raw: Mapping[str, Any]) -> str:
    rid = raw.get("id")
    if isinstance(rid, str) and rid:
        return f"{source}: account {rid!r}"
    return f"{source}: accounts[{index}]"


def _str(raw: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
    if key not in raw:
        if required:
            raise InventoryError(f"{where}: missing required key {key!r}")
        return ""
    v = raw[key]
    if not isinstance(v, str) or not v.strip():
        raise InventoryError(f"{where}: key {key!r} must be a non-empty string, got {v!r}")
    return v.strip()


def _strlist(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    v = raw.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
        raise InventoryError(f"{where}: key {key!r} must be a list of non-empty strings")
    return tuple(x.strip() for x in v)


def _account(raw: Any, index: int, source: str) -> Account:
    if not isinstance(raw, dict):
        raise InventoryError(f"{source}: accounts[{index}] must be a table")
    where = _where(source, index, raw)
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise InventoryError(
            f"{where}: unknown key {unknown[0]!r}; allowed keys are {', '.join(sorted(_KNOWN_KEYS))}"
        )
    aid = _str(raw, "id", where)
    if not _ID.match(aid):
        raise InventoryError(
            f"{where}: key 'id' must be lowercase letters, digits, '.', '_' or '-' (at most 128), got {aid!r}"
        )
    platform = _str(raw, "platform", where).lower()
    if platform not in PLATFORMS:
        raise InventoryError(f"{where}: key 'platform' is {platform!r}; allowed: {', '.join(PLATFORMS)}")
    tz = _str(raw, "timezone", where)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InventoryError(
            f"{where}: key 'timezone' is {tz!r}, not an IANA time zone such as 'Europe/Berlin'"
        ) from None
    publishing = _str(raw, "publishing", where)
    if publishing not in PUBLISHING:
        raise InventoryError(f"{where}: key 'publishing' is {publishing!r}; allowed: gated, open")
    bh = None
    if "business_hours" in raw:
        spec = _str(raw, "business_hours", where)
        try:
            bh = BusinessHours.parse(spec)
        except ValueError as e:
            raise InventoryError(f"{where}: key 'business_hours': {e}") from None
    retired = raw.get("retired", False)
    if not isinstance(retired, bool):
        raise InventoryError(f"{where}: key 'retired' must be true or false")
    max_post_length = raw.get("max_post_length")
    if max_post_length is not None and (
        isinstance(max_post_length, bool)
        or not isinstance(max_post_length, int)
        or not 0 < max_post_length <= MAX_POST_LENGTH
    ):
        raise InventoryError(
            f"{where}: key 'max_post_length' must be a whole number from 1 to {MAX_POST_LENGTH}, "
            f"got {max_post_length!r}"
        )
    creds: list[CredentialSpec] = []
    raw_creds = raw.get("credentials", [])
    if not isinstance(raw_creds, list):
        raise InventoryError(f"{where}: key 'credentials' must be an array of tables")
    seen: set[str] = set()
    for j, c in enumerate(raw_creds):
        cw = f"{where}: credentials[{j}]"
        if not isinstance(c, dict):
            raise InventoryError(f"{cw} must be a table with 'kind' and optional 'rotation', 'name'")
        bad = sorted(set(c) - {"kind", "rotation", "name"})
        if bad:
            raise InventoryError(f"{cw}: unknown key {bad[0]!r}; allowed keys are kind, name, rotation")
        kind = _str(c, "kind", cw)
        if kind not in CREDENTIAL_KINDS:
            raise InventoryError(f"{cw}: key 'kind' is {kind!r}; allowed: {', '.join(CREDENTIAL_KINDS)}")
        rot = None
        if "rotation" in c:
            try:
                rot = parse_duration(c["rotation"])
            except ValueError as e:
                raise InventoryError(f"{cw}: key 'rotation': {e}") from None
        name = _str(c, "name", cw, required=False)
        if name and not _ID.match(name):
            raise InventoryError(f"{cw}: key 'name' must be lowercase letters, digits, '.', '_' or '-'")
        cred = CredentialSpec(kind=kind, rotation_seconds=rot, name=name)
        if cred.key in seen:
            raise InventoryError(f"{cw}: credential {cred.key!r} is listed twice; give one a 'name'")
        seen.add(cred.key)
        creds.append(cred)
    return Account(
        id=aid,
        platform=platform,
        handle=_str(raw, "handle", where),
        timezone=tz,
        publishing=publishing,
        owners=_strlist(raw, "owners", where),
        tags=_strlist(raw, "tags", where),
        domains=tuple(d.lower() for d in _strlist(raw, "domains", where)),
        business_hours=bh,
        retired=retired,
        display_name=_str(raw, "display_name", where, required=False),
        credentials=tuple(creds),
        max_post_length=max_post_length,
    )


def parse_inventory(data: Mapping[str, Any], source: str = "<memory>") -> Inventory:
    """Validate an already-parsed TOML document."""
    extra = sorted(set(data) - {"accounts"})
    if extra:
        raise InventoryError(f"{source}: unknown top-level key {extra[0]!r}; only [[accounts]] is allowed")
    raw = data.get("accounts", [])
    if not isinstance(raw, list):
        raise InventoryError(f"{source}: 'accounts' must be an array of tables ([[accounts]])")
    accounts = [_account(r, i, source) for i, r in enumerate(raw)]
    ids: set[str] = set()
    for a in accounts:
        if a.id in ids:
            raise InventoryError(f"{source}: account {a.id!r}: key 'id' is used by two accounts")
        ids.add(a.id)
    return Inventory(accounts=tuple(accounts), source=source)


def load_inventory(path: str | Path) -> Inventory:
    """Read and validate the inventory file at ``path``."""
    p = Path(path)
    unsafe = writable_by_others(p)
    if unsafe:
        raise InventoryError(f"{p}: refusing an inventory others could change: {unsafe}")
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InventoryError(f"{p}: inventory file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InventoryError(f"{p}: cannot read inventory: {e.__class__.__name__}: {e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InventoryError(f"{p}: not valid TOML: {e}") from None
    return parse_inventory(data, source=str(p))
