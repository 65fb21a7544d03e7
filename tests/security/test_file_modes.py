"""Another account on the host cannot read Sentinel's state, whatever the umask.

Before, the demo left its state directory 0755 and the database 0644: any local user could
read the audit trail, the incidents and the held posts. Here the daemon runs as a real
process under umask 000 (the loosest there is), against the session's OpenBao, with a file
audit key and a state directory an older install left 0755; and ``sentinel demo up``'s files
are checked the same way in tests/demo/test_up.py.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import Deployment
from tests.test_daemon import notify, wait_for

__all__ = ["notify"]  # the fixture: a bound notify socket, as systemd gives the daemon


def loose_modes(root: Path) -> list[str]:
    """Every directory under ``root`` (and itself) not 0700, every file not 0600."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode != want:
            found.append(f"{path.relative_to(root.parent)} {oct(mode)}")
    return found


def test_the_daemon_keeps_its_state_to_itself_under_umask_000(
    deployment: Deployment, notify: tuple[socket.socket, str]
) -> None:
    state = deployment.dir / "state"
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)  # noqa: S103  (the loose directory an older install left)
    deployment.write_config(extra='[audit]\nsigning_key = "file"\nkey_file = "state/audit.key"\n')
    sock, notify_path = notify
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTINEL_", "VAULT_"))}
    env["NOTIFY_SOCKET"] = notify_path
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentinel", *deployment.cli("run")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        umask=0,
    )
    seen: list[str] = []
    try:
        wait_for(sock, "READY=1", seen)
        running = loose_modes(state)
        names = {p.name for p in state.iterdir()}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert {"sentinel.sqlite3", "sentinel.sqlite3-wal", "sentinel.sqlite3-shm"} <= names
    assert running == []
    # Entries are signed and checkpointed by the clean stop at the latest.
    assert (state / "audit.key").exists() and (state / "audit-checkpoints.jsonl").exists()
    assert loose_modes(state) == []
