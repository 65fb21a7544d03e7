"""Signing in to the console through Vault's own login endpoints.

A person either pastes a Vault token they already hold, or signs in with a Vault login
method that takes a user name and password (``userpass``, ``ldap``: the same request
shape), posted to Vault's ``auth/<mount>/login/<user>``. Vault decides; the console only
keeps the token Vault returned, and revokes it when the session ends, however it ends
(``sentinel.console.revocations``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from sentinel.errors import SentinelError, VaultUnavailable
from sentinel.logs import get_logger

log = get_logger("sentinel.console")

MOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}")


class LoginFailed(SentinelError):
    """Vault refused the credentials (or cannot be reached); the message says which."""


class VaultRequests(Protocol):
    """What logins need of ``sentinel.vault.client.VaultClient``."""

    def with_token(self, token: str) -> VaultRequests: ...
    def request(self, method: str, path: str, json: object = None) -> object: ...
    def close(self) -> None: ...


class VaultLogin:
    """Password logins and token revocation against the daemon's Vault server."""

    def __init__(self, vault: Callable[[], VaultRequests | None]) -> None:
        self._vault = vault

    def _client(self, token: str) -> VaultRequests:
        vault = self._vault()
        if vault is None:
            raise LoginFailed("Sentinel is not connected to Vault; sign-in is not possible now")
        return vault.with_token(token)

    def password(self, mount: str, username: str, password: str) -> str:
        """Log in at ``auth/<mount>/login/<username>``; the new token, or ``LoginFailed``."""
        if not MOUNT.fullmatch(mount):
            raise LoginFailed("field 'mount': a Vault auth mount name (letters, digits, '_', '-', '.')")
        if not USERNAME.fullmatch(username):
            raise LoginFailed("field 'username': letters, digits and '_.@+-', up to 128")
        if not password or len(password) > 1024:
            raise LoginFailed("field 'password': required, up to 1024 characters")
        client = self._client("")
        try:
            answer = client.request("POST", f"auth/{mount}/login/{username}", json={"password": password})
        except VaultUnavailable as e:
            raise LoginFailed(f"Vault cannot be reached: {e.message}") from None
        except SentinelError:
            log.info("console.login_refused", mount=mount, username=username)
            raise LoginFailed("Vault refused this user name and password") from None
        finally:
            client.close()
        auth = answer.get("auth") if isinstance(answer, dict) else None
        token = auth.get("client_token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise LoginFailed("Vault returned no token for this login")
        return token

    def revoke(self, token: str) -> str:
        """Revoke a token the console obtained: ``revoked``, or ``invalid`` when Vault no
        longer accepts it (nothing left to revoke), or ``refused`` when Vault accepts it but
        will not let it revoke itself (its policies lack ``default``); ``VaultUnavailable``
        when Vault cannot be asked now (the caller tries again)."""
        vault = self._vault()
        if vault is None:
            raise VaultUnavailable("Sentinel is not connected to Vault")
        client = vault.with_token(token)
        try:
            try:
                client.request("POST", "auth/token/revoke-self")
            except VaultUnavailable:
                raise
            except SentinelError:
                try:
                    client.request("GET", "auth/token/lookup-self")
                except VaultUnavailable:
                    raise
                except SentinelError:
                    return "invalid"
                return "refused"
            return "revoked"
        finally:
            client.close()
