"""A token-holding caller, an Authorizer through a proxy that can cut Vault off, a clock."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from sentinel.api.caller_access import Authorizer, Need
from sentinel.api.grace import AuthzGrace
from sentinel.vault.client import VaultClient
from sentinel.vault.devproxy import TcpProxy
from sentinel.vault.devserver import DevVault

CACHE = 5.0
GRACE = 300.0


@dataclass
class World:
    authz: Authorizer
    proxy: TcpProxy
    admin: VaultClient
    prefix: str
    now: list[float]
    tokens: dict[str, str]
    accessors: dict[str, str]

    def tick(self, seconds: float) -> None:
        self.now[0] += seconds

    def publish(self, account: str = "acct-a") -> Need:
        return Need("publish", account)


def make_world(bao: DevVault, grace: float = GRACE) -> Iterator[World]:
    prefix = "g" + secrets.token_hex(3)
    admin = VaultClient(bao.addr, bao.root_token)
    admin.policy_write(
        f"{prefix}-pub",
        f'path "{prefix}/accounts/acct-a/publish" {{ capabilities = ["update"] }}\n'
        f'path "{prefix}/global/unfreeze" {{ capabilities = ["update"] }}\n'
        f'path "{prefix}/global/approve" {{ capabilities = ["update"] }}\n'
        f'path "{prefix}/accounts/acct-a/tune" {{ capabilities = ["update"] }}',
    )
    tokens, accessors = {}, {}
    for name, policies in (("op-pub", [f"{prefix}-pub"]), ("op-new", [f"{prefix}-pub"])):
        tokens[name], accessors[name] = admin.create_token(policies, ttl="1h", meta={"operator": name})
    now = [1000.0]
    with TcpProxy(bao.port) as proxy:
        sentinel = VaultClient(proxy.addr, bao.root_token, timeout=5.0)
        authz = Authorizer(
            lambda: sentinel,
            prefix,
            CACHE,
            clock=lambda: now[0],
            grace=AuthzGrace(grace, clock=lambda: now[0]),
        )
        try:
            yield World(authz, proxy, admin, prefix, now, tokens, accessors)
        finally:
            sentinel.close()
            admin.close()


@pytest.fixture
def world(bao: DevVault) -> Iterator[World]:
    yield from make_world(bao)
