"""The engine's intake: posts, account events and Vault audit entries as the sources' dicts."""

from __future__ import annotations

import dataclasses
import tomllib
from typing import Any

import pytest

from sentinel.engine.engine import Engine
from sentinel.engine.events import Decision, EventError
from sentinel.engine.intake import Intake, Judgement
from sentinel.engine.loader import load_rules
from sentinel.engine.settings import EngineSettings
from sentinel.inventory import parse_inventory
from tests.engine import takeover_sim as sim
from tests.engine.takeover_sim import ACCOUNTS, SELF, SELF_ENTITY, at

RULES = load_rules([sim.__file__.rsplit("/tests/", 1)[0] + "/rules"])


def make(kv_mount: str = "sentinel", **takeover: Any) -> Intake:
    settings = EngineSettings()
    g = dataclasses.replace(settings.takeover, self=(SELF,), **takeover)
    settings = dataclasses.replace(settings, takeover=g)
    inventory = parse_inventory(tomllib.loads(sim.INVENTORY), "<test>")
    return Intake(Engine(inventory, RULES, settings), kv_mount=kv_mount)


@pytest.fixture(scope="module")
def learned_state() -> dict[str, Any]:
    intake = make()
    for raw in sim.history():
        intake.feed(raw)
    return {"engine": intake.engine.snapshot(), "intake": intake.snapshot()}


@pytest.fixture
def learned(learned_state: dict[str, Any]) -> Intake:
    """Three weeks of routine learned (restored from a snapshot, so each test starts alike)."""
    intake = make()
    intake.engine.restore(learned_state["engine"])
    intake.restore(learned_state["intake"])
    return intake


def feed_all(intake: Intake, raws: list[dict[str, Any]]) -> list[Judgement]:
    out: list[Judgement] = []
    for raw in raws:
        out += [o for o in intake.feed(raw) if isinstance(o, Judgement)]
    return out


def rules_of(j: Judgement) -> set[str]:
    return {f.rule for f in j.findings}


# -- Vault requests: decided once --------------------------------------------------------------
def test_request_and_response_decided_once_on_the_response() -> None:
    intake = make()
    req, resp = sim.read(at(0, 10), "op-a", "acct-01")
    assert intake.feed(req) == []
    [j] = intake.feed(resp)
    assert isinstance(j, Judgement) and j.kind == "vault"
    assert (j.event, j.account, j.verdict, j.identity) == (
        req["request"]["id"],
        "acct-01",
        "ok",
        "entity-op-a",
    )
    assert intake.feed(resp) == [] and intake.flush() == []


def test_request_without_response_is_decided_after_the_timeout_or_at_flush() -> None:
    intake = make()
    req, resp = sim.read(at(0, 10), "op-a", "acct-01")
    other_req, _ = sim.read(at(0, 10, 0, 30), "op-a", "acct-02")
    intake.feed(req)
    assert intake.feed(other_req) == []  # 30 s later: still waiting
    later = sim.change(at(0, 10, 1, 10), "acct-03", "bio", "a", "b")
    decided = intake.feed(later)
    assert [o.event for o in decided] == [req["request"]["id"], later["id"]]
    assert intake.feed(resp) == []  # its response after all: not decided twice
    assert [o.event for o in intake.flush()] == [other_req["request"]["id"]]


def test_a_login_is_judged_with_the_identity_of_its_response() -> None:
    intake = make()
    req, resp = sim.audit(at(0, 10), "op-a", "auth/userpass/login/op-a", "update")
    del req["auth"]
    intake.feed(req)
    [j] = intake.feed(resp)
    assert isinstance(j, Judgement) and j.identity == "entity-op-a" and j.account is None


def test_mount_lookup_names_the_account_but_is_no_credential_read() -> None:
    intake = make()
    [j] = feed_all(
        intake, sim.audit(at(0, 10), "op-a", "sys/internal/ui/mounts/sentinel/accounts/acct-01/password")
    )
    assert j.account == "acct-01"
    assert intake.identities["entity-op-a"].reads == type(intake.identities["entity-op-a"].reads)()


def test_kv_mount_is_configurable() -> None:
    intake = make(kv_mount="creds")
    [j] = feed_all(intake, sim.audit(at(0, 10), "op-a", "creds/data/accounts/acct-01/password"))
    [k] = feed_all(intake, sim.read(at(0, 10, 1), "op-a", "acct-02"))
    assert j.account == "acct-01" and k.account is None


