"""Attacks on Sentinel's Vault, performed against a real OpenBao with a file audit device.

Each attack runs as real requests; the audit log OpenBao writes goes through the engine's
intake exactly as the daemon's tailer hands it over, and the test checks what Sentinel makes
of it: a token merely named like Sentinel is not Sentinel, an operator who is no
administrator rewriting Sentinel's role policy is contained by entity, repeated refusals on
Sentinel's paths are a probe, and the root token is flagged.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentinel.engine.engine import Engine
from sentinel.engine.intake import Intake, Judgement
from sentinel.engine.loader import load_rules
from sentinel.engine.settings import EngineSettings
from sentinel.inventory import Account, Inventory
from sentinel.vault.devserver import DevVault

RULES = Path(__file__).resolve().parents[2] / "rules"
SELF = "token-sentinel-daemon"


class Bao:
    def __init__(self, server: DevVault) -> None:
        self.server = server

    def call(self, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return httpx.request(
            method, f"{self.server.addr}/v1/{path}", headers={"X-Vault-Token": token}, json=body, timeout=10
        )

    def root(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = self.call(method, path, self.server.root_token, body)
        assert r.status_code in (200, 204), r.text
        return r.json() if r.content else {}

    def login(self, user: str) -> tuple[str, str]:
        r = httpx.post(
            f"{self.server.addr}/v1/auth/userpass/login/{user}", json={"password": "pw"}, timeout=10
        )
        auth = r.json()["auth"]
        return auth["client_token"], auth["entity_id"]

    def token(self, display_name: str, policies: list[str]) -> tuple[str, str]:
        auth = self.root("POST", "auth/token/create", {"display_name": display_name, "policies": policies})[
            "auth"
        ]
        return auth["client_token"], auth["accessor"]

    def audit_hash(self, value: str) -> str:
        return str(self.root("POST", "sys/audit-hash/sentinel-audit", {"input": value})["data"]["hash"])


@pytest.fixture(scope="module")
def bao(audited_bao: DevVault) -> Bao:
    b = Bao(audited_bao)
    for path, body in (
        ("sys/mounts/sentinel", {"type": "kv", "options": {"version": "2"}}),
        ("sys/auth/userpass", {"type": "userpass"}),
    ):
        r = b.call("POST", path, audited_bao.root_token, body)  # the server is shared: it may be there
        assert r.status_code in (200, 204) or "already in use" in r.text, r.text
    policies = {
        "sentinel-role-team": 'path "sentinel/data/accounts/acct-00/*" { capabilities = ["read"] }',
        "ops-legacy": 'path "sys/policies/acl/*" { capabilities = ["create", "read", "update"] }',
        "sentinel-admin": 'path "*" { capabilities = ["create", "read", "update", "delete", "list"] }',
    }
    for name, hcl in policies.items():
        b.root("PUT", f"sys/policies/acl/{name}", {"policy": hcl})
    for user, pols in (
        ("op-gus", "sentinel-role-team,ops-legacy"),
        ("op-eve", "sentinel-role-team"),
        ("sec-ann", "sentinel-admin"),
    ):
        b.root("POST", f"auth/userpass/users/{user}", {"password": "pw", "token_policies": pols})
    for acct in ("acct-00", "acct-01", "acct-02"):
        b.root("POST", f"sentinel/data/accounts/{acct}/password", {"data": {"value": secrets.token_hex(8)}})
    return b


def judge(server: DevVault, start: int) -> list[Judgement]:
    """The audit log from byte ``start`` through the intake, as the daemon's tailer feeds it."""
    settings = EngineSettings()
    settings = dataclasses.replace(settings, takeover=dataclasses.replace(settings.takeover, self=(SELF,)))
    inventory = Inventory(
        accounts=tuple(
            Account(id=f"acct-0{i}", platform="x", handle="@a", timezone="UTC", publishing="gated")
            for i in range(3)
        )
    )
    intake = Intake(Engine(inventory, load_rules([RULES]), settings))
    assert server.audit_log is not None
    with server.audit_log.open("rb") as f:
        f.seek(start)
        lines = f.read().decode().splitlines()
    out: list[Judgement] = []
    for line in lines:
        out += [o for o in intake.feed(json.loads(line)) if isinstance(o, Judgement)]
    out += intake.flush()
    return out


