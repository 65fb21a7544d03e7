"""Small network helpers shared by the local servers Sentinel starts (the OpenBao dev
server, the sandbox platform, the demo's API), the names the API answers to and the key a client address counts under."""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


LOOPBACK = ("localhost", "127.0.0.1", "[::1]")
"""Hosts every local daemon answers to unless ``[api] allowed_hosts`` says otherwise."""

_HOST = re.compile(r"(?P<name>\[[0-9a-f:.]+\]|[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?)(:(?P<port>[0-9]{1,5}))?")


def parse_host(value: str) -> tuple[str, int | None] | None:
    """``name`` or ``name:port`` (IPv6 in brackets), lower-cased; ``None`` if it is not one."""
    match = _HOST.fullmatch(value.strip().lower())
    if match is None:
        return None
    port = match["port"]
    return match["name"], int(port) if port is not None else None


def host_entry(value: str) -> str:
    """A bind host or URL host as a Host-header name (IPv6 addresses in brackets)."""
    return f"[{value}]" if ":" in value and not value.startswith("[") else value


def _unspecified(host: str) -> bool:
    """An address that means "every interface" (``0.0.0.0``, ``::``): no name to answer to."""
    try:
        return host == "" or ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def default_hosts(bind_host: str) -> tuple[str, ...]:
    """The bind host (unless it is a wildcard address) and the loopback names."""
    bound = () if _unspecified(bind_host) else (host_entry(bind_host.lower()),)
    return (*bound, *LOOPBACK)


def url_host(url: str) -> str | None:
    """The Host-header name of an ``http(s)://`` URL, or ``None`` if it is not one."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    return host_entry(parts.hostname)


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` names this host itself (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def client_key(address: str) -> str:
    """The key an address counts under: an IPv4 address itself, an IPv6 address's /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP (a Unix socket, a test client): counted by its name
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
