"""OAuth 2.0 token refresh and revocation (RFC 6749 section 6, RFC 7009), shared by the
adapters of platforms that authorise with OAuth (X, LinkedIn, YouTube, TikTok, Threads)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from sentinel.platforms.base import AdapterBase
from sentinel.platforms.errors import PlatformAuthFailed
from sentinel.redact import register_secret


def basic_auth(user: str, password: str) -> str:
    """An HTTP Basic ``authorization`` header value (confidential OAuth clients)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class OAuthAdapter(AdapterBase):
    """An adapter holding ``access_token`` (and maybe ``refresh_token``) in its credentials."""

    def need(self, key: str) -> str:
        value = self.credentials.get(key, "")
        if not value:
            raise PlatformAuthFailed(
                f"account {self.account!r} on {self.info.platform}: credential has no {key!r}"
            )
        return value

    @property
    def token(self) -> str:
        return self.need("access_token")

    async def api(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self.http.json(method, path, token=self.token, **kwargs)

    async def refresh_grant(
        self, url: str, form: Mapping[str, str], auth: tuple[str, str] | None = None
    ) -> dict[str, str]:
        """Exchange the refresh token for a new access token (and refresh token if the platform
        rotates it); update and return the credential fields that changed."""
        headers = {}
        if auth is not None:
            headers["authorization"] = basic_auth(*auth)
        data = await self.http.json("POST", url, data=dict(form), headers=headers)
        access = str(data.get("access_token", ""))
        if not access:
            raise PlatformAuthFailed(
                f"account {self.account!r} on {self.info.platform}: token refresh returned no token"
            )
        changed = {"access_token": access}
        register_secret(access)
        if data.get("refresh_token"):
            changed["refresh_token"] = str(data["refresh_token"])
            register_secret(changed["refresh_token"])
        if data.get("expires_in") is not None:
            changed["expires_in"] = str(data["expires_in"])
        self.credentials.update(changed)
        return changed

    async def revoke_at(self, url: str, form: Mapping[str, str], auth: tuple[str, str] | None = None) -> None:
        headers = {}
        if auth is not None:
            headers["authorization"] = basic_auth(*auth)
        await self.http.request("POST", url, data=dict(form), headers=headers, idempotent=True)
