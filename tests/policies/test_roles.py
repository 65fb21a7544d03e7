"""Parsing the roles file: what is allowed, and errors that name the file, role and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentinel.errors import ConfigError
from sentinel.policies.roles import Grant, load_roles, parse_roles

GOOD = """
[roles.social-team]
description = "Brand writers"
members = ["op-alice", "op-bob"]
global = ["approve"]

[[roles.social-team.grants]]
tags = ["brand"]
capabilities = ["publish", "respond"]

[[roles.social-team.grants]]
accounts = ["example-support-x"]
capabilities = ["respond"]

[roles.responders]
global = ["lockdown", "unfreeze"]
"""


def test_load_a_roles_file(tmp_path: Path) -> None:
    p = tmp_path / "roles.toml"
    p.write_text(GOOD)
    roles = load_roles(p)
    assert [r.name for r in roles.roles] == ["social-team", "responders"]
    team = roles.roles[0]
    assert team.members == ("op-alice", "op-bob") and team.global_capabilities == ("approve",)
    assert team.grants == (
        Grant(("publish", "respond"), tags=("brand",)),
        Grant(("respond",), accounts=("example-support-x",)),
    )


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({}, "no roles"),
        ({"role": {}}, "unknown top-level key 'role'"),
        ({"roles": {"Bad Name": {"global": ["approve"]}}}, "role 'Bad Name': role names"),
        ({"roles": {"r": {}}}, "role 'r': grants nothing"),
        (
            {"roles": {"r": {"global": ["publish"]}}},
            "'global' has 'publish'; allowed: approve, lockdown, unfreeze",
        ),
        (
            {"roles": {"r": {"grants": [{"all": True, "capabilities": ["approve"]}]}}},
            "grant 1: 'capabilities' has",
        ),
        ({"roles": {"r": {"grants": [{"capabilities": ["publish"]}]}}}, "grant 1: name the accounts"),
        ({"roles": {"r": {"grants": [{"all": True, "capabilities": []}]}}}, "must name at least one"),
        (
            {"roles": {"r": {"grants": [{"all": "yes", "capabilities": ["publish"]}]}}},
            "'all' must be true or false",
        ),
        ({"roles": {"r": {"global": ["approve"], "members": ["a b"]}}}, "member 'a b'"),
        ({"roles": {"r": {"global": ["approve"], "colour": 1}}}, "unknown key 'colour'"),
    ],
)
def test_errors_name_the_role_and_key(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=r"roles\.toml") as e:
        parse_roles(doc, "roles.toml")
    assert message in e.value.message


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_roles(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[roles\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_roles(bad)
