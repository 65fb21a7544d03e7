"""Sentinel sends no Vault token in clear over the network.

Every Vault request carries a token: the daemon's, or a person's own from the CLI. Before, a
config (or ``SENTINEL_VAULT_ADDR``) naming ``http://`` and another host was followed, so the
token crossed the network in clear to whoever listened on the way. Now such an address is
refused before anything is sent, unless ``[vault] allow_plain_http = true`` says so (a lab);
``http://`` to this host itself (the dev server, a local agent) stays allowed.

The listener stands in for the host on the path: it is bound to this machine's own
non-loopback address, so the test needs one (and skips without).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from sentinel.cli import main
from sentinel.config import load_config
from sentinel.errors import ConfigError
from tests.conftest import Deployment
from tests.listener import accept_each


def own_network_address() -> str | None:
    """This host's address on its network (no packet is sent to find it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = str(s.getsockname()[0])
    return None if address.startswith("127.") else address


class Eavesdropper:
    """Accepts connections on ``address`` and keeps every byte sent to it."""

    def __init__(self, address: str) -> None:
        self.sock = socket.create_server((address, 0))
        self.url = f"http://{address}:{self.sock.getsockname()[1]}"
        self.heard = b""
        self.request_seen = threading.Event()
        self.thread = threading.Thread(target=accept_each, args=(self.sock, self._handle), daemon=True)
        self.thread.start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        with contextlib.suppress(OSError):
            while chunk := conn.recv(65536):
                self.heard += chunk
                if b"\r\n\r\n" in self.heard:
                    self.request_seen.set()
                    return

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def eavesdropper() -> Iterator[Eavesdropper]:
    address = own_network_address()
    if address is None:
        pytest.skip("this host has no non-loopback IPv4 address to listen on")
    e = Eavesdropper(address)
    yield e
    e.close()


def test_the_cli_sends_no_token_to_a_plain_http_vault_on_another_host(
    deployment: Deployment, eavesdropper: Eavesdropper, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment.write_config(addr=eavesdropper.url)
    assert main(deployment.cli("vault", "check")) == 2
    err = capsys.readouterr().err
    assert f"'vault.addr': '{eavesdropper.url}' would send Vault tokens in clear" in err
    assert "allow_plain_http" in err
    assert eavesdropper.heard == b""
    assert deployment.token not in err


def test_an_environment_pointing_vault_at_plain_http_elsewhere_is_refused(
    deployment: Deployment, eavesdropper: Eavesdropper
) -> None:
    with pytest.raises(ConfigError, match="would send Vault tokens in clear"):
        load_config(deployment.config, env={"SENTINEL_VAULT_ADDR": eavesdropper.url})


def test_plain_http_elsewhere_is_used_only_when_the_config_says_so(
    deployment: Deployment, eavesdropper: Eavesdropper
) -> None:
    deployment.write_config(addr=eavesdropper.url)
    text = deployment.config.read_text().replace("[vault]\n", "[vault]\nallow_plain_http = true\n")
    deployment.config.write_text(text)
    assert main(deployment.cli("vault", "check")) != 0  # nobody answers as Vault there
    assert eavesdropper.request_seen.wait(timeout=10)
    assert f"x-vault-token: {deployment.token}".lower().encode() in eavesdropper.heard.lower()


@pytest.mark.parametrize("addr", ["http://127.0.0.1:8200", "http://localhost:8200", "http://[::1]:8200"])
def test_plain_http_to_this_host_stays_allowed(deployment: Deployment, addr: str) -> None:
    deployment.write_config(addr=addr)
    assert load_config(deployment.config, env={}).vault.addr == addr
