"""``sentinel init`` writes a config and an inventory that Sentinel loads as they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentinel.cli import main
from sentinel.config import load_config
from sentinel.inventory import load_inventory


def test_init_writes_files_that_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "etc"
    assert main(["init", "--dir", str(target)]) == 0
    assert "vault bootstrap" in capsys.readouterr().out
    config = load_config(target / "sentinel.toml", env={})
    assert config.sentinel.inventory == target / "inventory.toml"
    assert config.sentinel.state_dir == target / "state"
    assert config.api.port == 8470
    inventory = load_inventory(config.sentinel.inventory)
    assert [a.id for a in inventory] == ["example-brand-x"]
    assert "#" in (target / "sentinel.toml").read_text()  # commented, to start from


def test_init_never_overwrites_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sentinel.toml").write_text("# mine\n")
    assert main(["init", "--dir", str(tmp_path)]) == 2
    assert "already exist" in capsys.readouterr().err
    assert (tmp_path / "sentinel.toml").read_text() == "# mine\n"
    assert not (tmp_path / "inventory.toml").exists()
    assert main(["init", "--dir", str(tmp_path), "--force"]) == 0
    assert "[vault]" in (tmp_path / "sentinel.toml").read_text()
