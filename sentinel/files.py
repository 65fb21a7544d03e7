"""Files and directories Sentinel creates: readable by their owner only, from the first byte,
whatever the process's umask (directories 0700, files 0600)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def write_private(path: str | Path, text: str, exclusive: bool = False) -> None:
    """Write ``text`` to ``path`` with mode 0600 (``exclusive``: fail if it exists)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # an existing file keeps its mode through O_TRUNC
    with os.fdopen(fd, "w") as f:
        f.write(text)


def private_file(path: str | Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist; make an existing one ours alone."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def private_dir(path: str | Path, tighten: bool = False) -> Path:
    """Create the directory ``path`` (and missing parents) with mode 0700; ``tighten``: set
    0700 on it when it already exists (a directory Sentinel owns, such as the state directory)."""
    path = Path(path)
    created = not path.is_dir()
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if created or tighten:
        os.chmod(path, DIR_MODE)  # mkdir's mode is filtered through the umask
    return path


def tighten(path: str | Path) -> None:
    """Mode 0600 on ``path`` if it exists (files another program created, such as SQLite's WAL)."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(path, FILE_MODE)
