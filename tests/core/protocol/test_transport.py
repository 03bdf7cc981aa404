"""Naming transport failures on this side of the wire."""

from __future__ import annotations

import errno
import socket
import ssl

import httpx
import pytest

from app.core.protocol.transport import transport_reason


def wrapped(inner: BaseException) -> httpx.ConnectError:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise httpx.ConnectError(str(exc)) from exc
    except httpx.ConnectError as outer:
        return outer


@pytest.mark.parametrize(
    ("inner", "reason"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "connection refused"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "host name not found (DNS)"),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "connection reset"),
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "TLS handshake failed"),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "network unreachable"),
        (OSError("something else"), "connection failed"),
    ],
)
def test_reasons(inner: BaseException, reason: str) -> None:
    assert transport_reason(wrapped(inner)) == reason


def test_reason_from_text_alone() -> None:
    assert transport_reason(httpx.ConnectError("[Errno -2] Name or service not known")) == "host name not found (DNS)"
    assert transport_reason(httpx.ConnectError("All connection attempts failed: refused")) == "connection refused"
