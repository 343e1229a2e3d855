"""Is an endpoint on this machine? One answer for registries, API endpoints and service URLs; and a free
loopback port for what cocusctl starts locally."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def is_loopback(address: str | None) -> bool:
    """True for a loopback host, given as a URL (`http://127.0.0.1:9280`), `HOST[:PORT]` or a bare host.

    `localhost`, 127.0.0.0/8 and ::1 count; anything that is not an address (a DNS name) does not.
    """
    if not address:
        return False
    host = urlsplit(address if "://" in address else f"//{address}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
