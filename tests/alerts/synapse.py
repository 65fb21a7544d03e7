"""A real Matrix homeserver (Synapse, SQLite, bound to 127.0.0.1) for the alert tests.

Session-scoped: one Synapse for the whole run, started in about two seconds. Users are made
with ``register_new_matrix_user`` and the shared registration secret, the way an operator
would. Skips with a clear message when ``matrix-synapse`` is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sentinel.net import free_port

SERVER_NAME = "sentinel.test"
SHARED_SECRET = "sentinel-test-registration-secret"

CONFIG = """\
server_name: "{server_name}"
pid_file: {dir}/homeserver.pid
public_baseurl: "http://127.0.0.1:{port}/"
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: {dir}/homeserver.db
media_store_path: {dir}/media
signing_key_path: {dir}/signing.key
registration_shared_secret: "{secret}"
macaroon_secret_key: "sentinel-test-macaroon-secret"
form_secret: "sentinel-test-form-secret"
report_stats: false
enable_metrics: false
trusted_key_servers: []
suppress_key_server_warning: true
presence:
  enabled: false
rc_message:
  per_second: 1000
  burst_count: 1000
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 1000, burst_count: 1000}}
rc_joins:
  local: {{per_second: 1000, burst_count: 1000}}
"""


@dataclass
class Synapse:
    url: str
    dir: Path
    proc: subprocess.Popen[bytes]

    def register(self, user: str, password: str, admin: bool = False) -> None:
        """``register_new_matrix_user`` with the shared secret, as an operator would."""
        tool = shutil.which(
            "register_new_matrix_user", path=str(Path(sys.executable).parent)
        ) or shutil.which("register_new_matrix_user")
        if tool is None:
            pytest.skip("register_new_matrix_user (from matrix-synapse) is not on PATH")
        cmd = [tool, "-u", user, "-p", password, "-c", str(self.dir / "homeserver.yaml"), self.url]
        cmd.insert(1, "-a" if admin else "--no-admin")
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"register_new_matrix_user failed: {result.stdout} {result.stderr}")

    def login(self, user: str, password: str) -> str:
        r = httpx.post(
            f"{self.url}/_matrix/client/v3/login",
            json={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user},
                "password": password,
            },
            timeout=30,
        )
        r.raise_for_status()
        return str(r.json()["access_token"])

    def create_room(self, token: str, alias: str = "") -> str:
        body: dict[str, Any] = {"preset": "private_chat", "name": "sentinel alerts"}
        if alias:
            body["room_alias_name"] = alias
        r = httpx.post(
            f"{self.url}/_matrix/client/v3/createRoom",
            json=body,
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        )
        r.raise_for_status()
        return str(r.json()["room_id"])

    def join(self, inviter: str, token: str, user_id: str, room_id: str) -> None:
        """``inviter`` invites ``user_id``, who joins with ``token``."""
        room = quote(room_id, safe="")
        r = httpx.post(
            f"{self.url}/_matrix/client/v3/rooms/{room}/invite",
            json={"user_id": user_id},
            headers={"authorization": f"Bearer {inviter}"},
            timeout=30,
        )
        r.raise_for_status()
        r = httpx.post(
            f"{self.url}/_matrix/client/v3/rooms/{room}/join",
            json={},
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        )
        r.raise_for_status()

    def messages(self, token: str, room_id: str) -> list[dict[str, Any]]:
        """The room's ``m.room.message`` events, oldest first."""
        r = httpx.get(
            f"{self.url}/_matrix/client/v3/rooms/{quote(room_id, safe='')}/messages",
            params={"dir": "b", "limit": "100"},
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        )
        r.raise_for_status()
        events = [e for e in r.json()["chunk"] if e.get("type") == "m.room.message"]
        return list(reversed(events))


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    if importlib.util.find_spec("synapse") is None:
        pytest.skip(
            "matrix-synapse is not installed; `pip install -e '.[dev]'` installs it (pip install matrix-synapse)"
        )
    d = tmp_path_factory.mktemp("synapse")
    port = free_port()
    (d / "homeserver.yaml").write_text(
        CONFIG.format(server_name=SERVER_NAME, dir=d, port=port, secret=SHARED_SECRET), encoding="utf-8"
    )
    env = {**os.environ, "SYNAPSE_NO_TLS": "1"}
    gen = subprocess.run(
        [sys.executable, "-m", "synapse.app.homeserver", "-c", str(d / "homeserver.yaml"), "--generate-keys"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    if gen.returncode != 0:
        pytest.fail(f"synapse --generate-keys failed: {gen.stderr[-2000:]}")
    log = (d / "synapse.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "synapse.app.homeserver", "-c", str(d / "homeserver.yaml")],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=d,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                tail = (d / "synapse.log").read_text(errors="replace")[-3000:]
                pytest.fail(f"synapse exited with {proc.returncode}: {tail}")
            try:
                if httpx.get(f"{url}/_matrix/client/versions", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("synapse did not answer within 90 s")
            time.sleep(0.1)
        yield Synapse(url=url, dir=d, proc=proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
