"""What rotating each credential kind means at the platform.

Each kind supplies the platform half of the create/set/test/finish protocol; the Vault
half (pending version first, check-and-set, finish patch) is the same for all and lives in
``sentinel.creds.rotator``. Every step here is idempotent, because a restart repeats the
step it was killed in:

``password``      create: a new password from Vault's password policy (stored as pending
                  before the platform hears of it). set: ``change_password`` unless the
                  pending password already logs in (a resumed rotation). test: log in with
                  it. The old password dies with the change; nothing to revoke.
``app_password``  create: a new app password named ``sentinel-<credential>-<version>`` at
                  the platform (it creates the secret, so it exists at the platform a moment
                  before it is stored; the account's current app password keeps working, and
                  an app password left by a killed attempt is revoked by name when the
                  create is repeated). test: log in with it. finish: revoke the old one and
                  any other app password this credential left behind.
``oauth_token``   create: the platform's refresh flow (``rotate_credential``, where the platform
                  declares it renews an ``oauth_token``: not Bluesky's, which renews an app
                  password), stored at once.
                  The platform issues the token, so a process killed between the platform's
                  answer and the Vault write loses the new token: the old access token keeps
                  working until it expires, and the next attempt refreshes again (platforms
                  that rotate refresh tokens may then ask for a new authorisation: parked and
                  alerted). Sentinel does not revoke the old access token itself (at Google
                  that revokes the whole grant); adapters that can do it safely do it inside
                  their refresh (X).
``api_key``       not rotatable through any platform API Sentinel knows: rotated by hand.
``totp_seed``     not rotatable: re-enrol 2FA at the platform, then ``sentinel totp enroll``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sentinel.errors import PlatformError
from sentinel.platforms.base import Capability, PlatformAdapter
from sentinel.platforms.errors import PlatformAuthFailed, PlatformNotFound

APP_PASSWORD_PREFIX = "sentinel-"


@dataclass
class Step:
    """What a kind's step works with: the adapter (holding the current credentials), this
    credential's current and pending data, and the version the pending one gets."""

    account: str
    key: str
    adapter: PlatformAdapter
    current: dict[str, Any]
    pending: dict[str, Any]
    version: int
    """The pending version's number (the next one, during create)."""
    identifier: str
    generate: Callable[[], Awaitable[str]]
    """A new password from Vault's password policy."""
    checkpoint: Callable[[str], None]
    """Called at step boundaries inside a kind (fault injection and progress)."""
    note: Callable[[str, str], None] = lambda field, value: None
    """``(field, value)``: Sentinel is about to add or remove this item of the account's
    state (an app password's name), so the account-state watcher knows the change is its own."""


class Kind(Protocol):
    name: str
    needs: tuple[str, ...]
    """Other credential kinds of the account the platform steps need (e.g. the main password)."""

    def unsupported(self, adapter: PlatformAdapter) -> str | None:
        """Why this kind cannot be rotated on this platform (the manual step), or None."""
        ...

    async def create(self, s: Step) -> dict[str, Any]: ...
    async def apply(self, s: Step, fresh: bool) -> None: ...
    async def test(self, s: Step) -> None: ...
    async def retire(self, s: Step) -> None: ...
    async def discard(self, s: Step) -> None:
        """Undo a pending version's traces at the platform (cancel)."""
        ...

    def login(self, s: Step, data: Mapping[str, Any]) -> dict[str, str]:
        """The credential mapping ``adapter.verify`` takes for this kind's ``data``."""
        ...


def _manual(adapter: PlatformAdapter, capability: Capability, fallback: str) -> str:
    step = adapter.info.manual.get(capability, "")
    return f"{adapter.info.platform} cannot {capability.value.replace('_', ' ')} through its API" + (
        f"; by hand: {step}" if step else f"; {fallback}"
    )


def _carry(data: Mapping[str, Any], secret_fields: tuple[str, ...]) -> dict[str, Any]:
    """The non-secret fields a new version keeps from the current one (identifier, service...)."""
    return {k: v for k, v in data.items() if k not in secret_fields}


async def works(adapter: PlatformAdapter, credentials: Mapping[str, str]) -> bool:
    """True if the platform accepts ``credentials``; False if it refuses them. Other failures
    (unreachable, rate limited) raise: they say nothing about the credential."""
    try:
        await adapter.verify(credentials)
    except PlatformAuthFailed:
        return False
    return True


class Password:
    name = "password"
    needs: tuple[str, ...] = ()

    def unsupported(self, adapter: PlatformAdapter) -> str | None:
        for cap in (Capability.CHANGE_PASSWORD, Capability.VERIFY_CREDENTIAL):
            if not adapter.info.supports(cap):
                return _manual(adapter, cap, "change it by hand and store it with sentinel creds set")
        return None

    def login(self, s: Step, data: Mapping[str, Any]) -> dict[str, str]:
        return {"identifier": str(data.get("identifier") or s.identifier), "password": str(data["value"])}

    async def create(self, s: Step) -> dict[str, Any]:
        return {**_carry(s.current, ("value",)), "value": await s.generate()}

    async def apply(self, s: Step, fresh: bool) -> None:
        if not fresh and await works(s.adapter, self.login(s, s.pending)):
            return  # the platform already took it before the restart
        s.checkpoint("set.call")
        await s.adapter.change_password(str(s.pending["value"]))

    async def test(self, s: Step) -> None:
        await s.adapter.verify(self.login(s, s.pending))

    async def retire(self, s: Step) -> None:
        return None  # the change ended the old password

    async def discard(self, s: Step) -> None:
        return None


