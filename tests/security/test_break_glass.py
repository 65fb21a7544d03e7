"""Break-glass is for a Vault outage only, and only for who can write the state directory."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentinel.cli import main
from sentinel.net import free_port
from sentinel.response.responder import STEPS
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.conftest import Deployment


def frozen(deployment: Deployment) -> list[str]:
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        return ResponseStore(store).frozen()


def test_break_glass_does_not_bypass_vault_when_vault_answers(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token, _ = deployment.admin.create_token(policies=["default"], ttl="10m", meta={"operator": "op-nobody"})
    monkeypatch.setenv("VAULT_TOKEN", token)
    args = ("lockdown", "example-brand-x", "--reason", "mine now", "--yes", "--break-glass")
    assert main(deployment.cli(*args)) == 6  # missing capability, as without --break-glass
    assert "missing capability 'lockdown'" in capsys.readouterr().err
    assert frozen(deployment) == []


def test_unfreeze_never_works_without_vault(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store(deployment.dir / "state" / "sentinel.sqlite3") as store:
        ResponseStore(store).mark_frozen(["example-brand-x"], STEPS, "worm", "op-ivy", False)
    deployment.write_config(addr=f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("VAULT_TOKEN", deployment.token)
    assert main(deployment.cli("unfreeze", "example-brand-x", "--reason", "undo", "--code", "123456")) == 3
    assert "Vault unreachable" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:  # there is no break-glass for unfreezing
        main(deployment.cli("unfreeze", "example-brand-x", "--reason", "undo", "--break-glass"))
    assert e.value.code == 2
    assert frozen(deployment) == ["example-brand-x"]


@pytest.fixture
def world_readable(deployment: Deployment) -> Iterator[Path]:
    """The deployment copied where another Unix user can read it (but not write its state)."""
    root = Path(tempfile.mkdtemp(prefix="sentinel-bg-"))
    try:
        os.chmod(root, 0o755)  # noqa: S103 - readable by the other user, on purpose
        for name in ("sentinel.toml", "inventory.toml"):
            shutil.copy(deployment.dir / name, root / name)
            os.chmod(root / name, 0o644)
        (root / "state").mkdir(mode=0o755)
        Store(root / "state" / "sentinel.sqlite3").close()
        os.chmod(root / "state" / "sentinel.sqlite3", 0o644)
        yield root
    finally:
        shutil.rmtree(root)


def test_break_glass_refused_to_who_cannot_write_the_state_directory(
    deployment: Deployment, world_readable: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment.write_config(addr=f"http://127.0.0.1:{free_port()}")  # Vault unreachable
    shutil.copy(deployment.config, world_readable / "sentinel.toml")
    args = ["--config", str(world_readable / "sentinel.toml"), "lockdown", "example-brand-x"]
    args += ["--reason", "x", "--yes", "--break-glass"]
    if os.geteuid() == 0:  # act as another user, who can read the config but not write the state
        os.setegid(65534)
        os.seteuid(65534)
        try:
            code = main(args)
        finally:
            os.seteuid(0)
            os.setegid(0)
    else:
        os.chmod(world_readable / "state", 0o555)  # noqa: S103 - read-only for the caller
        code = main(args)
    assert code == 3
    err = capsys.readouterr().err
    assert "break-glass refused: you cannot write the state directory" in err and "Traceback" not in err
    with Store(world_readable / "state" / "sentinel.sqlite3") as store:
        assert ResponseStore(store).frozen() == []
