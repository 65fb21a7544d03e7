from __future__ import annotations

import json
from pathlib import Path

import pytest

from sentinel.cli import main


def test_help_lists_commands_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("run", "status", "accounts", "vault", "audit", "demo"):
        assert cmd in out
    assert "exit codes:" in out and "70 internal error" in out


def test_no_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2


def test_errors_are_one_line_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "nope.toml"), "status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sentinel: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_debug_shows_the_exception(tmp_path: Path) -> None:
    from sentinel.errors import ConfigError

    with pytest.raises(ConfigError):
        main(["--debug", "--config", str(tmp_path / "nope.toml"), "status"])


def test_global_options_before_or_after_the_subcommand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "--dir", str(tmp_path)]) == 0
    config = str(tmp_path / "sentinel.toml")
    capsys.readouterr()
    for argv in (
        ["--json", "--config", config, "accounts", "list"],
        ["accounts", "list", "--json", "--config", config],
        ["--config", config, "accounts", "list", "--json"],
    ):
        assert main(argv) == 0, argv
        assert json.loads(capsys.readouterr().out)[0]["id"] == "example-brand-x"
