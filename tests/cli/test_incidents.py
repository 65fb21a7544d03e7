from __future__ import annotations

import json

import pytest

from sentinel.cli import main
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.conftest import Deployment


def test_list_show_export(deployment: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        rs = ResponseStore(store)
        rs.mark_frozen(["example-brand-x"], ["gate", "vault"], "worm", "sentinel", True, done=("gate",))
        inc = rs.open_incident("Automatic freeze: worm", ["example-brand-x"])
        rs.add_event(
            inc,
            "finding",
            "sentinel",
            {"rule": "campaign", "severity": "high", "detail": "12 accounts"},
            "example-brand-x",
        )
        rs.add_event(
            inc,
            "post",
            "sentinel",
            {"post_id": "p9", "text": "claim at https://evil-giveaway.com/claim now"},
            "example-brand-x",
        )
        rs.add_event(
            inc,
            "action",
            "sentinel",
            {"step": "vault", "status": "done", "detail": "denied"},
            "example-brand-x",
        )
    assert main(deployment.cli("incidents", "list")) == 0
    assert "Automatic freeze: worm" in capsys.readouterr().out
    assert main(deployment.cli("incidents", "show", str(inc))) == 0
    out = capsys.readouterr().out
    assert "campaign (high): 12 accounts" in out and "post p9" in out
    assert main(deployment.cli("incidents", "export", str(inc))) == 0
    md = capsys.readouterr().out
    assert md.startswith(f"# Incident {inc}: Automatic freeze: worm")
    assert (
        "## Findings" in md
        and "## Evidence (posts)" in md
        and "> claim at hxxps://evil-giveaway[.]com/claim now" in md
    )
    assert main(["--json", *deployment.cli("incidents", "export", str(inc))]) == 0
    assert [e["kind"] for e in json.loads(capsys.readouterr().out)["events"]] == ["finding", "post", "action"]
    assert main(deployment.cli("incidents", "show", "999")) == 2
    assert main(["--json", *deployment.cli("status")]) == 0
    frozen = json.loads(capsys.readouterr().out)["frozen"]
    assert frozen["count"] == 1 and frozen["accounts"]["example-brand-x"]["reason"] == "worm"


def test_exports_are_defanged_and_stix(deployment: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        rs = ResponseStore(store)
        inc = rs.open_incident("Automatic freeze: giveaway", ["example-brand-x"])
        rs.add_event(
            inc,
            "post",
            "sentinel",
            {"post_id": "p1", "text": "win at https://evil-giveaway.com/claim"},
            "example-brand-x",
        )
    assert main(deployment.cli("incidents", "export", str(inc))) == 0
    report = capsys.readouterr().out
    assert "hxxps://evil-giveaway[.]com/claim" in report and "https://evil-giveaway.com" not in report
    assert "## Indicators (defanged)" in report and "`evil-giveaway[.]com`" in report
    assert main(deployment.cli("incidents", "export", str(inc), "--format", "stix")) == 0
    bundle = json.loads(capsys.readouterr().out)
    patterns = {o.get("pattern") for o in bundle["objects"] if o["type"] == "indicator"}
    assert "[domain-name:value = 'evil-giveaway.com']" in patterns
    assert any(o["type"] == "report" for o in bundle["objects"])


def test_no_export_leaves_a_live_link(deployment: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    """Every export format (and the timeline) read back: no URL, domain or IP address the
    attacker posted is left clickable; only STIX indicator patterns carry the live values,
    which is what a STIX consumer matches on."""
    text = (
        "Claim at https://evil-giveaway.com/claim or http://203.0.113.7/x, ftp://files.evil.net/a "
        "and bit.ly/x3 @channel; BTC bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
    )
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        rs = ResponseStore(store)
        inc = rs.open_incident("Automatic freeze: see https://evil-giveaway.com", ["example-brand-x"])
        rs.add_event(inc, "post", "sentinel", {"post_id": "p1", "text": text}, "example-brand-x")
        rs.add_event(
            inc,
            "finding",
            "sentinel",
            {"rule": "links.new-domain", "severity": "high", "detail": "evil-giveaway.com is new"},
            "example-brand-x",
        )
        rs.add_event(
            inc,
            "action",
            "sentinel",
            {"step": "gate", "status": "done", "reason": "score 9: links to files.evil.net"},
            "example-brand-x",
        )
    live = ["https://", "http://", "ftp://", "evil-giveaway.com", "203.0.113.7", "files.evil.net", "bit.ly"]
    outputs = {}
    for fmt in ("markdown", "json"):
        assert main(deployment.cli("incidents", "export", str(inc), "--format", fmt)) == 0
        outputs[fmt] = capsys.readouterr().out
    assert main(deployment.cli("incidents", "show", str(inc))) == 0
    outputs["show"] = capsys.readouterr().out
    assert main(deployment.cli("incidents", "export", str(inc), "--format", "stix")) == 0
    bundle = json.loads(capsys.readouterr().out)
    outputs["stix"] = json.dumps([{k: v for k, v in o.items() if k != "pattern"} for o in bundle["objects"]])
    for fmt, out in outputs.items():
        left = [s for s in live if s in out]
        assert not left, f"{fmt} export keeps {left} live"
        assert "@channel" not in out, fmt
    assert "hxxps://evil-giveaway[.]com/claim" in outputs["markdown"]
    data = json.loads(outputs["json"])
    assert data["defanged"] is True and data["id"] == inc and data["accounts"] == ["example-brand-x"]
    assert {"kind": "domain", "value": "evil-giveaway[.]com"} in data["indicators"]
    assert {"kind": "ipv4", "value": "203[.]0[.]113[.]7"} in data["indicators"]
    assert any(i["kind"].startswith("wallet:") for i in data["indicators"])
    finding = next(e for e in data["events"] if e["kind"] == "finding")["data"]
    assert finding["rule"] == "links.new-domain"  # Sentinel's own ids stay as they are
    patterns = {o.get("pattern") for o in bundle["objects"] if o["type"] == "indicator"}
    assert "[domain-name:value = 'evil-giveaway.com']" in patterns  # STIX: live, for matching