# -- credential access ---------------------------------------------------------------------------
def test_mass_read_at_night_from_a_new_address_contains_and_freezes_what_was_read(learned: Intake) -> None:
    reads = [sim.read(at(21, 3, 0, 10 * i), "op-a", a, ip="192.0.2.66") for i, a in enumerate(ACCOUNTS[:10])]
    out = feed_all(learned, [e for pair in reads for e in pair])
    contains = [j.contain for j in out if j.contain is not None]
    assert len(contains) == 1
    c = contains[0]
    assert c.identity == "entity-op-a" and "vault.mass-read" in c.reason
    frozen = {fz.account for j in out for fz in j.freezes}
    assert frozen == set(ACCOUNTS[:10])  # the first eight at containment, then each further read
    assert all(learned.engine.frozen(a) is not None for a in ACCOUNTS[:10])
    assert learned.engine.frozen(ACCOUNTS[11]) is None


def test_containment_may_leave_accounts_unfrozen(learned: Intake) -> None:
    learned.settings = dataclasses.replace(learned.settings, contain_freezes="none")
    reads = [sim.read(at(21, 3, 0, 10 * i), "op-a", a, ip="192.0.2.66") for i, a in enumerate(ACCOUNTS[:10])]
    out = feed_all(learned, [e for pair in reads for e in pair])
    assert [j.contain.identity for j in out if j.contain] == ["entity-op-a"]
    assert not any(j.freezes for j in out)


def test_administrator_onboarding_reads_stay_quiet(learned: Intake) -> None:
    admin = ("default", "sentinel-admin")
    reads = [
        sim.read(at(21, 10, 0, 20 * i), "sec-a", a, policies=admin, ip="203.0.113.200")
        for i, a in enumerate(ACCOUNTS[:5])
    ]
    out = feed_all(learned, [e for pair in reads for e in pair])
    assert [j.verdict for j in out] == ["ok"] * 5 and not any(j.contain for j in out)


def test_sentinel_rotating_every_account_at_night_is_its_own_work(learned: Intake) -> None:
    reads = [
        sim.read(at(21, 2, 0, i), SELF, a, entity_id=SELF_ENTITY, ip="198.51.100.250")
        for i, a in enumerate(ACCOUNTS)
    ]
    out = feed_all(learned, [e for pair in reads for e in pair])
    assert all(j.verdict == "ok" and not j.findings and j.contain is None for j in out)


def test_a_token_named_like_sentinel_with_another_entity_is_not_sentinel(learned: Intake) -> None:
    entries = sim.audit(
        at(21, 3), "mallory", "sys/policies/acl/sentinel-role-team", "update", display_name=SELF
    )
    [j] = feed_all(learned, entries)
    assert "vault.control-change" in rules_of(j)
    assert j.contain is not None and j.contain.identity == "entity-mallory"


def test_a_flood_of_tokens_keeps_a_bounded_number_of_identities_and_every_contained_one() -> None:
    intake = make()
    intake.identity_cap = 50
    path = "sys/policies/acl/sentinel-role-team"
    [mallory] = feed_all(intake, sim.audit(at(0, 3), "mallory", path, "update"))
    assert mallory.contain is not None
    reads = [sim.read(at(0, 3, 1, i), f"token-ci-{i}", "acct-01", entity_id="") for i in range(400)]
    feed_all(intake, [e for pair in reads for e in pair])
    assert len(intake.identities) == 50
    assert "entity-mallory" in intake.identities  # its containment outlives the flood
    assert "accessor:hmac-sha256:token-ci-399acc" in intake.identities
    assert "accessor:hmac-sha256:token-ci-0acc" not in intake.identities
    [again] = feed_all(intake, sim.read(at(0, 3, 10), "mallory", "acct-02"))
    assert "policy.contained" in rules_of(again) and [fz.account for fz in again.freezes] == ["acct-02"]


