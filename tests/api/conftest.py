"""A world for API tests: real OpenBao, role policies rendered from a roles file, people's
tokens, three accounts on the real sandbox platform, the real engine with marker rules."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from sentinel import rulestats
from sentinel.acks import Tuning
from sentinel.api.app import create_app
from sentinel.api.caller_access import Authorizer
from sentinel.api.deps import Deps
from sentinel.api.held import HeldStore
from sentinel.api.protocols import ResponderConflict, StepUpFailed
from sentinel.config import VaultSettings
from sentinel.creds.reveal import show
from sentinel.creds.rotator import Rotator, default_adapters
from sentinel.creds.settings import RotationSettings
from sentinel.engine.engine import Engine
from sentinel.engine.loader import load_rules
from sentinel.engine.settings import EngineSettings, PolicySettings
from sentinel.inventory import Inventory, parse_inventory
from sentinel.platforms.sandbox_server import SandboxServer
from sentinel.policies import apply, parse_roles, plan, render
from sentinel.response.reach import operator_reach
from sentinel.response.service import VaultAdapters
from sentinel.settings import Duration
from sentinel.store import Store
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import DevVault
from sentinel.watcher.ledger import PublishedLedger
from tests.conftest import new_mount, person_token, seed_sandbox

RULES = Path(__file__).parent / "rules"

ROLES = {
    "roles": {
        "publisher-a": {"grants": [{"accounts": ["acct-a"], "capabilities": ["publish"]}]},
        "replier-a": {"grants": [{"accounts": ["acct-a"], "capabilities": ["respond"]}]},
        "moderator-a": {"grants": [{"accounts": ["acct-a"], "capabilities": ["moderate", "analytics"]}]},
        "analyst": {"grants": [{"all": True, "capabilities": ["analytics"]}]},
        "editor": {
            "global": ["approve"],
            "grants": [{"tags": ["brand"], "capabilities": ["publish", "respond", "analytics"]}],
        },
        "approver": {"global": ["approve"]},
        "integrator": {
            "global": ["assert_author"],
            "grants": [{"accounts": ["acct-a"], "capabilities": ["publish"]}],
        },
        "locker": {"global": ["lockdown"]},
        "tuner-a": {"grants": [{"accounts": ["acct-a"], "capabilities": ["tune"]}]},
        "unfreezer": {"global": ["unfreeze"]},
        "everything": {
            "global": ["approve", "lockdown", "unfreeze"],
            "grants": [
                {
                    "all": True,
                    "capabilities": ["publish", "respond", "moderate", "analytics", "admin", "tune"],
                }
            ],
        },
    }
}
# person -> roles
PEOPLE = {
    "op-pub": ["publisher-a"],
    "op-rep": ["replier-a"],
    "op-mod": ["moderator-a"],
    "op-analyst": ["analyst"],
    "op-editor": ["editor"],
    "op-approver": ["approver"],
    "op-tool": ["integrator"],
    "op-lock": ["locker"],
    "op-tuner": ["tuner-a"],
    "op-trial": ["publisher-a", "tuner-a"],
    "op-unfreeze": ["unfreezer"],
    "op-nobody": [],
    "op-all": ["everything"],
}


def make_inventory(tag: str) -> Inventory:
    tags = {"acct-a": ["brand"], "acct-b": ["brand"], "acct-c": ["support"]}
    return parse_inventory(
        {
            "accounts": [
                {
                    "id": aid,
                    "platform": "sandbox",
                    "handle": f"{aid}-{tag}",
                    "timezone": "UTC",
                    "publishing": "gated",
                    "owners": ["op-pub"],
                    "tags": t,
                    "credentials": [{"kind": "password"}],
                }
                for aid, t in tags.items()
            ]
        }
    )


@dataclass
class World:
    bao: DevVault
    sandbox: SandboxServer
    settings: VaultSettings
    acl_prefix: str
    admin: VaultClient
    daemon: VaultClient
    inventory: Inventory
    tokens: dict[str, str] = field(default_factory=dict)
    accessors: dict[str, str] = field(default_factory=dict)

    def person(self, name: str, policies: Sequence[str], ttl: str = "1h") -> str:
        token, accessor = person_token(self.admin, name, policies, ttl)
        self.tokens[name], self.accessors[name] = token, accessor
        return token

    def policy(self, role: str) -> str:
        return f"{self.settings.policy_prefix}-role-{role}"

    def auth(self, person: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[person]}"}

    def posts(self, account: str) -> list[dict[str, Any]]:
        handle = self.inventory[account].handle
        resp = httpx.get(f"{self.sandbox.url}/api/accounts/{handle}/posts")
        return list(resp.json()["posts"])


@pytest.fixture(scope="session")
def world(bao: DevVault, sandbox: SandboxServer) -> Iterator[World]:
    settings, admin, daemon, _ = new_mount(bao, "a", tls=True, ttl="2h")
    tag = secrets.token_hex(4)
    inventory = make_inventory(tag)
    w = World(bao, sandbox, settings, f"acl-{tag}", admin, daemon, inventory)
    seed_sandbox(sandbox.url, daemon, {a.id: a.handle for a in inventory})
    rendered = render(parse_roles(ROLES), inventory, w.acl_prefix, settings.policy_prefix)
    apply(admin, plan(admin, rendered, settings.policy_prefix))
    for person, roles in PEOPLE.items():
        w.person(person, [w.policy(r) for r in roles])
    yield w
    admin.close()
    daemon.close()


class FakeResponder:
    """Lockdown and unfreeze reduced to what the API relies on: records calls, checks TOTP."""

    def __init__(self) -> None:
        self.seed = pyotp.random_base32()
        self.frozen: dict[str, str] = {}
        self.calls: list[tuple[str, Any]] = []

    async def lock(
        self, accounts: Sequence[str], reason: str, actor: str, operator: str = "", actor_id: str = ""
    ) -> Mapping[str, Any]:
        self.calls.append(
            (
                "lock",
                (list(accounts), reason, actor, operator) if operator else (list(accounts), reason, actor),
            )
        )
        for a in accounts:
            self.frozen[a] = actor
        return {"ok": True, "accounts": list(accounts)}

    async def unfreeze(
        self, account: str, reason: str, actor: str, totp_code: str, actor_id: str = ""
    ) -> Mapping[str, Any]:
        self.calls.append(("unfreeze", (account, reason, actor)))
        if not pyotp.TOTP(self.seed).verify(totp_code):
            raise StepUpFailed("the TOTP code is wrong")
        if account not in self.frozen:
            raise ResponderConflict(f"account {account!r} is not frozen")
        del self.frozen[account]
        return {"account": account, "frozen": False}


@dataclass
class Harness:
    world: World
    deps: Deps
    client: httpx.AsyncClient
    engine: Engine
    responder: FakeResponder
    events: list[tuple[str, dict[str, Any]]]
    store: Store

    def auth(self, person: str) -> dict[str, str]:
        return self.world.auth(person)


def engine_for(inventory: Inventory) -> Engine:
    # High freeze threshold: a blocked post stays a block, it does not freeze the account.
    settings = EngineSettings(policy=PolicySettings(freeze_score=50.0))
    return Engine(inventory, load_rules([RULES]), settings)


def build_deps(
    world: World, store: Store, cache: float = 5.0, **overrides: Any
) -> tuple[Deps, Engine, FakeResponder, list[Any]]:
    engine = engine_for(world.inventory)
    responder = FakeResponder()
    events: list[tuple[str, dict[str, Any]]] = []
    adapters = VaultAdapters(world.daemon, {"base_url": world.sandbox.url})
    rotator = Rotator(
        vault=world.daemon,
        inventory=world.inventory,
        settings=RotationSettings(attempts=2, backoff=Duration(0.05), backoff_max=Duration(0.1)),
        password_policy=world.settings.password_policy,
        adapters=default_adapters({"base_url": world.sandbox.url}),
    )
    kw: dict[str, Any] = {
        "inventory": lambda: world.inventory,
        "authorizer": Authorizer(lambda: world.daemon, world.acl_prefix, cache),
        "held": HeldStore(store),
        "gate": lambda: engine,
        "responder": lambda: responder,
        "adapters": lambda: adapters,
        "ledger": PublishedLedger(store),
        "incidents": lambda: [],
        "incident": lambda n: None,
        "alerts": lambda limit: [],
        "readiness": lambda: {"vault": True, "rules": True},
        "events": lambda kind, data: events.append((kind, dict(data))),
        "aclose": adapters.aclose,
        "rotator": lambda: rotator,
        "reach": lambda operator: operator_reach(
            world.daemon,
            world.inventory,
            operator,
            kv_mount=world.settings.kv_mount,
            capability_prefixes=(world.acl_prefix, world.settings.policy_prefix),
        ),
        "credentials": lambda account: show(world.daemon, account),
        "tuning": Tuning(store, lambda: world.inventory, lambda: frozenset(r.id for r in engine.rules)),
        "rule_stats": lambda since, accounts: rulestats.read(store, since, accounts),
    }
    kw.update(overrides)
    return Deps(**kw), engine, responder, events


@pytest.fixture
async def harness(world: World, tmp_path: Path) -> AsyncIterator[Harness]:
    store = Store(tmp_path / "state.sqlite3")
    deps, engine, responder, events = build_deps(world, store)
    app = create_app(deps)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield Harness(world, deps, client, engine, responder, events, store)
    assert deps.aclose is not None
    await deps.aclose()
    store.close()


HarnessFactory = Callable[..., Harness]
