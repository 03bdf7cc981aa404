"""Naming a transport failure on this side of the wire: refused, DNS, TLS, reset, timeout.

`transport_reason(exc)` walks an exception's cause chain (httpx wraps httpcore, which wraps the
OSError or ssl error) and returns a few words for "Could not connect to 127.0.0.1:8404: <reason>".
Pure: it only reads the exception objects.
"""

from __future__ import annotations

import errno
import socket
import ssl

__all__ = ["transport_reason"]

_REFUSED = (errno.ECONNREFUSED,)
_RESET = (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED)
_UNREACHABLE = (errno.ENETUNREACH, errno.EHOSTUNREACH)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: set[int] = set()
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def transport_reason(exc: BaseException) -> str:
    """A few words saying what failed: "connection refused", "host name not found (DNS)", …"""
    chain = _chain(exc)
    texts = " ".join(str(e) for e in chain).lower()
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            return "the TLS certificate is not trusted"
        if isinstance(item, socket.gaierror):
            return "host name not found (DNS)"
        if isinstance(item, ConnectionRefusedError) or getattr(item, "errno", None) in _REFUSED:
            return "connection refused"
        if isinstance(item, ConnectionResetError) or getattr(item, "errno", None) in _RESET:
            return "connection reset"
        if getattr(item, "errno", None) in _UNREACHABLE:
            return "network unreachable"
        if isinstance(item, ssl.SSLError):
            return "TLS handshake failed"
    if "certificate_verify_failed" in texts:
        return "the TLS certificate is not trusted"
    if "refused" in texts:
        return "connection refused"
    if (
        "name or service not known" in texts
        or "nodename nor servname" in texts
        or "getaddrinfo" in texts
        or "name resolution" in texts
        or "no address associated" in texts
    ):
        return "host name not found (DNS)"
    if "ssl" in texts or "tls" in texts or "handshake" in texts:
        return "TLS handshake failed"
    if "reset" in texts:
        return "connection reset"
    if "unreachable" in texts:
        return "network unreachable"
    return "connection failed"
