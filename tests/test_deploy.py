"""The monitoring files under deploy/: Prometheus rules and the Grafana dashboard use only
metrics the daemon exports, and promtool accepts the rules (where Debian's prometheus is)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sentinel.metrics import INSTRUMENTS, Metrics

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "prometheus" / "sentinel-alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "sentinel-dashboard.json"
METRIC = re.compile(r"\b(sentinel_[a-z_]+)")


def exported() -> set[str]:
    """Every series name the daemon's registry declares (counters with ``_total``, histograms
    with their series suffixes)."""
    names: set[str] = set()
    for collector in (*INSTRUMENTS, Metrics().state):
        for family in collector.describe():
            if family.type == "counter":
                names.add(family.name + "_total")
            elif family.type == "histogram":
                names.update(family.name + s for s in ("_bucket", "_sum", "_count"))
            else:
                names.add(family.name)
    return names


def test_rules_use_exported_metrics() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) >= 6
    known = exported()
    for rule in rules:
        assert set(METRIC.findall(rule["expr"])) <= known, rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]


def test_dashboard_uses_exported_metrics() -> None:
    dash = json.loads(DASHBOARD.read_text())
    panels = dash["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    known = exported()
    for p in panels:
        for target in p["targets"]:
            used = set(METRIC.findall(target["expr"]))
            assert used and used <= known, p["title"]


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="no promtool (Debian: apt-get install prometheus)"
)
def test_promtool_accepts_the_rules() -> None:
    done = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 9 rules found" in done.stdout
