"""Files and directories Sentinel creates: readable by their owner only, from the first byte,
whatever the process's umask (directories 0700, files 0600), never through a symlink planted
in their place; and the checks on files Sentinel trusts (config, inventory, rules, secrets):
nobody but Sentinel's user and root may change them, nobody else may read a secret."""

from __future__ import annotations

import contextlib
import errno
import grp
import os
import pwd
import stat
from pathlib import Path

from sentinel.errors import SentinelError

DIR_MODE = 0o700
FILE_MODE = 0o600


def _open_own(path: str | Path, flags: int, mode: int = FILE_MODE) -> int:
    """``os.open`` that never follows a symlink in ``path``'s place: one planted there by
    someone who can write the directory would send a secret into their file."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW, mode)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise SentinelError(f"{path}: is a symlink; refusing to write through it") from None
        raise


def write_private(path: str | Path, text: str, exclusive: bool = False) -> None:
    """Write ``text`` to ``path`` with mode 0600 (``exclusive``: fail if it exists)."""
    write_file(path, text, FILE_MODE, exclusive)


def write_file(path: str | Path, text: str, mode: int, exclusive: bool = False) -> None:
    """Write ``text`` to ``path`` with ``mode``, never through a symlink in its place."""
    fd = _open_own(path, os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC), mode)
    os.fchmod(fd, mode)  # an existing file keeps its mode through O_TRUNC
    with os.fdopen(fd, "w") as f:
        f.write(text)


def private_file(path: str | Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist; make an existing one ours alone."""
    fd = _open_own(path, os.O_RDWR | os.O_CREAT)
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


def writable_by_others(path: str | Path) -> str | None:
    """Why someone other than this process's user or root could change what ``path`` holds,
    or None when nobody can: ``path``, every directory above it and, through any symlink on the
    way, what the symlink leads to, must be owned by this user or root and not writable by
    group or others (as ssh's StrictModes). A world-writable directory with the sticky bit
    (``/tmp``) may lie above: others cannot rename or replace entries they do not own there.
    A missing ``path`` is not a reason (reading it fails on its own)."""
    me = os.geteuid()
    seen: set[Path] = set()
    todo = [Path(os.path.abspath(path))]
    while todo:
        leaf = todo.pop()
        for part in (leaf, *leaf.parents):
            if part in seen:
                continue
            seen.add(part)
            try:
                st = os.lstat(part)
            except FileNotFoundError:
                continue
            if st.st_uid not in (0, me):
                return f"{part} belongs to another user (uid {st.st_uid})"
            if stat.S_ISLNK(st.st_mode):
                todo.append(Path(os.path.realpath(part)))
                continue
            sticky_above = part != leaf and stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX
            if sticky_above:
                continue
            if st.st_mode & 0o002:
                return f"{part} is writable by every user (mode {oct(stat.S_IMODE(st.st_mode))})"
            if st.st_mode & 0o020 and not private_group(st.st_gid, st.st_uid):
                return f"{part} is writable by its group (mode {oct(stat.S_IMODE(st.st_mode))})"
    return None


def private_group(gid: int, uid: int) -> bool:
    """Whether group ``gid`` is user ``uid``'s own: its primary group, with no other member and
    no other user's primary group (the user-private-group scheme Debian gives every account, under
    which a umask of 002 makes a checkout group-writable without letting anyone else write it)."""
    try:
        owner = pwd.getpwuid(uid)
        group = grp.getgrgid(gid)
    except KeyError:
        return False
    if owner.pw_gid != gid or any(m != owner.pw_name for m in group.gr_mem):
        return False
    return not any(u.pw_gid == gid and u.pw_uid != uid for u in pwd.getpwall())


def readable_by_others(path: str | Path) -> str | None:
    """Why ``path`` (a secret) can be read by group or others, or None when it cannot."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None
    if mode & 0o077:
        return f"{path} can be read by others (mode {oct(mode)}); chmod 600 it"
    return None
