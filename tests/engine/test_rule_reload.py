"""Hot reload with watchdog: a change goes live by itself; a broken file keeps the old rules.

How soon (the README promises 2 s) is a number for a benchmark, not a test's assertion: on a
shared machine a test only waits, with a generous ceiling, for the reload to happen."""

from __future__ import annotations

import threading
from pathlib import Path

from sentinel.engine.loader import RuleSetError, load_rules
from sentinel.engine.rule_reload import RuleWatcher
from sentinel.engine.rules import RuleSet

RULE = """rules:
  - id: {rid}
    description: test rule
    detector: text_pattern
    severity: low
    params: {{patterns: ["{pattern}"]}}
"""


def _wait(cond: threading.Event, seconds: float = 20.0) -> bool:
    return cond.wait(seconds)


def test_a_change_reloads_and_a_broken_file_keeps_previous(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_text(RULE.format(rid="t.one", pattern="alpha"))
    current = load_rules([tmp_path])
    reloaded = threading.Event()
    failed = threading.Event()
    seen: list[RuleSet] = []
    errors: list[RuleSetError] = []

    def on_reload(rs: RuleSet) -> None:
        seen.append(rs)
        reloaded.set()

    def on_error(e: RuleSetError) -> None:
        errors.append(e)
        failed.set()

    with RuleWatcher([tmp_path], on_reload, on_error, debounce=0.2, current=current) as w:
        # Observer.start() has set the inotify watches by the time the watcher is entered.
        f.write_text(RULE.format(rid="t.two", pattern="beta"))
        assert _wait(reloaded), "no reload"
        assert [r.id for r in seen[-1].rules] == ["t.two"]

        # a typo: the previous set stays, the error names file and line, on_error is called
        reloaded.clear()
        (tmp_path / "b.yaml").write_text("rules:\n  - id: t.bad\n    detector: nope\n")
        assert _wait(failed), "broken file not reported"
        assert w.current is not None and [r.id for r in w.current.rules] == ["t.two"]
        assert not reloaded.is_set()
        issue = errors[-1].issues[0]
        assert issue.file.endswith("b.yaml") and issue.line == 2

        # fixing the file brings both files in
        (tmp_path / "b.yaml").write_text(RULE.format(rid="t.three", pattern="gamma"))
        assert _wait(reloaded), "fixed file not reloaded"
        assert sorted(r.id for r in seen[-1].rules) == ["t.three", "t.two"]


def test_irrelevant_files_do_not_reload(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(RULE.format(rid="t.one", pattern="alpha"))
    reloaded = threading.Event()
    with RuleWatcher([tmp_path], lambda rs: reloaded.set(), debounce=0.1):
        (tmp_path / ".a.yaml.swp").write_text("junk")
        (tmp_path / "notes.txt").write_text("junk")
        assert not reloaded.wait(0.6)  # nothing happening can only be watched for a while


def test_reload_now_without_watching(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(RULE.format(rid="t.one", pattern="alpha"))
    got: list[RuleSet] = []
    w = RuleWatcher([tmp_path], got.append)
    assert w.reload() is not None and got[0].get("t.one") is not None
    (tmp_path / "a.yaml").write_text("rules: [")
    assert w.reload() is None and w.failures == 1 and w.current is got[0]
