"""Every ``sentinel ...`` command named in the README, the docs and the messages Sentinel
prints (alerts, errors, hints) exists: each one found answers ``--help``."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
from pathlib import Path

import pytest

from sentinel.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
# `sentinel` then global options, then up to two words: the command and its action
NAMED = re.compile(
    r"(?<![\w.$-])sentinel((?: --(?:config|json|debug)(?: [^\s`'\"]+)?)*) ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?"
)
# words after "sentinel" in prose and code that are not commands ("from sentinel import x")
PROSE = {"import", "is", "a", "the", "and", "or", "to", "in", "on", "as", "user", "group", "itself", "daemon"}


def sources() -> list[Path]:
    files = [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "deploy").rglob("*.yml")),
    ]
    files += [p for p in sorted((ROOT / "sentinel").rglob("*.py")) if p.name != "__main__.py"]
    return [*files, *sorted((ROOT / "sentinel" / "console" / "templates").glob("*.html"))]


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def named_commands() -> dict[tuple[str, ...], str]:
    """Each command path named anywhere -> one place that names it."""
    top = subcommands(build_parser())
    found: dict[tuple[str, ...], str] = {}
    for path in sources():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for m in NAMED.finditer(line):
                command, action = m.group(2), m.group(3)
                if command in PROSE and command not in top:
                    continue
                words: tuple[str, ...] = (command,)
                sub = subcommands(top[command]) if command in top else {}
                if sub and action:
                    words = (command, action)
                elif sub and not action:
                    continue  # `sentinel rules` alone: the group, its --help lists the actions
                found.setdefault(words, f"{path.relative_to(ROOT)}:{n}")
    return found


def test_commands_are_found() -> None:
    found = named_commands()
    assert {("lockdown",), ("held", "approve"), ("incidents", "export"), ("rules", "validate")} <= set(found)


@pytest.mark.parametrize("words", sorted(named_commands()), ids=" ".join)
def test_every_named_command_exists(words: tuple[str, ...]) -> None:
    where = named_commands()[words]
    out = io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(io.StringIO()) as err,
        pytest.raises(SystemExit) as done,
    ):
        main([*words, "--help"])
    assert done.value.code == 0, (
        f"`sentinel {' '.join(words)}` (named in {where}) does not exist: {err.getvalue()}"
    )
    assert "usage: sentinel" in out.getvalue()
