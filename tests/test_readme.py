"""The README's configuration example is a configuration Sentinel accepts."""

from __future__ import annotations

from pathlib import Path

from sentinel.config import load_config

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_configuration_example_loads(tmp_path: Path) -> None:
    section = README.read_text().split("### Configuration", 1)[1]
    example = section.split("```toml", 1)[1].split("```", 1)[0]
    path = tmp_path / "sentinel.toml"
    path.write_text(example)
    config = load_config(path)
    assert config.vault.kv_mount == "sentinel" and config.api.port == 8470
    assert config.response.delete_offending_rules == ("content.*",)
