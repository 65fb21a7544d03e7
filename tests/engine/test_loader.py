"""Rule files: every problem reported with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentinel.engine.loader import RuleSetError, collect_rules, load_rules

SHIPPED = Path(__file__).resolve().parents[2] / "rules"

BROKEN = """rules:
  - id: ok.rule
    description: fine
    detector: crypto_wallet
    severity: high
  - id: Bad Id
    description: x
    detector: burst
    severity: urgent
    params:
      window: 7m
      nonsense: 1
    scope: {colour: [red]}
  - id: ok.rule
    description: duplicate id
    detector: text_pattern
    severity: low
    params: {patterns: ["(unclosed"]}
"""


def test_every_problem_has_file_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "r.yaml"
    f.write_text(BROKEN)
    ruleset, issues = collect_rules([tmp_path])
    found = {(i.line, i.field.split(".")[-1].split("[")[0]) for i in issues}
    assert (6, "id") in found  # bad id
    assert (9, "severity") in found
    assert (11, "window") in found
    assert (12, "nonsense") in found
    assert (13, "colour") in found
    assert (18, "patterns") in found
    assert all(i.file == str(f) for i in issues)
    assert [r.id for r in ruleset.rules] == ["ok.rule"]
    text = str(issues[0])
    assert text.startswith(f"{f}:") and ": " in text


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    rule = "rules:\n  - {id: x.y, description: d, detector: ip_literal, severity: high}\n"
    (tmp_path / "a.yaml").write_text(rule)
    (tmp_path / "b.yaml").write_text(rule)
    with pytest.raises(RuleSetError) as e:
        load_rules([tmp_path])
    assert "already defined" in str(e.value) and "a.yaml:2" in str(e.value)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("rules:\n  - id: x\n    description: [oops\n")
    _, issues = collect_rules([tmp_path])
    assert issues and issues[0].line >= 3 and "not valid YAML" in issues[0].message


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuleSetError, match="not found"):
        load_rules([tmp_path / "nope"])


def test_shipped_rules_are_valid_and_scored() -> None:
    rs = load_rules([SHIPPED])
    assert len(rs) >= 25
    assert rs.get("content.html-injection") is not None
    assert rs.get("content.html-injection").score == 8.0  # type: ignore[union-attr]
    assert all(r.fixtures for r in rs.rules if r.detector.name not in ("burst",))


def test_observe_mode_for_a_file_and_for_one_rule(tmp_path: Path) -> None:
    (tmp_path / "trial.yaml").write_text(
        "mode: observe\nrules:\n"
        "  - {id: t.a, description: d, detector: ip_literal, severity: high}\n"
        "  - {id: t.b, description: d, detector: ip_literal, severity: high, mode: enforce}\n"
    )
    (tmp_path / "live.yaml").write_text(
        "rules:\n  - {id: t.c, description: d, detector: idn_domain, severity: low, mode: observe}\n"
    )
    modes = {r.id: r.mode for r in load_rules([tmp_path])}
    assert modes == {"t.a": "observe", "t.b": "enforce", "t.c": "observe"}


def test_unknown_mode_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("mode: dry\nrules: []\n")
    (tmp_path / "b.yaml").write_text(
        "rules:\n  - {id: t.a, description: d, detector: ip_literal, severity: high, mode: simulate}\n"
    )
    _, issues = collect_rules([tmp_path])
    found = {(Path(i.file).name, i.line, i.field) for i in issues}
    assert found == {("a.yaml", 1, "mode"), ("b.yaml", 2, "rule t.a.mode")}
    assert all("enforce, observe" in i.message for i in issues)


def test_attack_techniques_are_checked_and_carried_into_findings(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "rules:\n  - {id: t.a, description: d, detector: ip_literal, severity: high, attack: [T1078, T1528.001]}\n"
        "  - {id: t.b, description: d, detector: ip_literal, severity: high, attack: [valid-accounts]}\n"
    )
    ruleset, issues = collect_rules([tmp_path])
    assert [(i.line, i.field) for i in issues] == [(3, "rule t.b.attack")]
    assert "not an ATT&CK technique id" in issues[0].message
    [rule] = ruleset.rules
    assert rule.attack == ("T1078", "T1528.001")
    shipped = {r.id: r.attack for r in load_rules([SHIPPED])}
    assert (
        shipped["provenance.out-of-band"] == ("T1078", "T1539") and shipped["source.new-client"][0] == "T1528"
    )


def test_account_and_vault_rules_reject_what_does_not_apply(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n"
        "  - id: v.one\n    description: d\n    detector: vault_root_token\n    severity: critical\n"
        "    scope: {tags: [brand]}\n"
        "  - id: a.one\n    description: d\n    detector: account_change\n    severity: high\n"
        "    params: {fields: [handle]}\n    exceptions: {tags: [test], authors: [op-a]}\n"
    )
    _, issues = collect_rules([tmp_path])
    found = {(i.field, i.line) for i in issues}
    assert ("rule v.one.scope", 6) in found
    assert ("rule a.one.exceptions.authors", 12) in found
    assert len(issues) == 2
