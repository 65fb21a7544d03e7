from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sentinel.files import write_private


def test_private_files_are_0600_and_exclusive_never_overwrites(tmp_path: Path) -> None:
    p = tmp_path / "secret"
    write_private(p, "one")
    write_private(p, "two")
    assert p.read_text() == "two" and stat.S_IMODE(p.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        write_private(p, "three", exclusive=True)
    assert p.read_text() == "two"