class AppPassword:
    name = "app_password"
    needs: tuple[str, ...] = ("password",)

    def unsupported(self, adapter: PlatformAdapter) -> str | None:
        for cap in (Capability.APP_PASSWORDS, Capability.VERIFY_CREDENTIAL):
            if not adapter.info.supports(cap):
                return _manual(adapter, cap, "create one by hand and store it with sentinel creds set")
        return None

    def login(self, s: Step, data: Mapping[str, Any]) -> dict[str, str]:
        return {
            "identifier": str(data.get("identifier") or s.identifier),
            "app_password": str(data["value"]),
        }

    def _name(self, s: Step) -> str:
        return f"{APP_PASSWORD_PREFIX}{s.key}-{s.version}"

    async def create(self, s: Step) -> dict[str, Any]:
        name = self._name(s)
        # A killed attempt may have created this very name without storing its secret.
        existing = {a.name for a in await s.adapter.list_app_passwords()}
        if name in existing:
            s.checkpoint("create.orphan")
            await _revoke(s.adapter, name)
        s.checkpoint("create.call")
        s.note("app_password", name)
        created = await s.adapter.create_app_password(name)
        return {**_carry(s.current, ("value", "name")), "value": created.secret, "name": created.name}

    async def apply(self, s: Step, fresh: bool) -> None:
        return None  # the platform made it live when it created it

    async def test(self, s: Step) -> None:
        await s.adapter.verify(self.login(s, s.pending))

    async def retire(self, s: Step) -> None:
        keep = str(s.pending.get("name", ""))
        mine = f"{APP_PASSWORD_PREFIX}{s.key}-"
        old = str(s.current.get("name", ""))
        names = {a.name for a in await s.adapter.list_app_passwords()}
        doomed = sorted(n for n in names if n != keep and (n == old or n.startswith(mine)))
        for name in doomed:
            s.checkpoint("retire.call")
            s.note("app_password", name)
            await _revoke(s.adapter, name)

    async def discard(self, s: Step) -> None:
        name = str(s.pending.get("name", ""))
        if name and name != s.current.get("name"):
            s.note("app_password", name)
            await _revoke(s.adapter, name)


async def _revoke(adapter: PlatformAdapter, name: str) -> None:
    try:
        await adapter.revoke_app_password(name)
    except PlatformNotFound:
        pass  # already gone


class OAuthToken:
    name = "oauth_token"
    needs: tuple[str, ...] = ()

    def unsupported(self, adapter: PlatformAdapter) -> str | None:
        renews = adapter.info.renews
        if renews and renews != self.name:  # Bluesky: its rotate_credential renews an app password
            return (
                f"{adapter.info.platform} renews an {renews}, not an OAuth token: list an {renews} "
                "credential to rotate, or replace this token by hand with sentinel creds set"
            )
        if not renews:
            return _manual(adapter, Capability.ROTATE_CREDENTIAL, "authorise Sentinel again by hand")
        return None

    def login(self, s: Step, data: Mapping[str, Any]) -> dict[str, str]:
        return {k: str(v) for k, v in data.items() if isinstance(v, str)}

    async def create(self, s: Step) -> dict[str, Any]:
        s.checkpoint("create.call")
        changed = await s.adapter.rotate_credential()
        return {**s.current, **changed}

    async def apply(self, s: Step, fresh: bool) -> None:
        return None

    async def test(self, s: Step) -> None:
        if s.adapter.info.supports(Capability.VERIFY_CREDENTIAL):
            await s.adapter.verify(self.login(s, s.pending))

    async def retire(self, s: Step) -> None:
        return None  # left to expire: see the module docstring

    async def discard(self, s: Step) -> None:
        return None


class Manual:
    """Kinds no platform API rotates."""

    needs: tuple[str, ...] = ()

    def __init__(self, name: str, why: str) -> None:
        self.name = name
        self.why = why

    def unsupported(self, adapter: PlatformAdapter) -> str | None:
        return self.why

    def login(self, s: Step, data: Mapping[str, Any]) -> dict[str, str]:
        return {}

    async def create(self, s: Step) -> dict[str, Any]:
        raise PlatformError(self.why)

    async def apply(self, s: Step, fresh: bool) -> None:
        raise PlatformError(self.why)

    async def test(self, s: Step) -> None:
        raise PlatformError(self.why)

    async def retire(self, s: Step) -> None:
        return None

    async def discard(self, s: Step) -> None:
        return None


KINDS: dict[str, Kind] = {
    "password": Password(),
    "app_password": AppPassword(),
    "oauth_token": OAuthToken(),
    "api_key": Manual(
        "api_key",
        "API keys have no rotation API: make a new key in the platform's developer console, "
        "store it with 'sentinel creds set', then delete the old key there",
    ),
    "totp_seed": Manual(
        "totp_seed",
        "a TOTP seed is not rotated by Sentinel: re-enrol two-factor login at the platform, "
        "then store the new seed with 'sentinel totp enroll --replace'",
    ),
}


def kind_of(name: str) -> Kind:
    return KINDS.get(name) or Manual(name, f"credential kind {name!r} has no rotation")
