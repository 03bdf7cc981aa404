"""ProviderClient over real loopback sockets: streaming, cancellation closes the connection,
mid-stream drops, refused connections, and TLS with a private CA.

The server is a tiny asyncio HTTP/1.1 server written here so the test sees exactly what happens
on the socket (when the client hangs up), which httpx.MockTransport cannot show.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import socket
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from app.core.client import ProviderClient
from app.core.errors import ConnectError, StreamInterruptedError
from app.core.protocol.types import ChatDelta, ChatMessage, GenerationParams
from app.core.providers import ProviderProfile

pytestmark = pytest.mark.e2e

MSGS = [ChatMessage(role="user", content="Hello")]
KEY = "sk-loopback-0123456789abcdef"


def sse_chunk(text: str) -> bytes:
    obj = {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return f"data: {json.dumps(obj)}\n\n".encode()


def chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


Behaviour = Callable[["LoopbackServer", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class LoopbackServer:
    """An HTTP/1.1 server on 127.0.0.1:0 whose reply is a coroutine given by the test."""

    def __init__(self, behaviour: Behaviour, ssl_context: ssl.SSLContext | None = None) -> None:
        self.behaviour = behaviour
        self.ssl_context = ssl_context
        self.client_closed = asyncio.Event()  # the server saw EOF or a failed write
        self.first_chunk_sent = asyncio.Event()
        self.requests: list[tuple[bytes, dict[str, str], bytes]] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    async def __aenter__(self) -> "LoopbackServer":
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append((lines[0].encode(), headers, body))
            await self.behaviour(self, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            self.client_closed.set()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, OSError):
                await writer.wait_closed()
            self._handlers.discard(task)


async def wait_for_eof(reader: asyncio.StreamReader, seconds: float) -> bool:
    """True when the client hung up within `seconds` (the server's pacing between chunks)."""
    try:
        data = await asyncio.wait_for(reader.read(1024), seconds)
    except TimeoutError:
        return False
    return data == b""


async def slow_stream(server: LoopbackServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Stream SSE forever, a chunk every 50 ms, until the client closes the connection."""
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    n = 0
    while True:
        writer.write(chunked(sse_chunk(f"t{n} ")))
        await writer.drain()
        server.first_chunk_sent.set()
        n += 1
        if await wait_for_eof(reader, 0.05):
            server.client_closed.set()
            return


async def complete_stream(server: LoopbackServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    for text in ("Hello", ", ", "world"):
        writer.write(chunked(sse_chunk(text)))
        await writer.drain()
    writer.write(chunked(b"data: [DONE]\n\n") + b"0\r\n\r\n")
    await writer.drain()


async def drop_mid_stream(server: LoopbackServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    writer.write(chunked(sse_chunk("partial")))
    await writer.drain()
    # Hang up without the terminating chunk: the client must see an incomplete body.
    writer.transport.abort()


async def _no_wait(seconds: float) -> None:
    """Retries in these tests must not really wait."""


def make_client(
    port: int,
    *,
    scheme: str = "http",
    sleep: Callable[[float], Awaitable[None]] = _no_wait,
    **kwargs: Any,
) -> ProviderClient:
    profile = ProviderProfile(name="loop", base_url=f"{scheme}://127.0.0.1:{port}/v1", **kwargs)
    return ProviderClient(profile, KEY, sleep=sleep)


def open_connections(client: ProviderClient) -> int:
    """Connections httpx still holds. Checked right after a stream ends, with no await in
    between: "closed at once" means closed by our code, not later by the garbage collector."""
    pool = client._http._transport._pool  # type: ignore[attr-defined]
    return len(pool.connections)


def test_stream_over_real_socket(arun: Callable[..., Any]) -> None:
    async def go() -> str:
        async with LoopbackServer(complete_stream) as server, make_client(server.port) as client:
            parts = []
            async with contextlib.aclosing(client.chat_stream("m", MSGS, GenerationParams())) as stream:
                async for delta in stream:
                    parts.append(delta.content)
            request_line, headers, body = server.requests[0]
            assert request_line == b"POST /v1/chat/completions HTTP/1.1"
            assert headers["authorization"] == f"Bearer {KEY}"
            assert json.loads(body)["stream"] is True
            return "".join(parts)

    assert arun(go(), timeout=20) == "Hello, world"


def test_cancelling_the_consumer_closes_the_connection(arun: Callable[..., Any]) -> None:
    async def go() -> list[ChatDelta]:
        async with LoopbackServer(slow_stream) as server, make_client(server.port) as client:
            got: list[ChatDelta] = []
            first = asyncio.Event()

            async def consume() -> None:
                async for delta in client.chat_stream("m", MSGS, GenerationParams()):
                    got.append(delta)
                    first.set()

            task = asyncio.create_task(consume())
            await first.wait()
            assert not server.client_closed.is_set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert open_connections(client) == 0
            # The server notices the hang-up on its next read: well within the test's timeout.
            await asyncio.wait_for(server.client_closed.wait(), 5)
            return got

    got = arun(go(), timeout=20)
    assert got and got[0].content == "t0 "


def test_closing_the_generator_early_closes_the_connection(arun: Callable[..., Any]) -> None:
    async def go() -> str:
        async with LoopbackServer(slow_stream) as server, make_client(server.port) as client:
            async with contextlib.aclosing(client.chat_stream("m", MSGS, GenerationParams())) as stream:
                async for delta in stream:
                    text = delta.content
                    break
            assert open_connections(client) == 0
            await asyncio.wait_for(server.client_closed.wait(), 5)
            return text

    assert arun(go(), timeout=20) == "t0 "


def test_cancel_while_consumer_waits_elsewhere(arun: Callable[..., Any]) -> None:
    """The consumer is parked outside the generator (e.g. saving to SQLite) when cancelled."""

    async def go() -> None:
        async with LoopbackServer(slow_stream) as server, make_client(server.port) as client:
            parked = asyncio.Event()

            async def consume() -> None:
                async with contextlib.aclosing(client.chat_stream("m", MSGS, GenerationParams())) as stream:
                    async for _delta in stream:
                        parked.set()
                        await asyncio.Event().wait()  # never set: only cancellation ends this

            task = asyncio.create_task(consume())
            await parked.wait()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert open_connections(client) == 0
            await asyncio.wait_for(server.client_closed.wait(), 5)

    arun(go(), timeout=20)


def test_drop_mid_stream_is_stream_interrupted(arun: Callable[..., Any]) -> None:
    async def go() -> list[str]:
        async with LoopbackServer(drop_mid_stream) as server, make_client(server.port) as client:
            got: list[str] = []
            with pytest.raises(StreamInterruptedError):
                async with contextlib.aclosing(client.chat_stream("m", MSGS, GenerationParams())) as stream:
                    async for delta in stream:
                        got.append(delta.content)
            assert len(server.requests) == 1  # never retried once output arrived
            return got

    assert arun(go(), timeout=20) == ["partial"]


def test_refused_connection_is_connect_error_naming_the_host(arun: Callable[..., Any]) -> None:
    # A port that was just free: nothing listens there.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def go() -> ConnectError:
        async with make_client(port, max_retries=1, sleep=fake_sleep) as client:
            with pytest.raises(ConnectError) as info:
                await client.list_models()
            return info.value

    error = arun(go(), timeout=20)
    assert len(sleeps) == 1  # retried once, without really waiting
    assert f"127.0.0.1:{port}" in error.user_message
    assert KEY not in str(error)


# --- TLS with a private certificate authority --------------------------------------------------


def _make_ca_and_server_cert(tmp_path: Path) -> tuple[Path, Path, Path]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Switchboard Test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = tmp_path / "ca.pem"
    cert_path = tmp_path / "server.pem"
    key_path = tmp_path / "server.key"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


async def models_reply(server: LoopbackServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    body = json.dumps({"object": "list", "data": [{"id": "private-model"}]}).encode()
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    await writer.drain()


def test_tls_with_profile_ca_file(arun: Callable[..., Any], tmp_path: Path) -> None:
    ca_path, cert_path, key_path = _make_ca_and_server_cert(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_path, key_path)

    async def go() -> tuple[list[str], ConnectError]:
        async with LoopbackServer(models_reply, ssl_context=server_ctx) as server:
            async with make_client(server.port, scheme="https", ca_file=str(ca_path)) as trusted:
                models = [m.id for m in await trusted.list_models()]
            async with make_client(server.port, scheme="https", max_retries=0) as untrusted:
                with pytest.raises(ConnectError) as info:
                    await untrusted.list_models()
            return models, info.value

    models, error = arun(go(), timeout=20)
    assert models == ["private-model"]
    assert "not trusted" in error.user_message
