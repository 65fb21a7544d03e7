"""One authorization decision for the CLI and the API (issue #12, finding 5): the same tokens
asked the same questions against OpenBao get the same answers from both entry points.

Before, the CLI counted ``create`` and ``sudo`` as granting and looked under ``[vault]
policy_prefix``, while the API counted only ``update`` under ``[api] acl_prefix``: a token
with ``sudo`` on a capability path could lock down from the CLI but not through the API."""

from __future__ import annotations

import json
import secrets

import pytest

from sentinel.api.caller_access import Authorizer, Need
from sentinel.capabilities import MissingCapability, acl_prefix, capability_path, require_self
from sentinel.config import load_config
from tests.api.conftest import World
from tests.conftest import Deployment, person_token

# Vault capabilities on the path -> whether the Sentinel capability is held
CASES = {
    "update": (["update"], True),
    "create": (["create"], True),
    "sudo": (["sudo"], False),
    "read": (["read", "list"], False),
    "patch": (["patch"], False),
    "deny wins": (["update", "deny"], False),
}
QUESTIONS = [Need("lockdown"), Need("assert_author"), Need("publish", "acct-a"), Need("moderate", "acct-b")]


def cli_answer(world: World, token: str, prefix: str, need: Need) -> bool:
    """What ``sentinel lockdown`` / ``unfreeze`` decide: the person's own token, ``require_self``."""
    try:
        require_self(
            world.admin.with_token(token), prefix, need.capability, [need.account] if need.account else []
        )
    except MissingCapability:
        return False
    return True


@pytest.mark.parametrize("case", list(CASES))
async def test_cli_and_api_give_the_same_answers(world: World, deployment: Deployment, case: str) -> None:
    caps, expected = CASES[case]
    deployment.write_config(f'acl_prefix = "{world.acl_prefix}"\n')
    config = load_config(deployment.config, env={})
    assert acl_prefix(config) == world.acl_prefix != config.vault.policy_prefix
    name = f"authz-{secrets.token_hex(3)}"
    paths = [capability_path(world.acl_prefix, n.capability, n.account) for n in QUESTIONS]
    hcl = "\n".join(f'path "{p}" {{ capabilities = {json.dumps(caps)} }}' for p in paths)
    if "deny" in caps:  # the deny in a second policy, as the freeze policy does it
        world.admin.policy_write(f"{name}-grant", hcl.replace(', "deny"', ""))
        world.admin.policy_write(name, hcl.replace('"update", ', ""))
        policies = [name, f"{name}-grant"]
    else:
        world.admin.policy_write(name, hcl)
        policies = [name]
    token, _ = person_token(world.admin, name, policies, ttl="10m")
    api = Authorizer(lambda: world.daemon, world.acl_prefix)
    _, got = await api.grants(token, QUESTIONS)
    for need in QUESTIONS:
        assert got[need] is cli_answer(world, token, acl_prefix(config), need) is expected, need


async def test_root_and_default_tokens_agree(world: World) -> None:
    api = Authorizer(lambda: world.daemon, world.acl_prefix)
    nobody, _ = person_token(world.admin, "authz-nobody", [], ttl="10m")
    for token, expected in ((world.bao.root_token, True), (nobody, False)):
        _, got = await api.grants(token, QUESTIONS)
        for need in QUESTIONS:
            assert got[need] is cli_answer(world, token, world.acl_prefix, need) is expected, need
