"""The adapter interface every platform implements, and the data it speaks in.

An adapter is one account's handle on one platform: it lists the account's own posts since
a cursor, publishes, replies, lists / hides / deletes the comments under a post, deletes,
revokes sessions and app passwords, rotates a credential and
locks the account, *where the platform's API allows it*. What an API cannot do is declared
in the adapter's ``info`` (``PlatformInfo``: capability flags, rate limits, and for every
missing capability the exact manual step), and calling it raises ``PlatformNotSupported``
carrying those instructions; nothing is faked.

Credentials arrive as a plain mapping from the caller (the rotator reads them from Vault):
``identifier``, ``password``, ``app_password``, ``access_token``, ``refresh_token``,
``client_id``, ``client_secret`` and platform-specific ids. Adapters register every secret
value with ``sentinel.redact.register_secret`` as soon as they receive or create it.
"""

from __future__ import annotations

import enum
import hashlib
import time
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import httpx

from sentinel.account_fields import FIELDS, LIST_FIELDS
from sentinel.errors import PlatformError
from sentinel.platforms.errors import PlatformNotSupported, PlatformRejected
from sentinel.platforms.http import HttpClient, Sleep
from sentinel.platforms.post_length import UNDECLARED, TextLimit
from sentinel.platforms.timefmt import utc_z
from sentinel.redact import is_secret_key, register_secret


class Capability(enum.StrEnum):
    """Things Sentinel may need to do on a platform."""

    LIST_TIMELINE = "list_timeline"
    PUBLISH = "publish"
    DELETE_POST = "delete_post"
    VERIFY_CREDENTIAL = "verify_credential"
    REVOKE_SESSIONS = "revoke_sessions"
    REVOKE_TOKEN = "revoke_token"
    APP_PASSWORDS = "app_passwords"
    ROTATE_CREDENTIAL = "rotate_credential"
    CHANGE_PASSWORD = "change_password"
    LOCK_ACCOUNT = "lock_account"
    REPLY = "reply"
    LIST_COMMENTS = "list_comments"
    HIDE_COMMENT = "hide_comment"
    DELETE_COMMENT = "delete_comment"
    ACCOUNT_STATE = "account_state"


class Push(enum.StrEnum):
    """How a platform tells Sentinel that an account changed, beside being polled."""

    STREAM = "stream"
    """An event stream Sentinel subscribes to (Bluesky's repository stream, Mastodon's user stream)."""
    WEBHOOK = "webhook"
    """The platform calls the daemon's ``/v1/hooks/<platform>`` (Meta, X's Account Activity API)."""


POSTING = frozenset(
    {Capability.LIST_TIMELINE, Capability.PUBLISH, Capability.DELETE_POST, Capability.VERIFY_CREDENTIAL}
)
"""What most platforms' APIs offer for an account's own posts."""
COMMENTS = frozenset(
    {Capability.REPLY, Capability.LIST_COMMENTS, Capability.HIDE_COMMENT, Capability.DELETE_COMMENT}
)
"""Replies and comment moderation."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``count`` calls per ``per_seconds`` (as the platform documents it)."""

    count: int
    per_seconds: float
    source: str = ""

    @property
    def min_interval(self) -> float:
        """Seconds between calls that keep within the limit when spread evenly."""
        return self.per_seconds / self.count if self.count else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "per_seconds": self.per_seconds, "source": self.source}


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Documented limits that bound how fast Sentinel can read, write and clean up."""

    delete: RateLimit | None = None
    write: RateLimit | None = None
    read: RateLimit | None = None
    poll_interval: float = 60.0
    """Default seconds between timeline polls of one account (within ``read``)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "delete": self.delete.to_dict() if self.delete else None,
            "write": self.write.to_dict() if self.write else None,
            "read": self.read.to_dict() if self.read else None,
            "poll_interval": self.poll_interval,
        }