def test_sentinels_display_name_is_bound_to_its_token_when_it_has_no_entity() -> None:
    intake = make()
    path = "sys/policies/acl/sentinel-account-acct-01"
    own = sim.audit(at(0, 2), "daemon", path, "update", entity_id="", display_name=SELF)
    forged = sim.audit(at(0, 3), "forger", path, "update", entity_id="", display_name=SELF)
    [j] = feed_all(intake, own)
    assert j.verdict == "ok" and not j.findings
    [k] = feed_all(intake, forged)
    assert k.contain is not None and k.contain.identity == "accessor:hmac-sha256:forgeracc"
    intake.bind_self(SELF, "accessor:hmac-sha256:newtoken")  # the daemon's token was re-issued
    [m] = feed_all(intake, sim.audit(at(0, 4), "daemon", path, "update", entity_id="", display_name=SELF))
    assert "vault.control-change" in rules_of(m)


def test_policy_change_by_an_operator_contains_by_an_administrator_does_not(learned: Intake) -> None:
    path = "sys/policies/acl/sentinel-role-team"
    [admin] = feed_all(
        learned, sim.audit(at(21, 11), "sec-a", path, "update", policies=("default", "sentinel-admin"))
    )
    assert admin.verdict == "ok" and admin.contain is None
    [op] = feed_all(learned, sim.audit(at(21, 23), "op-a", path, "update"))
    assert op.contain is not None and op.contain.identity == "entity-op-a" and op.contain.accounts == ()


def test_named_administrator_by_entity(learned: Intake) -> None:
    learned.settings = dataclasses.replace(learned.settings, admins=("entity-sec-b",))
    [j] = feed_all(learned, sim.audit(at(21, 11), "sec-b", "identity/entity/id/abc", "update"))
    assert j.verdict == "ok"


def test_a_token_without_entity_is_its_own_identity_by_accessor() -> None:
    intake = make()
    path = "sys/policies/acl/sentinel-role-team"
    [j] = feed_all(intake, sim.audit(at(0, 3), "ci", path, "update", entity_id=""))
    assert j.identity == "accessor:hmac-sha256:ciacc" and "vault.control-change" in rules_of(j)
    assert j.contain is not None and j.contain.identity == j.identity


def test_the_root_token_is_flagged_but_acts_as_an_administrator() -> None:
    intake = make()
    path = "sys/policies/acl/sentinel-role-team"
    [j] = feed_all(intake, sim.audit(at(0, 3), "root", path, "update", policies=("root",), entity_id=""))
    assert rules_of(j) == {"vault.root-token"} and j.verdict == "flagged" and j.contain is None


def test_repeated_refusals_on_sentinel_paths_are_a_probe(learned: Intake) -> None:
    paths = [
        "sentinel/metadata/accounts/",
        "sentinel/data/accounts/acct-09/password",
        "sentinel/destroy/accounts/acct-09/password",
    ]
    out = feed_all(
        learned, [e for i, p in enumerate(paths) for e in sim.audit(at(21, 10, i), "op-a", p, denied=True)]
    )
    assert [("vault.denied-probe" in rules_of(j)) for j in out] == [False, False, True]


def test_reading_a_frozen_accounts_credentials(learned: Intake) -> None:
    learned.engine.freeze("acct-00", at(21, 9).timestamp(), "test")
    [j] = feed_all(learned, sim.read(at(21, 10), "op-a", "acct-00"))
    assert "vault.frozen-account-read" in rules_of(j)


# -- account events ---------------------------------------------------------------------------------
def test_handle_hijack_freezes_before_the_first_post(learned: Intake) -> None:
    night = "192.0.2.171"
    out = feed_all(learned, [sim.change(at(21, 4), "acct-05", "app_password", None, "graysky", night)])
    assert out[0].verdict == "flagged" and [fz.account for fz in out[0].freezes] == ["acct-05"]
    assert {"account.app-added", "account.unfamiliar-source", "account.off-hours-change"} <= rules_of(out[0])
    assert learned.engine.state("acct-05").suspicious  # the account's next odd post escalates
    [d] = learned.feed(sim.post(at(21, 4, 30), "acct-05", "Claim your refund now"))
    assert isinstance(d, Decision) and d.verdict == "block"


