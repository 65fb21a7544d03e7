"""Vault ACL policies parsed and matched like Vault: pure tests, then the same answers as OpenBao."""

from __future__ import annotations

import secrets

import pytest

from sentinel.errors import SentinelError
from sentinel.response.acl import Acl, PolicyParseError, parse_policy
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import DevVault

FULL = """\
# A policy with everything Vault accepts in a path block.
name = "ignored"

path "sentinel/accounts/+/publish" {
  capabilities = ["update"]
}

/* a block comment
   over two lines */
path "/kv/data/accounts/brand-x/*" {
  capabilities = [
    "read",   // trailing comment
    "list",
  ]
  allowed_parameters = {
    "*" = []
    "key" = ["a", "b"]
  }
  denied_parameters = { "x" = [] }
  required_parameters = ["k"]
  min_wrapping_ttl = "1s"
  max_wrapping_ttl = 90
}

path "sentinel/accounts/legacy/respond" { policy = "write" }
path "sentinel/accounts/esc\\"aped/admin" { capabilities = ["update"] }
path "sentinel/accounts/brand-x/admin" {
  capabilities = ["read"]
  policy = "sudo"
}
"""


def test_parses_every_shape_vault_accepts() -> None:
    rules = {r.path: r for r in parse_policy("full", FULL)}
    assert set(rules) == {
        "sentinel/accounts/+/publish",
        "kv/data/accounts/brand-x/*",  # the leading '/' is dropped, as Vault does
        "sentinel/accounts/legacy/respond",
        'sentinel/accounts/esc"aped/admin',
        "sentinel/accounts/brand-x/admin",
    }
    assert rules["kv/data/accounts/brand-x/*"].capabilities == {"read", "list"}
    assert (
        rules["kv/data/accounts/brand-x/*"].line == 10
        and rules["kv/data/accounts/brand-x/*"].policy == "full"
    )
    assert rules["sentinel/accounts/legacy/respond"].capabilities >= {"create", "update", "read"}
    assert "sudo" in rules["sentinel/accounts/brand-x/admin"].capabilities


def test_heredoc_capabilities_are_not_a_list() -> None:
    # A heredoc is a string; 'capabilities' must be a list (Vault refuses it too).
    with pytest.raises(PolicyParseError, match="'capabilities' must be a list"):
        parse_policy("p", 'path "a" {\n  capabilities = <<EOT\nread\nEOT\n}\n')


def test_json_policies_and_deny_wins_within_a_block() -> None:
    rules = parse_policy(
        "j",
        '{"path": {"sentinel/accounts/a/publish": {"capabilities": ["update", "deny"]},'
        ' "kv/data/accounts/a/*": {"policy": "read"}}}',
    )
    caps = {r.path: r.capabilities for r in rules}
    assert caps == {"sentinel/accounts/a/publish": {"deny"}, "kv/data/accounts/a/*": {"read", "list"}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('path "a" {\n  capabilities = ["read"]\n', "policy 'bad' end of text: '{' is never closed"),
        (
            'path "a" {\n  capabilities = ["reed"]\n}\n',
            "policy 'bad' line 2: path 'a': unknown capability 'reed'",
        ),
        ('path "a" {\n  policy = "all"\n}\n', "policy 'bad' line 2: path 'a': 'policy' is 'all'"),
        ('path "a {\n  capabilities = ["read"]\n}\n', "policy 'bad' line 1: string is never closed"),
        ('paths "a" {\n  capabilities = ["read"]\n}\n', "policy 'bad' line 1: unknown top-level key 'paths'"),
        (
            'path "a" { capabilities = ["read"] }\n/* open',
            "policy 'bad' line 2: comment '/*' is never closed",
        ),
        ('path "a" { capabilities = ["read"] } ;', "policy 'bad' line 1: unexpected character ';'"),
        ('path "a" { capabilities ["read"] }', "policy 'bad' line 1: expected '=' or '{'"),
        ('path = "a"', "policy 'bad' line 1: expected path"),
        ('{"path": [1]}', "policy 'bad': 'path' must map paths to objects"),
        ('{"path": ', "policy 'bad' line 1: not valid JSON"),
        (  # Vault reads both objects; json keeps the last: a grant would go unseen
            '{"path": {"a": {"capabilities": ["read"]}}, "path": {"b": {"capabilities": ["deny"]}}}',
            "policy 'bad': key 'path' appears twice in one JSON object",
        ),
    ],
)
def test_what_it_cannot_read_is_an_error_naming_policy_and_line(text: str, message: str) -> None:
    with pytest.raises(PolicyParseError) as e:
        parse_policy("bad", text)
    assert str(e.value).startswith(message)
    assert isinstance(e.value, SentinelError)


