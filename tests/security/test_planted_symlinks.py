"""A symlink planted where Sentinel writes a secret does not redirect the secret.

Before, ``sentinel vault bootstrap --token-file PATH`` opened PATH following a symlink: a
user who could write its directory planted ``PATH -> their own file``, and the daemon's new
token was written into a file they own (the 0600 set on it kept them its owner). Now every
file Sentinel creates is opened with O_NOFOLLOW: the command stops with a message naming the
path before it changes Vault or issues a token, and the planted target stays empty. The state
database is opened the same way, and ``sentinel init`` (often run as root in ``/etc``) creates
no file where a dangling symlink points. Performed with the session's real OpenBao.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sentinel.cli import main
from sentinel.errors import SentinelError
from sentinel.store import Store
from tests.conftest import Deployment


def test_bootstrap_writes_no_token_through_a_planted_symlink(
    deployment: Deployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = deployment.dir / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # noqa: S103  (a directory another user can write, without the sticky bit)
    loot = deployment.dir / "loot"
    loot.write_text("")
    (shared / "daemon-token").symlink_to(loot)  # planted in advance by that user
    monkeypatch.setenv("VAULT_TOKEN", deployment.vault.root_token)
    monkeypatch.setenv("SENTINEL_VAULT_TOKEN_FILE", "")
    tokens_before = len(deployment.admin.request("LIST", "auth/token/accessors")["data"]["keys"])
    assert main(deployment.cli("vault", "bootstrap", "--token-file", str(shared / "daemon-token"))) == 1
    err = capsys.readouterr().err
    assert f"{shared / 'daemon-token'}: is a symlink; refusing to write through it" in err
    assert loot.read_text() == ""
    assert len(deployment.admin.request("LIST", "auth/token/accessors")["data"]["keys"]) == tokens_before


def test_the_state_database_is_not_opened_through_a_planted_symlink(deployment: Deployment) -> None:
    state = deployment.dir / "state"
    state.mkdir(mode=0o700)
    elsewhere = deployment.dir / "elsewhere.sqlite3"
    (state / "sentinel.sqlite3").symlink_to(elsewhere)
    with pytest.raises(SentinelError, match="is a symlink; refusing to write through it"):
        Store(state / "sentinel.sqlite3")
    assert not elsewhere.exists()


def test_init_creates_no_file_where_a_planted_symlink_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "etc-sentinel"
    target.mkdir()
    chosen = tmp_path / "cron.d-entry"  # anywhere the planter wants a file created as root
    (target / "inventory.toml").symlink_to(chosen)  # dangling: init does not see it as existing
    assert main(["init", "--dir", str(target)]) == 1
    assert (
        f"{target / 'inventory.toml'}: is a symlink; refusing to write through it" in capsys.readouterr().err
    )
    assert not chosen.exists()
