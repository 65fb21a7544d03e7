"""Attacks on the TLS between Sentinel and Vault, against the session's real OpenBao.

An impostor presenting a certificate from another CA, or the right CA's certificate for
another name, is refused before a byte of HTTP (so before the token) leaves: by the
synchronous client, by the event-loop pool, and by the CLI with a clear error (no
traceback, no token).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentinel.cli import main
from sentinel.errors import VaultNotFound, VaultUnavailable
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import DevCA, DevVault
from tests.conftest import Deployment, new_mount
from tests.listener import accept_each


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return DevCA.create("an impostor's CA").write(tmp_path_factory.mktemp("other-ca"))


class Impostor:
    """A TLS server on 127.0.0.1 with a certificate from ``ca``: records every byte of
    application data a client sends once its handshake succeeds."""

    def __init__(self, ca: DevCA, tmp: Path) -> None:
        cert, key = ca.issue_server("127.0.0.1")
        (tmp / "imp.pem").write_bytes(cert)
        (tmp / "imp-key.pem").write_bytes(key)
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(tmp / "imp.pem", tmp / "imp-key.pem")
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.received = b""
        self.handshakes_failed = 0
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=accept_each, args=(self.sock, self._handle), daemon=True)
        self.thread.start()

    @property
    def addr(self) -> str:
        return f"https://127.0.0.1:{self.sock.getsockname()[1]}"

    def _handle(self, conn: socket.socket) -> None:
        with self.changed:
            conn.settimeout(5)
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    self.received += tls.recv(65536)
            except (ssl.SSLError, OSError):
                self.handshakes_failed += 1
            self.changed.notify_all()

    def refused(self, n: int) -> bool:
        """Wait until ``n`` clients broke off their handshakes."""
        with self.changed:
            return self.changed.wait_for(lambda: self.handshakes_failed >= n, timeout=10)

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() in the thread
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def impostor(tmp_path: Path) -> Iterator[Impostor]:
    server = Impostor(DevCA.create("an impostor's CA"), tmp_path)
    yield server
    server.close()


async def test_an_impostor_with_another_cas_certificate_never_sees_the_token(
    bao: DevVault, impostor: Impostor
) -> None:
    assert bao.ca_path is not None
    token = "hvs.secret-daemon-token-for-the-test"
    client = VaultClient(impostor.addr, token, ca_cert=str(bao.ca_path))
    with pytest.raises(VaultUnavailable, match="TLS certificate is not trusted") as sync_err:
        client.kv_read("accounts/a/password")
    async with client.session():
        with pytest.raises(VaultUnavailable, match="TLS certificate is not trusted") as loop_err:
            await client.akv_write("accounts/a/password", {"value": "x"}, cas=None)
    for err in (sync_err.value, loop_err.value):
        assert token not in str(err) and "Traceback" not in str(err)
    assert impostor.refused(2)
    assert impostor.received == b""  # no HTTP (no token) over a connection to the impostor


async def test_a_vault_certificate_from_another_ca_is_refused_and_nothing_is_written(
    bao: DevVault, other_ca: Path
) -> None:
    settings, admin, _, token = new_mount(bao, "t", tls=True)
    wrong = VaultClient(settings.addr, token, kv_mount=settings.kv_mount, ca_cert=str(other_ca))
    with pytest.raises(VaultUnavailable, match="not trusted"):
        wrong.kv_write("accounts/a/password", {"value": "sync"}, cas=0)
    async with wrong.session():
        with pytest.raises(VaultUnavailable, match="not trusted"):
            await wrong.akv_write("accounts/a/password", {"value": "loop"}, cas=0)
    with pytest.raises(VaultNotFound):
        admin.kv_read("accounts/a/password")
    admin.close()


def test_the_systems_trust_store_does_not_trust_a_private_vault_ca(bao: DevVault) -> None:
    # No ca_cert configured: the public CA bundle, which never signed this Vault's certificate.
    with pytest.raises(VaultUnavailable, match="not trusted"):
        VaultClient(bao.tls_addr, bao.root_token).lookup_self()


async def test_the_right_ca_for_another_name_is_refused(bao: DevVault) -> None:
    # The certificate names 127.0.0.1; reaching the same server as "localhost" must fail.
    assert bao.ca_path is not None
    client = VaultClient(f"https://localhost:{bao.tls_port}", bao.root_token, ca_cert=str(bao.ca_path))
    with pytest.raises(VaultUnavailable, match="not trusted"):
        client.lookup_self()
    async with client.session():
        with pytest.raises(VaultUnavailable, match="not trusted"):
            await client.akv_read("anything")


def test_the_cli_names_an_untrusted_vault_certificate_without_a_traceback(
    deployment: Deployment, other_ca: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment.write_config(addr=deployment.vault.tls_addr)
    text = deployment.config.read_text().replace("[vault]\n", f'[vault]\nca_cert = "{other_ca}"\n')
    deployment.config.write_text(text)
    assert main(deployment.cli("vault", "check")) != 0
    out = capsys.readouterr()
    said = out.out + out.err
    assert "TLS certificate is not trusted" in said and "ca_cert" in said
    assert "Traceback" not in said and deployment.token not in said