@pytest.mark.parametrize("hour", [11, 23])
def test_an_app_password_and_a_new_handle_freeze_by_day_and_at_night_without_an_address(
    learned: Intake, hour: int
) -> None:
    """Bluesky's snapshots carry no address: the pair alone is the takeover signal."""
    pair = [
        sim.change(at(21, hour), "acct-07", "app_password", None, "auto-poster", ip=""),
        sim.change(at(21, hour, 6), "acct-07", "handle", "@acct-07", "@acct-07-airdrop", ip=""),
    ]
    for raw in pair:
        raw.pop("ip")
    added, renamed = feed_all(learned, pair)
    assert not added.freezes and "account.access-and-identity" not in rules_of(added)
    assert {"account.handle-changed", "account.access-and-identity"} <= rules_of(renamed)
    assert [fz.account for fz in renamed.freezes] == ["acct-07"]


def test_confounders_stay_quiet(learned: Intake) -> None:
    events = [
        # a planned rebrand in office hours from the usual address
        sim.change(at(21, 10), "acct-02", "display_name", "Northwind", "Northwind Labs"),
        sim.change(at(21, 10), "acct-02", "avatar", "sha256:aa", "sha256:bb"),
        # the administrator adds an app in office hours from the address administering accounts
        sim.change(at(21, 11), "acct-03", "app_password", None, "buffer-publisher-2", "203.0.113.200"),
        # Sentinel's rotation: its new app password appears and the old one goes
        sim.change(
            at(21, 2), "acct-04", "app_password", None, "sentinel-0323a", "198.51.100.250", "Sentinel"
        ),
        sim.change(
            at(21, 2, 3), "acct-04", "app_password", "sentinel-0316a", None, "198.51.100.250", "Sentinel"
        ),
        sim.change(at(21, 12), "acct-05", "bio", "News.", "News and updates."),
    ]
    out = feed_all(learned, sorted(events, key=sim.when))
    assert all(j.verdict == "ok" and not j.freezes for j in out), [(j.event, j.findings) for j in out]


def test_sentinel_recognition_is_configurable(learned: Intake) -> None:
    own = sim.change(at(21, 2), "acct-04", "app_password", None, "sentinel-0323a", "192.0.2.99", "Sentinel")
    learned.settings = dataclasses.replace(learned.settings, own_addresses=("198.51.100.250",))
    [j] = feed_all(learned, [own])
    assert "account.app-added" in rules_of(j)  # Sentinel's name and client, but not its egress


def test_two_factor_off_and_many_changes(learned: Intake) -> None:
    t = at(21, 14)
    out = feed_all(
        learned,
        [
            sim.change(t, "acct-06", "handle", "@acct-06", "@claims", "203.0.113.200"),
            sim.change(t, "acct-06", "display_name", "Acct", "Claims desk", "203.0.113.200"),
            sim.change(t, "acct-06", "two_factor", "email", "off", "203.0.113.200"),
        ],
    )
    assert "account.profile-changed" in rules_of(out[1])
    assert {"account.two-factor-off", "account.many-changes"} <= rules_of(out[2])
    assert [fz.account for j in out for fz in j.freezes] == ["acct-06"]


def test_account_event_for_an_unknown_account_names_it() -> None:
    with pytest.raises(EventError, match="'nope' is not in the inventory"):
        make().feed(sim.change(at(0, 10), "nope", "bio", "a", "b"))


def test_snapshot_restore_keeps_what_was_learned(learned: Intake, learned_state: dict[str, Any]) -> None:
    assert learned.snapshot() == learned_state["intake"]
    assert learned.identities["entity-op-a"].accounts.keys() == {"acct-00", "acct-01"}
    assert "203.0.113.200" in learned.changes.sources
    with pytest.raises(EventError, match="version"):
        learned.restore({"version": 99})


def test_a_containment_episode_ends_and_the_identity_is_judged_afresh(learned: Intake) -> None:
    path = "sys/policies/acl/sentinel-role-team"
    [first] = feed_all(learned, sim.audit(at(21, 23), "op-a", path, "update"))
    [during] = feed_all(learned, sim.read(at(21, 23, 30), "op-a", "acct-00"))
    [after] = feed_all(learned, sim.read(at(22, 10), "op-a", "acct-00"))
    [again] = feed_all(learned, sim.audit(at(23, 23), "op-a", path, "update"))
    assert first.contain is not None and during.contain is None and "policy.contained" in rules_of(during)
    assert [f.account for f in during.freezes] == ["acct-00"]  # read while contained: frozen too
    assert after.verdict == "ok" and not after.findings
    assert again.contain is not None and again.contain.ts > first.contain.ts