def mark(server: DevVault) -> int:
    assert server.audit_log is not None
    return server.audit_log.stat().st_size


def test_operator_rewriting_sentinels_role_policy_is_contained_by_entity(bao: Bao) -> None:
    start = mark(bao.server)
    gus, gus_entity = bao.login("op-gus")
    ann, ann_entity = bao.login("sec-ann")
    hcl = 'path "sentinel/data/accounts/acct-00/*" { capabilities = ["read"] }'  # unchanged, still a write
    assert bao.call("PUT", "sys/policies/acl/sentinel-role-team", gus, {"policy": hcl}).status_code == 204
    assert bao.call("PUT", "sys/policies/acl/sentinel-role-team", ann, {"policy": hcl}).status_code == 204
    out = judge(bao.server, start)
    contains = [j.contain for j in out if j.contain is not None and j.identity in (gus_entity, ann_entity)]
    assert [c.identity for c in contains] == [gus_entity]
    assert "vault.control-change" in contains[0].reason and "userpass-op-gus" in contains[0].reason
    assert not [j for j in out if j.identity == ann_entity and j.verdict != "ok"]


def test_a_token_named_like_sentinel_is_not_sentinel(bao: Bao) -> None:
    start = mark(bao.server)
    daemon, _ = bao.token("sentinel-daemon", ["ops-legacy"])
    forger, forger_accessor = bao.token("sentinel-daemon", ["ops-legacy"])
    hcl = 'path "sentinel/data/accounts/acct-00/*" { capabilities = ["deny"] }'
    for token in (daemon, forger):
        r = bao.call("PUT", "sys/policies/acl/sentinel-account-freeze", token, {"policy": hcl})
        assert r.status_code == 204
    forged = "accessor:" + bao.audit_hash(forger_accessor)
    out = judge(bao.server, start)
    contained = [j.contain.identity for j in out if j.contain is not None]
    assert forged in contained  # the forger: judged and contained by its own token
    daemon_id = "accessor:" + bao.audit_hash(
        bao.root("POST", "auth/token/lookup", {"token": daemon})["data"]["accessor"]
    )
    assert daemon_id not in contained
    assert all(not j.findings for j in out if j.identity == daemon_id)


def test_repeated_refusals_on_sentinels_paths_are_a_probe(bao: Bao) -> None:
    start = mark(bao.server)
    eve, eve_entity = bao.login("op-eve")
    assert bao.call("GET", "sentinel/data/accounts/acct-00/password", eve).status_code == 200
    for path in (
        "sentinel/data/accounts/acct-01/password",
        "sentinel/data/accounts/acct-02/password",
        "sentinel/metadata/accounts/acct-02/password",
    ):
        assert bao.call("GET", path, eve).status_code == 403
    out = [j for j in judge(bao.server, start) if j.identity == eve_entity and j.kind == "vault"]
    probes = [j for j in out if any(f.rule == "vault.denied-probe" for f in j.findings)]
    assert len(probes) == 1 and probes[0].verdict == "flagged" and probes[0].account == "acct-02"
    assert out[1].account == "acct-00" and out[1].verdict == "ok"  # the permitted read


def test_root_token_use_is_noticed(bao: Bao) -> None:
    start = mark(bao.server)
    bao.root("GET", "sentinel/data/accounts/acct-01/password")
    out = [j for j in judge(bao.server, start) if j.account == "acct-01"]
    assert out and all(any(f.rule == "vault.root-token" for f in j.findings) for j in out)
    assert all(j.verdict == "flagged" and j.contain is None for j in out)
    assert out[0].identity.startswith("accessor:hmac-sha256:")  # no entity: its own identity