@dataclass(frozen=True)
class PlatformInfo:
    """What one platform's API offers, for the responder, the watcher and ``accounts audit``."""

    platform: str
    capabilities: frozenset[Capability]
    limits: RateLimits
    manual: Mapping[Capability, str] = field(default_factory=dict)
    """For each capability the API lacks: what a person must do instead, step by step."""
    notes: Mapping[Capability, str] = field(default_factory=dict)
    """Caveats about capabilities that exist but do less than their name suggests."""
    endpoints: tuple[str, ...] = ()
    """The documented API endpoints the adapter uses."""
    state_fields: frozenset[str] = frozenset()
    """The ``STATE_FIELDS`` its ``account_state`` snapshot shows (what the API exposes)."""
    push: frozenset[Push] = frozenset()
    """How the platform pushes changes (the watcher still polls, less often)."""
    renews: str = ""
    """The credential kind ``rotate_credential`` renews, declared with ``ROTATE_CREDENTIAL``:
    ``"oauth_token"`` (the platform's OAuth refresh flow issues a new access token) or
    ``"app_password"`` (a new app password, verified, replaces the one the adapter's sessions
    log in with, and the old one is revoked: Bluesky, the sandbox)."""
    text_limit: TextLimit = UNDECLARED
    """The longest post text the platform documents (``sentinel.platforms.post_length``): the
    gate, the broker and held-post approval refuse a longer one before the engine runs."""

    def __post_init__(self) -> None:
        if (Capability.ROTATE_CREDENTIAL in self.capabilities) != bool(self.renews):
            raise ValueError(f"{self.platform}: declare rotate_credential together with what it renews")

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def require(self, capability: Capability, account: str = "") -> None:
        """Raise ``PlatformNotSupported`` (with the manual step) unless ``capability`` is offered."""
        if capability not in self.capabilities:
            raise not_supported(self, capability, account)

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "capabilities": {c.value: c in self.capabilities for c in Capability},
            "limits": self.limits.to_dict(),
            "manual": {c.value: text for c, text in self.manual.items()},
            "notes": {c.value: text for c, text in self.notes.items()},
            "endpoints": list(self.endpoints),
            "state_fields": sorted(self.state_fields),
            "push": {p.value: p in self.push for p in Push},
            "text_limit": self.text_limit.to_dict(),
        }


def not_supported(info: PlatformInfo, capability: Capability, account: str = "") -> PlatformNotSupported:
    who = f"account {account!r} on " if account else ""
    step = info.manual.get(capability, "")
    msg = f"{who}{info.platform}: the platform's API cannot {capability.value.replace('_', ' ')}"
    if step:
        msg += f"; by hand: {step}"
    return PlatformNotSupported(msg, instructions=step)


def not_own(adapter: AdapterBase, comment_id: str, instead: str) -> PlatformRejected:
    """The platform lets the account delete only what it wrote itself."""
    return PlatformRejected(
        f"account {adapter.account!r} on {adapter.info.platform}: comment {comment_id!r} was written by "
        f"someone else and the platform deletes only the account's own; {instead}"
    )


@dataclass(frozen=True, slots=True)
class Post:
    """One post as the platform shows it."""

    post_id: str
    text: str
    created_at: str
    """UTC, ``YYYY-MM-DDTHH:MM:SSZ`` (the platform's own timestamp, normalised)."""
    client: str = ""
    """The application that published it, where the platform says (Mastodon, sandbox)."""
    url: str = ""


@dataclass(frozen=True, slots=True)
class Comment:
    """One reply or comment under a post, as the platform shows it to the post's owner."""

    comment_id: str
    """What ``hide_comment`` and ``delete_comment`` take (URL-path safe: no ``/``)."""
    text: str
    author: str = ""
    """The author's handle or id on the platform."""
    created_at: str = ""
    parent_id: str = ""
    """The post or comment it answers."""
    hidden: bool = False
    own: bool = False
    """Written by the account itself (platforms that delete only an account's own posts)."""
    url: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class TimelinePage:
    """Posts newer than the cursor, oldest first, and the cursor to ask from next time."""

    posts: tuple[Post, ...]
    cursor: str | None
    more: bool = False
    """True when the platform has further new posts beyond this page."""


@dataclass(frozen=True, slots=True)
class AppPassword:
    name: str
    created_at: str = ""
    secret: str = field(default="", repr=False)
    """Only set right after creation (platforms show it once)."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a verified credential belongs to."""

    user_id: str
    handle: str = ""
    active: bool = True


STATE_FIELDS = FIELDS
"""What an account-state snapshot may hold (the ``field`` of an account event)."""


def state_snapshot(info: PlatformInfo, **values: Any) -> dict[str, Any]:
    """A snapshot as ``account_state`` returns it: exactly the platform's ``state_fields``
    (a field the API left empty is ``None``; list-like fields are sorted lists of strings)."""
    unknown = set(values) - set(info.state_fields)
    if unknown:  # an adapter bug: a field must be declared before it is shown
        raise ValueError(f"{info.platform}: account_state fields not declared: {sorted(unknown)}")
    out: dict[str, Any] = {}
    for name in STATE_FIELDS:
        if name not in info.state_fields:
            continue
        value = values.get(name)
        if name in LIST_FIELDS and value is None:
            pass  # not known this time (e.g. a permission the token lacks): no change is inferred
        elif name in LIST_FIELDS or name == "links":
            items = [str(v) for v in value or () if v]
            value = sorted(set(items)) if name in LIST_FIELDS else items
        elif isinstance(value, str):
            value = value or None
        out[name] = value
    return out


