"""The engine API the daemon and the API gate call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sentinel.engine.engine import Engine
from sentinel.engine.events import EventError, parse_event
from sentinel.engine.loader import load_rules
from sentinel.engine.settings import EngineSettings, PolicySettings
from sentinel.inventory import Account, Inventory

RULES = load_rules([Path(__file__).resolve().parents[2] / "rules"])
INV = Inventory(
    accounts=(
        Account(
            id="g",
            platform="x",
            handle="@g",
            timezone="UTC",
            publishing="gated",
            owners=("op-a",),
            domains=("example.com",),
        ),
        Account(
            id="o", platform="x", handle="@o", timezone="UTC", publishing="open", domains=("example.com",)
        ),
    )
)
N = 0


def ev(**kw: Any) -> Any:
    global N
    N += 1
    raw = {
        "id": f"e{N}",
        "ts": "2026-03-02T10:00:00Z",
        "account": "g",
        "via": "gate",
        "text": "Hello world today",
        "client": "Tool",
        "post_id": f"p{N}",
        "author": "op-a",
        "ip": "198.51.100.1",
    }
    raw.update(kw)
    return parse_event(raw)


def test_gate_then_observed_and_skipped_posts() -> None:
    e = Engine(INV, RULES)
    d = e.evaluate(ev(post_id="a"))
    assert d.verdict == "allow" and d.to_dict() == {
        "type": "decision",
        "event": d.event,
        "account": "g",
        "verdict": "allow",
        "findings": [],
    }
    assert e.evaluate(ev(via="observed", post_id="a")).verdict == "ok"
    blocked = e.evaluate(ev(post_id="b", text="<script>alert(1)</script>"))
    assert blocked.verdict == "block" and blocked.freeze is not None
    assert e.evaluate(ev(via="observed", post_id="b", text="<script>alert(1)</script>")).skipped
    assert blocked.freeze.to_dict()["ts"] == "2026-03-02T10:00:00Z"
    assert blocked.freeze.to_dict()["type"] == "freeze"


def test_out_of_band_post_on_gated_account() -> None:
    d = Engine(INV, RULES).evaluate(ev(via="observed", post_id="zzz"))
    assert d.verdict == "flagged" and "provenance.out-of-band" in {f.rule for f in d.findings}


def test_external_freeze_blocks_gate_until_unfreeze() -> None:
    e = Engine(INV, RULES)
    fz = e.freeze("g", 1772445600.0, "lockdown by responder")
    assert fz.until is None and e.frozen("g") is fz
    d = e.evaluate(ev())
    assert d.verdict == "block" and d.findings[-1].rule == "policy.frozen" and d.freeze is None
    assert e.unfreeze("g") and not e.unfreeze("g")
    assert e.evaluate(ev()).verdict == "allow"
    with pytest.raises(EventError):
        e.freeze("nope", 0.0, "x")


def test_policy_freeze_lifts_after_quiet_period() -> None:
    settings = EngineSettings(policy=PolicySettings(freeze_duration=3600.0))
    e = Engine(INV, RULES, settings)
    assert e.evaluate(ev(text="<script>x</script>", ts="2026-03-02T10:00:00Z")).freeze is not None
    assert e.evaluate(ev(ts="2026-03-02T10:30:00Z")).verdict == "block"
    assert e.evaluate(ev(ts="2026-03-02T11:01:00Z")).verdict == "allow"


def test_unknown_account_is_an_event_error() -> None:
    with pytest.raises(EventError, match="not in the inventory"):
        Engine(INV, RULES).evaluate(ev(account="missing"))


def test_snapshot_restore_keeps_learning_and_freezes() -> None:
    a = Engine(INV, RULES)
    for day in range(1, 28):
        a.evaluate(
            ev(
                ts=f"2026-02-{day:02d}T10:00:00Z" if day <= 28 else "",
                account="o",
                via="observed",
                client="Tool",
                text=f"Update number {day} https://example.com/x",
            )
        )
    a.freeze("g", 1.0, "test")
    data = json.loads(json.dumps(a.snapshot()))
    b = Engine(INV, RULES)
    b.restore(data)
    assert b.frozen("g") is not None
    later = ev(
        ts="2026-03-01T10:00:00Z", account="o", via="observed", client="Other App", text="A new post here"
    )
    da, db = a.evaluate(later), b.evaluate(later)
    assert [f.rule for f in da.findings] == [f.rule for f in db.findings]
    assert "source.new-client" in {f.rule for f in db.findings}
    assert a.drain_dirty() == {"o"} and a.drain_dirty() == set()
    assert b.snapshot_account("o") is not None
    with pytest.raises(EventError):
        b.restore({"version": 99})


def test_state_stays_bounded() -> None:
    e = Engine(INV, RULES)
    for i in range(3000):
        e.evaluate(
            ev(
                account="o",
                via="observed",
                ts=f"2026-03-{1 + i // 200:02d}T{(i // 10) % 24:02d}:{i % 60:02d}:00Z",
                text=f"link https://d{i}.example.org/ and more words",
                client=f"c{i % 50}",
            )
        )
    st = e.state("o")
    assert len(st.domains) <= st.DOMAIN_CAP and len(st.clients) <= st.CLIENT_CAP
    assert all(len(dq) <= st.rate.cap for dq in st.rate.windows.values())
    assert len(e.campaigns) < 3000


def test_observe_mode_reports_what_it_would_do_and_changes_nothing(tmp_path: Path) -> None:
    trial = tmp_path / "trial.yaml"
    trial.write_text(
        "mode: observe\nrules:\n"
        "  - {id: trial.script, description: d, detector: html_injection, severity: critical, score: 8}\n"
    )
    rules = load_rules([tmp_path])
    e = Engine(INV, rules)
    d = e.evaluate(ev(text="<script>alert(1)</script>", post_id="s1"))
    assert d.verdict == "allow" and d.freeze is None and e.frozen("g") is None and not d.findings
    assert [f.rule for f in d.observed] == ["trial.script"] and d.would == "freeze"
    line = d.to_dict()
    assert line["observed"][0]["rule"] == "trial.script" and line["would"] == "freeze"
    # the post was allowed, so it is learned as any clean post would be
    assert e.evaluate(ev(via="observed", post_id="s1", text="<script>alert(1)</script>")).verdict == "ok"
    # once trusted (enforce), the same rule freezes
    trial.write_text(trial.read_text().replace("mode: observe\n", ""))
    e.set_rules(load_rules([tmp_path]))
    d = e.evaluate(ev(text="<script>alert(2)</script>"))
    assert d.verdict == "block" and d.freeze is not None and not d.observed and d.would == ""


def test_acknowledged_finding_is_left_out_for_its_key_until_it_expires() -> None:
    e = Engine(INV, RULES)
    e.set_acks([("links.suspicious-tld", "o", "partner-fest.xyz", 1772449200.0, "op-ana")])  # 11:00 UTC
    d = e.evaluate(ev(account="o", via="observed", text="Tickets: https://partner-fest.xyz/t"))
    assert "links.suspicious-tld" not in {f.rule for f in d.findings}
    assert d.notes == ("links.suspicious-tld acknowledged for partner-fest.xyz until 2026-03-02T11:00:00Z",)
    other = e.evaluate(ev(account="o", via="observed", text="Tickets: https://other-fest.xyz/t"))
    assert "links.suspicious-tld" in {f.rule for f in other.findings} and not other.notes
    late = e.evaluate(
        ev(account="o", via="observed", ts="2026-03-02T11:00:00Z", text="https://partner-fest.xyz/t")
    )
    assert "links.suspicious-tld" in {f.rule for f in late.findings}
    elsewhere = e.evaluate(ev(account="g", post_id="x1", text="Tickets: https://partner-fest.xyz/t"))
    assert "links.suspicious-tld" in {f.rule for f in elsewhere.findings}


def test_an_acknowledgement_never_silences_a_finding_on_its_own_makers_post() -> None:
    e = Engine(INV, RULES)
    e.set_acks([("links.suspicious-tld", "o", "partner-fest.xyz", 1772449200.0, "Op-Ana")])
    post = {"account": "o", "via": "observed", "text": "Tickets: https://partner-fest.xyz/t"}
    for own in ({"author": "op-ana"}, {"author": "op-b", "caller": "OP-ANA"}):
        d = e.evaluate(ev(**post, **own))
        assert "links.suspicious-tld" in {f.rule for f in d.findings} and not d.notes, own
    theirs = e.evaluate(ev(**post, author="op-b", caller="op-b"))
    assert "links.suspicious-tld" not in {f.rule for f in theirs.findings}


def test_an_approved_held_post_clears_the_taint_of_its_text_and_of_its_links() -> None:
    e = Engine(INV, RULES)
    lure = "Reminder: verify your account settings before Monday https://acme-verify-help.xyz/login"
    held = e.evaluate(ev(text=lure, post_id="h1", ts="2026-03-02T10:00:00Z"))
    assert held.verdict in ("hold", "block") and held.freeze is None, held.findings
    same_link = "Our help desk moved: https://acme-verify-help.xyz/login"
    before = e.evaluate(ev(text=same_link, post_id="x1", ts="2026-03-02T10:01:00Z"), dry=True)
    assert "campaign.tainted-copy" in {f.rule for f in before.findings}  # the link carries the taint
    e.approve("g", "h1", 1772445720.0, lure, 1772445600.0)
    published = e.evaluate(ev(via="observed", text=lure, post_id="h1", ts="2026-03-02T10:02:05Z"))
    assert published.verdict == "ok" and published.freeze is None
    later = e.evaluate(ev(text=same_link, post_id="x2", ts="2026-03-02T10:05:00Z"))
    assert not {"campaign.tainted-copy", "behaviour.escalation"} & {f.rule for f in later.findings}
    again = e.evaluate(ev(text=lure, post_id="x3", ts="2026-03-02T10:06:00Z"))
    assert "campaign.tainted-copy" not in {f.rule for f in again.findings}


def test_an_approval_remembers_its_links_across_a_restart_and_older_ones_keep_working() -> None:
    text = "Our report is out https://example.com/report"
    swapped = "Our report is out https://examp1e.com/report"
    a = Engine(INV, RULES)
    assert a.evaluate(ev(post_id="r1", text=text)).verdict == "allow"
    assert a.evaluate(ev(post_id="r2", text=text)).verdict == "allow"
    data = json.loads(json.dumps(a.snapshot()))
    b = Engine(INV, RULES)
    b.restore(data)
    same = b.evaluate(
        ev(via="observed", post_id="r1", text="Our report is out http://www.example.com/report/")
    )
    assert same.verdict == "ok" and not same.findings
    other = b.evaluate(ev(via="observed", post_id="r2", text=swapped))
    assert [f.rule for f in other.findings] == ["provenance.gate-mismatch"]
    assert "links differ" in other.findings[0].detail
    # state saved before approvals held their links: the words are still compared, not the links
    for entry in data["accounts"]["g"]["approved"].values():
        del entry[2]
    c = Engine(INV, RULES)
    c.restore(data)
    assert not c.evaluate(ev(via="observed", post_id="r2", text=swapped)).findings


def test_an_observed_post_with_more_links_than_examined_is_an_obfuscated_link_finding() -> None:
    """The engine examines the first 100 distinct links of a post; a lure behind them is not
    looked at, so the post itself is the finding (an observed post is never refused)."""
    padding = " ".join(f"https://example.com/p{i}" for i in range(100))
    d = Engine(INV, RULES).evaluate(ev(via="observed", text=f"{padding} https://evil.test/claim", author=""))
    assert "links.obfuscated" in {f.rule for f in d.findings}
    fewer = Engine(INV, RULES).evaluate(ev(via="observed", text=padding, author=""))
    assert "links.obfuscated" not in {f.rule for f in fewer.findings}
