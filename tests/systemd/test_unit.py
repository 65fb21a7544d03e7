"""The shipped unit passes systemd's own checks and stays well sandboxed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "sentinel.service"
MAX_EXPOSURE = 1.5

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze missing: install the Debian package 'systemd' (make test does)",
)


def installed_copy(tmp_path: Path) -> Path:
    """The unit as installed here: ExecStart pointing at this Python's sentinel."""
    text = UNIT.read_text().replace("/opt/sentinel/bin/sentinel", f"{sys.executable} -m sentinel")
    path = tmp_path / "sentinel.service"
    path.write_text(text)
    return path


def test_unit_verifies(tmp_path: Path) -> None:
    r = subprocess.run(
        ["systemd-analyze", "verify", str(installed_copy(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "sentinel.service" not in r.stderr, r.stderr  # no warnings about our unit


def test_exposure_is_at_most_1_5(tmp_path: Path) -> None:
    r = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(installed_copy(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    m = re.search(r"Overall exposure level for sentinel\.service: (\d+\.\d+)", r.stdout + r.stderr)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= MAX_EXPOSURE


def test_unit_has_the_required_settings() -> None:
    text = UNIT.read_text()
    settings = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )
    for key, value in {
        "Type": "notify",
        "DynamicUser": "yes",
        "StateDirectory": "sentinel",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "CapabilityBoundingSet": "",
        "MemoryDenyWriteExecute": "yes",
    }.items():
        assert settings.get(key) == value, key
    assert (
        "WatchdogSec" in settings and "SystemCallFilter" in settings and "RestrictAddressFamilies" in settings
    )
    assert settings["LoadCredentialEncrypted"].startswith("vault-token:")
