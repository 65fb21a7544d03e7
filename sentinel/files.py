"""Files that hold secrets: created readable by their owner only, from the first byte."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: str | Path, text: str, exclusive: bool = False) -> None:
    """Write ``text`` to ``path`` with mode 0600 (``exclusive``: fail if it exists)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
