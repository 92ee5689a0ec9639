"""What a Graph endpoint may be (workspace.yaml's `entra.provider.endpoint`, checked when the
file is loaded and again when the client connects): https anywhere, plain http only to a
loopback address (a running emulator), tokens never crossing a network in the clear."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from reconciler.problems import excerpt


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_problem(endpoint: str) -> str | None:
    """Why `endpoint` cannot be a Graph endpoint, or None."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"Graph endpoint {excerpt(endpoint)!s}: not an http(s) URL"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return (
            f"Graph endpoint {excerpt(endpoint)}: plain http is only allowed to a loopback "
            "address (127.0.0.1, ::1, localhost); use https for any other host"
        )
    if parts.path.strip("/") or parts.query or parts.fragment:
        return f"Graph endpoint {excerpt(endpoint)}: give only scheme, host and port"
    return None
