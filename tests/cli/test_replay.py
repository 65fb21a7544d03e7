"""``sentinel replay``: the exact JSON-lines interface, malformed lines, the shared sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sentinel.cli import main
from tests.engine import orgsim


@pytest.fixture
def org_files(tmp_path: Path) -> tuple[Path, Path, orgsim.Org]:
    org = orgsim.build(weeks=4)
    inv = tmp_path / "inventory.toml"
    inv.write_text(org.inventory_toml)
    events = tmp_path / "events.jsonl"
    lines = [json.dumps(e) for e in org.events]
    lines.insert(5, "{not json")
    lines.insert(9, json.dumps({"id": "bad", "ts": "2026-01-01", "account": "x"}))
    events.write_text("\n".join(lines) + "\n")
    return inv, events, org


def test_replay_lines_and_errors(
    org_files: tuple[Path, Path, orgsim.Org], capsys: pytest.CaptureFixture[str]
) -> None:
    inv, events, org = org_files
    assert main(["replay", "--inventory", str(inv), str(events)]) == 0
    out, err = capsys.readouterr()
    records = [json.loads(x) for x in out.splitlines()]
    assert "line 6: not valid JSON" in err and "line 10 (event bad): missing required field" in err
    decisions = [r for r in records if r["type"] == "decision"]
    freezes = [r for r in records if r["type"] == "freeze"]
    assert set(decisions[0]) == {"type", "event", "account", "verdict", "findings"}
    assert all(set(f) == {"rule", "severity", "detail"} for d in decisions for f in d["findings"])
    assert freezes and set(freezes[0]) == {"type", "account", "ts", "event", "reason"}
    gate_ids = {e["id"] for e in org.events if e["via"] == "gate"}
    assert gate_ids <= {d["event"] for d in decisions}
    # observed posts of blocked gate checks are skipped without a line
    verdicts = {d["event"]: d["verdict"] for d in decisions}
    for e in org.events:
        if e["via"] == "observed" and verdicts.get("g" + e["id"][1:]) in ("hold", "block"):
            assert e["id"] not in verdicts
    assert main(["replay", "--strict", "--inventory", str(inv), str(events)]) == 1


def test_python_dash_m_without_config(org_files: tuple[Path, Path, orgsim.Org], tmp_path: Path) -> None:
    inv, events, _ = org_files
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTINEL_")}
    r = subprocess.run(
        [sys.executable, "-m", "sentinel", "replay", "--stats", "--inventory", str(inv), str(events)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "freezes" in r.stderr and r.stdout.count('"type": "decision"') > 100


def test_unknown_inventory_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--inventory", str(tmp_path / "none.toml"), str(tmp_path / "e.jsonl")]) == 2
    assert "inventory file not found" in capsys.readouterr().err


def _takeover_files(tmp_path: Path, extra: list[dict[str, object]]) -> tuple[Path, Path]:
    from tests.engine import takeover_sim as sim

    inv = tmp_path / "inventory.toml"
    inv.write_text(sim.INVENTORY)
    events = tmp_path / "events.jsonl"
    lines = [json.dumps(e) for e in sorted([*sim.history(), *extra], key=sim.when)]
    events.write_text("\n".join(lines) + "\n")
    return inv, events


def test_replay_account_events_and_vault_audit_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.engine import takeover_sim as sim
    from tests.engine.takeover_sim import ACCOUNTS, SELF, SELF_ENTITY, at

    admin = ("default", "sentinel-admin")
    incident = [
        e
        for i, a in enumerate(ACCOUNTS[:9])
        for e in sim.read(at(21, 3, 1, 5 * i), "op-a", a, ip="192.0.2.66")
    ]
    confounders = [
        # an administrator's onboarding reads and a new app added by the administrator in office hours
        *[
            e
            for i, a in enumerate(ACCOUNTS[:5])
            for e in sim.read(at(22, 10, 0, 20 * i), "sec-a", a, policies=admin)
        ],
        sim.change(at(22, 11), "acct-10", "app_password", None, "buffer-publisher-2", "203.0.113.200"),
        # a planned rebrand in office hours; Sentinel's own rotation at night
        sim.change(at(22, 12), "acct-11", "display_name", "Acct", "Acct Labs"),
        sim.change(at(22, 12), "acct-11", "avatar", "sha256:aa", "sha256:bb"),
        *[
            e
            for i, a in enumerate(ACCOUNTS)
            for e in sim.read(at(23, 2, 0, i), SELF, a, entity_id=SELF_ENTITY)
        ],
        sim.change(
            at(23, 2, 5), "acct-10", "app_password", None, "sentinel-0325a", "198.51.100.250", "Sentinel"
        ),
    ]
    hijack = [
        sim.change(at(24, 4), "acct-11", "app_password", None, "graysky", "192.0.2.171"),
        sim.change(at(24, 4, 2), "acct-11", "handle", "@acct-11", "@claims", "192.0.2.171"),
    ]
    unanswered = sim.read(at(24, 5), "op-a", "acct-00")[0]
    inv, events = _takeover_files(tmp_path, [*incident, *confounders, *hijack, unanswered])
    with events.open("a") as f:
        f.write('{"type": "response", "request": {"id": "r"}, "time": "2026-04-01T00:00:00Z"}\n')
    assert (
        main(["replay", "--self", SELF, "--kv-mount", "sentinel", "--inventory", str(inv), str(events)]) == 0
    )
    out, err = capsys.readouterr()
    records = [json.loads(x) for x in out.splitlines()]
    assert "audit entry: field 'request.path' must be a string" in err
    decided = [r["event"] for r in records if r["type"] == "decision"]
    request_ids = {e["request"]["id"] for e in [*sim.history(), *incident] if "request" in e}
    assert len(decided) == len(set(decided))
    assert unanswered["request"]["id"] in decided  # decided on its own at the end
    contains = [r for r in records if r["type"] == "contain"]
    assert [(c["identity"], c["ts"]) for c in contains] == [("entity-op-a", "2026-03-23T03:01:35Z")]
    assert set(contains[0]) == {"type", "identity", "ts", "event", "reason"}
    freezes = {(r["account"], r["ts"][:10]) for r in records if r["type"] == "freeze"}
    assert freezes == {*((a, "2026-03-23") for a in ACCOUNTS[:9]), ("acct-11", "2026-03-26")}
    by_id = {r["event"]: r for r in records if r["type"] == "decision"}
    for e in confounders:
        rid = e["id"] if "kind" in e else e["request"]["id"]  # type: ignore[index]
        assert by_id[rid]["verdict"] == "ok", by_id[rid]
    assert by_id[incident[0]["request"]["id"]]["account"] == "acct-00"
    assert request_ids  # the history's requests were there to learn from


def test_a_gate_check_the_gate_would_refuse_as_too_long_is_not_judged(
    org_files: tuple[Path, Path, orgsim.Org], capsys: pytest.CaptureFixture[str]
) -> None:
    """The daemon answers a gate check past its platform's length 422 before the engine sees
    it (nothing learned, held or frozen): replay, which decides as the daemon did, must not
    judge it either; an observed post is judged whatever its length, as in the daemon."""
    inv, events, org = org_files
    first = next(e for e in org.events if e["account"] == "acme-brand-li" and e["via"] == "gate")
    long = " ".join(["giveaway"] * 400)  # 3,599 characters; LinkedIn takes 3,000
    extra = [
        {**first, "id": "g-long", "post_id": "li:long", "text": long},
        {**first, "id": "o-long", "post_id": "li:long-seen", "via": "observed", "text": long},
    ]
    with events.open("a") as f:
        f.write("".join(json.dumps(e) + "\n" for e in extra))
    assert main(["replay", "--stats", "--inventory", str(inv), str(events)]) == 0
    out, err = capsys.readouterr()
    decided = {json.loads(x)["event"] for x in out.splitlines() if json.loads(x)["type"] == "decision"}
    assert "g-long" not in decided and "o-long" in decided
    assert "(event g-long): field 'text' is longer than the 3000 characters" in err
    assert "the gate refuses it before deciding" in err and "1 refused by the gate" in err
