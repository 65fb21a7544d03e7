"""Who a break-glass lockdown records: the Unix user, and who logged in when that differs."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from sentinel.response.breakglass import local_actor, login_uid


def me() -> str:
    uid = os.geteuid()
    return f"{pwd.getpwuid(uid).pw_name} (uid {uid}"


def test_a_person_acting_through_sudo_is_named_beside_the_user(tmp_path: Path) -> None:
    other = 65534 if os.geteuid() != 65534 else 0
    (tmp_path / "loginuid").write_text(f"{other}\n")
    who = pwd.getpwuid(other).pw_name
    assert local_actor(tmp_path / "loginuid") == (
        f"break-glass:{me()}, logged in as {who} (uid {other}), not verified by Vault)"
    )


def test_without_another_login_only_the_user_is_recorded(tmp_path: Path) -> None:
    plain = f"break-glass:{me()}, not verified by Vault)"
    (tmp_path / "loginuid").write_text("4294967295")  # no login session (a service, a container)
    assert login_uid(tmp_path / "loginuid") is None
    assert local_actor(tmp_path / "loginuid") == plain
    (tmp_path / "loginuid").write_text(str(os.geteuid()))  # logged in as the user acting
    assert local_actor(tmp_path / "loginuid") == plain
    assert local_actor(tmp_path / "absent") == plain  # no /proc (not Linux)