def content_hash(data: bytes) -> str:
    """How an avatar appears in a snapshot: ``sha256:<hex>`` of the image's bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


@runtime_checkable
class PlatformAdapter(Protocol):
    """One account on one platform. Every method is a coroutine; unsupported ones raise
    ``PlatformNotSupported`` with the manual step from ``info.manual``."""

    info: PlatformInfo
    account: str

    async def verify(self, credentials: Mapping[str, str] | None = None) -> Identity:
        """Log in with ``credentials`` (default: the adapter's own) and say whose they are."""
        ...

    async def list_posts(self, cursor: str | None = None, limit: int = 50) -> TimelinePage:
        """The account's own posts newer than ``cursor``, oldest first. Without a cursor:
        the newest ``limit`` posts, and a cursor at the newest, to start watching from."""
        ...

    async def publish(self, text: str) -> Post: ...

    async def reply(self, post_id: str, text: str) -> Post:
        """Publish ``text`` as a reply to (or comment on) the post or comment ``post_id``."""
        ...

    async def list_comments(self, post_id: str, limit: int = 50) -> list[Comment]:
        """Replies / comments under one post, as far as the platform lists them (``limit`` at most)."""
        ...

    async def hide_comment(self, comment_id: str, hidden: bool = True) -> None:
        """Hide a reply from the post's readers (``hidden=False``: show it again)."""
        ...

    async def delete_comment(self, comment_id: str) -> None:
        """Delete a reply / comment where the platform lets the account (already gone: no error)."""
        ...

    async def delete_post(self, post_id: str) -> None:
        """Delete one post; a post that is already gone is not an error."""
        ...

    async def revoke_sessions(self) -> None:
        """End every session / token the platform lets us end (see ``info.notes``)."""
        ...

    async def revoke_token(self) -> None:
        """Revoke Sentinel's own OAuth token at the platform (a stolen copy dies with it)."""
        ...

    async def create_app_password(self, name: str) -> AppPassword: ...

    async def list_app_passwords(self) -> list[AppPassword]: ...

    async def revoke_app_password(self, name: str) -> None: ...

    async def rotate_credential(self) -> dict[str, str]:
        """Replace the account's rotatable credential; return the new credential mapping."""
        ...

    async def change_password(self, new_password: str) -> None: ...

    async def lock(self) -> None:
        """Lock the account at the platform so no session, old or new, can post."""
        ...

    async def account_state(self) -> dict[str, Any]:
        """A snapshot of the account's identity and access, as far as the API shows them
        (``info.state_fields``; see ``state_snapshot()``)."""
        ...

    async def unlock(self) -> None: ...

    async def aclose(self) -> None: ...


class AdapterBase:
    """Defaults for every ``PlatformAdapter`` method: raise ``PlatformNotSupported`` with the
    platform's manual step. Adapters override what their API offers.

    The one constructor every adapter shares: it keeps the credential (registering its
    secrets) and opens ``self.http`` on ``api_root(base_url)`` with the platform's error
    translation (``classify``) and headers (``extra_headers``). Options: ``base_url`` (the
    API's address, for self-hosted instances and tests), ``transport`` (tests), ``client``
    (a shared ``httpx.AsyncClient``: one connection pool for many accounts), ``sleep`` and
    ``timeout``."""

    info: PlatformInfo
    base_url: ClassVar[str] = ""
    """The platform's API address, unless the caller passes ``base_url``."""
    extra_headers: ClassVar[Mapping[str, str]] = {}
    default_timeout: ClassVar[float] = 15.0

    def __init__(
        self,
        account: str,
        credentials: Mapping[str, str],
        *,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
        sleep: Sleep | None = None,
        timeout: float | None = None,
    ) -> None:
        self.account = account
        self.credentials: dict[str, str] = dict(credentials)
        register_credentials(self.credentials)
        self._http_options: dict[str, Any] = {
            "transport": transport,
            "client": client,
            "sleep": sleep,
            "timeout": self.default_timeout if timeout is None else timeout,
        }
        self.http = self.http_client(self.api_root(base_url))

    def api_root(self, base_url: str | None) -> str:
        """The URL the adapter's request paths are relative to."""
        return base_url or self.base_url

    def http_client(self, root: str) -> HttpClient:
        """An ``HttpClient`` for this account on ``root``, with the adapter's options."""
        return HttpClient(
            self.info.platform,
            self.account,
            root,
            error_hook=self.classify,
            headers=self.extra_headers,
            **self._http_options,
        )

    def classify(self, response: httpx.Response, message: str) -> PlatformError | None:
        """Platform-specific error translation (``None``: the generic one by HTTP status)."""
        return None

    def _unsupported(self, capability: Capability) -> PlatformNotSupported:
        return not_supported(self.info, capability, self.account)

    async def verify(self, credentials: Mapping[str, str] | None = None) -> Identity:
        raise self._unsupported(Capability.VERIFY_CREDENTIAL)

    async def list_posts(self, cursor: str | None = None, limit: int = 50) -> TimelinePage:
        raise self._unsupported(Capability.LIST_TIMELINE)

    async def publish(self, text: str) -> Post:
        raise self._unsupported(Capability.PUBLISH)

    async def reply(self, post_id: str, text: str) -> Post:
        raise self._unsupported(Capability.REPLY)

    async def list_comments(self, post_id: str, limit: int = 50) -> list[Comment]:
        raise self._unsupported(Capability.LIST_COMMENTS)

    async def hide_comment(self, comment_id: str, hidden: bool = True) -> None:
        raise self._unsupported(Capability.HIDE_COMMENT)

    async def delete_comment(self, comment_id: str) -> None:
        raise self._unsupported(Capability.DELETE_COMMENT)

    async def delete_post(self, post_id: str) -> None:
        raise self._unsupported(Capability.DELETE_POST)

    async def revoke_sessions(self) -> None:
        raise self._unsupported(Capability.REVOKE_SESSIONS)

    async def revoke_token(self) -> None:
        raise self._unsupported(Capability.REVOKE_TOKEN)

    async def create_app_password(self, name: str) -> AppPassword:
        raise self._unsupported(Capability.APP_PASSWORDS)

    async def list_app_passwords(self) -> list[AppPassword]:
        raise self._unsupported(Capability.APP_PASSWORDS)

    async def revoke_app_password(self, name: str) -> None:
        raise self._unsupported(Capability.APP_PASSWORDS)

    async def rotate_credential(self) -> dict[str, str]:
        raise self._unsupported(Capability.ROTATE_CREDENTIAL)

    async def change_password(self, new_password: str) -> None:
        raise self._unsupported(Capability.CHANGE_PASSWORD)

    async def lock(self) -> None:
        raise self._unsupported(Capability.LOCK_ACCOUNT)

    async def unlock(self) -> None:
        raise self._unsupported(Capability.LOCK_ACCOUNT)

    async def account_state(self) -> dict[str, Any]:
        raise self._unsupported(Capability.ACCOUNT_STATE)

    async def image_hash(self, url: object) -> str | None:
        """``content_hash`` of the image at ``url`` (an avatar), fetched without credentials and
        only over https (the address comes from the platform's answer: never a plain-http or
        local URL)."""
        if not isinstance(url, str) or not url.startswith("https://"):
            return None
        return content_hash((await self.http.request("GET", url)).content)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AdapterBase:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def register_credentials(credentials: Mapping[str, str]) -> None:
    """Register every secret-looking value of a credential mapping with the redactor."""
    for key, value in credentials.items():
        if is_secret_key(key) and isinstance(value, str):
            register_secret(value)


def normalise_text(text: str) -> str:
    """Text as compared when reconciling: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


FUTURE_SKEW = 300.0
"""Seconds a platform's time (a post's creation, a record key) may run ahead of this clock and
still be believed: some platforms let the client set it."""


def page_since(posts: Iterable[Post], cursor: str | None, limit: int = 50) -> TimelinePage:
    """A page for platforms that list newest first and filter by time: posts at or after the
    cursor (a ``YYYY-MM-DDTHH:MM:SSZ`` timestamp; the watcher drops ids it has seen), oldest
    first. Without a cursor: the newest ``limit`` posts and a cursor at the newest. A time
    more than ``FUTURE_SKEW`` ahead never becomes the cursor (it would hide every later post),
    and a cursor that is already such a time lists the newest posts again."""
    ordered = sorted(posts, key=lambda p: (p.created_at, p.post_id))
    latest = utc_z(time.time() + FUTURE_SKEW)
    if cursor is None or cursor > latest:
        ordered = ordered[-limit:]
    elif cursor:
        ordered = [p for p in ordered if p.created_at >= cursor]
    dated = [p.created_at for p in ordered if p.created_at <= latest]
    newest = dated[-1] if dated else (cursor if cursor and cursor <= latest else "")
    return TimelinePage(posts=tuple(ordered), cursor=newest)