def test_vault_priority_rules() -> None:
    acl = Acl(
        [
            *parse_policy(
                "one",
                """
                path "s/accounts/*" { capabilities = ["update"] }
                path "s/accounts/a/publish" { capabilities = ["read"] }
                path "s/accounts/+/respond" { capabilities = ["update"] }
                path "s/accounts/b/*" { capabilities = ["read"] }
                path "s/+/c/+" { capabilities = ["sudo"] }
                path "s/accounts/+/res*" { capabilities = ["list"] }
                """,
            ),
            *parse_policy("two", 'path "s/accounts/d/respond" { capabilities = ["deny"] }'),
            *parse_policy("three", 'path "s/accounts/d/respond" { capabilities = ["update"] }'),
            *parse_policy("four", 'path "s/accounts/e/*" { capabilities = ["create"] }'),
            *parse_policy("five", 'path "s/accounts/e/*" { capabilities = ["update"] }'),
        ]
    )
    # An exact path wins over every glob, even one in the same policy that grants more.
    assert acl.capabilities("s/accounts/a/publish") == {"read"}
    # The glob whose first wildcard comes later wins: "s/accounts/b/*" over "s/accounts/+/respond".
    assert acl.capabilities("s/accounts/b/respond") == {"read"}
    # A non-prefix "+" path wins over a prefix path with its wildcard at the same place.
    assert acl.capabilities("s/accounts/z/respond") == {"update"}
    # Both globs start at the same place and both are prefixes: fewer '+' segments win.
    assert acl.capabilities("s/accounts/z/resume") == {"update"}
    # Longest prefix among plain globs.
    assert acl.capabilities("s/accounts/z/other/deep") == {"update"}
    assert acl.capabilities("s/x/c/d") == {"sudo"}
    # Same path in two policies: deny wins; otherwise capabilities are united.
    assert acl.capabilities("s/accounts/d/respond") == {"deny"}
    assert acl.capabilities("s/accounts/e/x") == {"create", "update"}
    match = acl.match("s/accounts/e/x")
    assert match is not None and match.policies == ("five", "four")
    # "+" is exactly one segment; nothing matches outside the rules.
    assert acl.capabilities("s/accounts") == frozenset()
    assert acl.capabilities("other/path") == frozenset()
    # '*' in the middle of a path is a literal character in Vault.
    literal = Acl(parse_policy("lit", 'path "s/*/x" { capabilities = ["update"] }'))
    assert literal.capabilities("s/a/x") == frozenset() and literal.capabilities("s/*/x") == {"update"}


POLICIES = {
    "a": """
        path "PFX/accounts/*" { capabilities = ["update"] }
        path "PFX/accounts/a1/publish" { capabilities = ["read"] }
        path "PFX/accounts/+/respond" { capabilities = ["update"] }
        path "PFX/accounts/b2/*" { capabilities = ["read", "list"] }
        path "PFX/+/c/+" { capabilities = ["sudo", "update"] }
        path "PFX/accounts/+/mod*" { capabilities = ["list"] }
        path "PFX/accounts/+/admin/*" { capabilities = ["create"] }
        path "PFX/kv/data/accounts/+/password" { capabilities = ["read"] }
    """,
    "b": """
        path "PFX/accounts/d4/respond" { capabilities = ["deny"] }
        path "PFX/accounts/e5/*" { capabilities = ["create"] }
        path "PFX/kv/data/accounts/*" { capabilities = ["list"] }
    """,
    "c": """
        path "PFX/accounts/d4/respond" { capabilities = ["update"] }
        path "PFX/accounts/e5/*" { capabilities = ["update", "patch"] }
        path "PFX/accounts/+/+" { policy = "read" }
    """,
}
PATHS = [
    "PFX/accounts/a1/publish",
    "PFX/accounts/a1/respond",
    "PFX/accounts/b2/respond",
    "PFX/accounts/z9/respond",
    "PFX/accounts/z9/moderate",
    "PFX/accounts/z9/other/deep",
    "PFX/accounts/z9/admin",
    "PFX/accounts/z9/admin/x",
    "PFX/x/c/d",
    "PFX/accounts/d4/respond",
    "PFX/accounts/e5/x",
    "PFX/accounts/e5/publish",
    "PFX/kv/data/accounts/a1/password",
    "PFX/kv/data/accounts/a1/api_key",
    "PFX/nothing",
]


def test_same_answers_as_openbao(bao: DevVault) -> None:
    """The matcher against the real thing: policies in OpenBao, ``sys/capabilities-self``."""
    prefix = "t" + secrets.token_hex(3)
    admin = VaultClient(bao.addr, bao.root_token)
    try:
        names = []
        rules = []
        for key, text in POLICIES.items():
            name, body = f"{prefix}-{key}", text.replace("PFX", prefix)
            admin.policy_write(name, body)
            names.append(name)
            rules.extend(parse_policy(name, body))
        token, _ = admin.create_token(policies=names, ttl="10m")  # + default: nothing under the prefix
        paths = [p.replace("PFX", prefix) for p in PATHS]
        client = admin.with_token(token)
        vault_says = client.capabilities_self(paths)
        client.close()
        acl = Acl(rules)
        for p in paths:
            ours = sorted(acl.capabilities(p)) or ["deny"]
            assert ours == sorted(vault_says[p]), p
    finally:
        admin.close()
