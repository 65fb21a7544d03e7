"""``sentinel alerts pending|dead|retry|test|silence|deliver`` against a real local receiver."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentinel import logs
from sentinel.alerts.model import Alert
from sentinel.alerts.outbox import AlertOutbox
from sentinel.cli import main
from sentinel.config import VaultSettings, load_config
from sentinel.store import Store
from sentinel.vault.devserver import DevVault
from tests.alerts.conftest import http_receiver_server  # noqa: F401
from tests.alerts.httpreceiver import HttpReceiver, Reply
from tests.conftest import admin_client, capability_policy, person_token


@pytest.fixture
def http_receiver(http_receiver_server: HttpReceiver) -> Iterator[HttpReceiver]:  # noqa: F811
    http_receiver_server.reset()
    yield http_receiver_server
    http_receiver_server.reset()


ACCOUNTS = ("acct-a", "acct-b")


@pytest.fixture
def cfg(tmp_path: Path, http_receiver: HttpReceiver) -> Path:
    path = tmp_path / "sentinel.toml"
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(
        "".join(
            f'[[accounts]]\nid = "{a}"\nplatform = "sandbox"\nhandle = "{a}"\ntimezone = "UTC"\npublishing = "gated"\n\n'
            for a in ACCOUNTS
        ),
        encoding="utf-8",
    )
    path.write_text(
        f"""
[sentinel]
state_dir = "{tmp_path / "state"}"
inventory = "{inventory}"
runbook_url = "https://wiki.example.org/runbook"

[alerts]
group_wait = "0s"

[alerts.receivers.chat]
type = "mattermost"
url_env = "TEST_MM_URL"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(autouse=True)
def _env(
    monkeypatch: pytest.MonkeyPatch,
    http_receiver: HttpReceiver,
) -> None:
    monkeypatch.setenv("TEST_MM_URL", f"{http_receiver.url}/mm/hooks/secret-hook-id-12345")


def raise_alerts(cfg: Path, n: int) -> None:
    logs.configure(stream=sys.stderr)  # this test's captured stderr, not an earlier test's
    config = load_config(cfg, env={})
    with Store(config.sentinel.database) as store:
        outbox = AlertOutbox.from_config(store, config)
        for i in range(n):
            outbox.raise_alert(Alert(kind="held_post", summary="held", accounts=(f"a{i}",), rule="r"))


def test_pending_then_deliver_once(
    cfg: Path, http_receiver: HttpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    raise_alerts(cfg, 2)
    capsys.readouterr()
    assert main(["--config", str(cfg), "--json", "alerts", "pending"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"deliveries": [], "waiting_alerts": 2}
    assert main(["--config", str(cfg), "alerts", "deliver", "--once"]) == 0
    assert "1 delivery sent" in capsys.readouterr().out  # two alerts, one group, one message
    (req,) = http_receiver.accepted("/mm/hooks/secret-hook-id-12345")
    assert "a0, a1" in req.json()["attachments"][0]["text"]
    capsys.readouterr()
    assert main(["--config", str(cfg), "alerts", "pending"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[0].split()[:3] == ["ID", "RECEIVER", "STATUS"]


def test_dead_and_retry(cfg: Path, http_receiver: HttpReceiver, capsys: pytest.CaptureFixture[str]) -> None:
    http_receiver.default = lambda _: Reply(404, body="no such hook")
    raise_alerts(cfg, 1)
    assert main(["--config", str(cfg), "alerts", "deliver", "--once"]) == 0
    capsys.readouterr()
    assert main(["--config", str(cfg), "--json", "alerts", "dead"]) == 1
    dead = json.loads(capsys.readouterr().out)["deliveries"]
    assert len(dead) == 1 and dead[0]["last_error"].startswith("rejected: HTTP 404")
    assert "secret-hook-id-12345" not in json.dumps(dead)
    assert main(["--config", str(cfg), "alerts", "retry"]) == 2  # says what to retry
    assert main(["--config", str(cfg), "alerts", "retry", "--all"]) == 0
    assert "1 dead delivery queued again" in capsys.readouterr().out
    http_receiver.default = lambda _: Reply(200)
    assert main(["--config", str(cfg), "alerts", "deliver", "--once"]) == 0
    assert main(["--config", str(cfg), "alerts", "dead"]) == 0


def test_test_receiver(cfg: Path, http_receiver: HttpReceiver, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(cfg), "alerts", "test", "chat"]) == 0
    assert "chat: delivered (HTTP 200)" in capsys.readouterr().out
    body = http_receiver.accepted()[0].json()
    assert "hxxps://example[.]com/link" in body["attachments"][0]["text"]
    assert "https://wiki.example.org/runbook" in body["attachments"][0]["text"]
    http_receiver.default = lambda _: Reply(500, body="broken")
    assert main(["--config", str(cfg), "alerts", "test", "chat"]) == 1
    out = capsys.readouterr().out
    assert "NOT delivered: HTTP 500" in out and "secret-hook-id-12345" not in out
    assert main(["--config", str(cfg), "alerts", "test", "nope"]) == 2
    assert "no receiver 'nope'" in capsys.readouterr().err


def test_silence_add_list_expire(
    cfg: Path,
    http_receiver: HttpReceiver,
    bao: DevVault,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with cfg.open("a") as f:
        f.write(f'[vault]\naddr = "{bao.addr}"\n')
    admin = admin_client(bao, VaultSettings(addr=bao.addr))
    token, _ = person_token(admin, "op-silencer", [capability_policy(admin, "admin", ACCOUNTS)], ttl="10m")
    monkeypatch.setenv("VAULT_TOKEN", token)
    # --author is gone: who silences is the caller's Vault identity
    with pytest.raises(SystemExit) as usage:
        main(["--config", str(cfg), "alerts", "silence", "--kind", "k", "--for", "2h", "--author", "x"])
    assert usage.value.code == 2
    assert main(["--config", str(cfg), "alerts", "silence", "--account", "a*", "--for", "2h"]) == 0
    assert "silence 1: account 'a*' muted until" in capsys.readouterr().out
    raise_alerts(cfg, 1)
    assert main(["--config", str(cfg), "alerts", "deliver", "--once"]) == 0
    assert http_receiver.requests == []
    capsys.readouterr()
    assert main(["--config", str(cfg), "--json", "alerts", "silence", "--list"]) == 0
    (s,) = json.loads(capsys.readouterr().out)["silences"]
    assert (s["matcher"], s["value"], s["author"]) == ("account", "a*", "op-silencer")  # their Vault entity
    admin.close()
    assert s["ends_at"] - s["starts_at"] == 7200
    assert main(["--config", str(cfg), "alerts", "silence", "--expire", "1"]) == 0
    assert main(["--config", str(cfg), "alerts", "silence", "--expire", "1"]) == 1
    assert main(["--config", str(cfg), "alerts", "silence", "--rule", "r"]) == 2  # no --for
    assert main(["--config", str(cfg), "alerts", "silence", "--rule", "r", "--for", "soon"]) == 2
