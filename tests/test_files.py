from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentinel.files import private_dir, private_file, tighten, write_private


@pytest.fixture
def umask_000() -> Iterator[None]:
    """The loosest umask, so that only the modes Sentinel sets remain."""
    old = os.umask(0)
    yield
    os.umask(old)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_private_files_are_0600_and_exclusive_never_overwrites(tmp_path: Path) -> None:
    p = tmp_path / "secret"
    write_private(p, "one")
    write_private(p, "two")
    assert p.read_text() == "two" and stat.S_IMODE(p.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        write_private(p, "three", exclusive=True)
    assert p.read_text() == "two"


def test_an_existing_loose_file_is_tightened_when_rewritten(tmp_path: Path, umask_000: None) -> None:
    p = tmp_path / "token"
    p.write_text("old")
    os.chmod(p, 0o644)
    write_private(p, "new")
    assert mode(p) == 0o600


def test_private_dir_creates_0700_and_tightens_only_when_asked(tmp_path: Path, umask_000: None) -> None:
    made = private_dir(tmp_path / "a" / "state")
    assert mode(made) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir()
    os.chmod(loose, 0o755)  # noqa: S103
    private_dir(loose)
    assert mode(loose) == 0o755  # not created here, not tightened
    private_dir(loose, tighten=True)
    assert mode(loose) == 0o700


def test_private_file_creates_or_tightens_without_touching_content(tmp_path: Path, umask_000: None) -> None:
    new = tmp_path / "db"
    private_file(new)
    assert mode(new) == 0o600 and new.read_bytes() == b""
    old = tmp_path / "old"
    old.write_text("keep")
    os.chmod(old, 0o666)  # noqa: S103
    private_file(old)
    tighten(tmp_path / "missing")  # nothing to do, no error
    tighten(old)
    assert mode(old) == 0o600 and old.read_text() == "keep"
