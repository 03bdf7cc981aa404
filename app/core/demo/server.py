"""The built-in demo / test provider: a threaded loopback HTTP server speaking every seed dialect.

Standard library only (`http.server.ThreadingHTTPServer` on a daemon thread). Every response is
HTTP/1.1 with `Connection: close`; streams use chunked transfer encoding, so a fault that drops the
connection mid-stream is seen by clients as a truncated body, exactly like a real network drop.

Flavours (see `wire.FLAVOURS`; `DemoServer.base_url(flavour)` gives a profile's base URL):

=================  =========================  ===================================================
flavour            prefix                     rules enforced
=================  =========================  ===================================================
openai, mollyra    /v1                        OpenAI dialect; both video dialects (seed 000)
gateway            /api/v1                    OpenAI dialect + X-RateLimit-* headers, 429 when the
                                              per-minute budget (`gateway_rpm`) is spent (seed 001)
gateway-gemini     /api/v1beta                Gemini shape, `x-goog-api-key` only: a Bearer
                                              header gets 401 UNAUTHENTICATED (seed 001)
siliconlike        /siliconlike/v1            sizes `1024*1024` (`1024x1024` -> 400), images
                                              always b64_json with `url: null`, flat error body
                                              `{object:"error", message, type, code}` (seed 002)
horay              /horay/v1                  top_k accepted, max_tokens 1..4096 else 400 (seed 003)
melancholy         /melancholy/api/v1         POST paths need a trailing slash (`/chat/completions/`;
                                              without it: 404, not a redirect, so the client's
                                              trailing-slash option matters); `GET
                                              /video/generations/{id}` as the seed shows (a
                                              trailing slash is tolerated there); images and video
                                              need `User-Agent: MelancholyAI-Client` (else 403)
gemini             /gemini/v1beta             native Gemini: generate, stream (`alt=sse`), embed,
                                              batch embed, models; `x-goog-api-key` or `?key=`
=================  =========================  ===================================================

Other paths: `GET /files/<name>` (generated images and placeholder videos, no auth) and the admin
endpoints for a separate process (no auth, never logged, never faulted):
`GET|POST|DELETE /_control/faults`, `POST /_control/reset`, `POST /_control/config`
(`token_rate`, `video_seconds`, `gateway_rpm`), `GET /_control/requests`, `GET /_control/health`.

Replies are deterministic functions of the request (`text.py`); magic words in the last user
message: "N tokens" (reply length), "[refuse]" (a refusal), "[blocked]" (Gemini prompt block),
"fail" in a video prompt (the job fails). Run `python -m app.core.demo.server --port 8765`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
import signal
import socketserver
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qsl, urlsplit

from app.core.demo import gemini_routes, openai_routes
from app.core.demo import video as video_routes
from app.core.demo.faults import FaultPlan, FaultRule, RecordedRequest, RequestLog
from app.core.demo.media import MediaStore
from app.core.demo.video import VideoStore
from app.core.demo.wire import (
    FLAVOURS,
    INVALID_JSON,
    PREFIXES,
    BadRequest,
    DemoRequest,
    Flavour,
    Reply,
    StreamReply,
    error_object,
    error_reply,
    json_reply,
)

if TYPE_CHECKING:
    from app.core.providers import ProviderProfile

log = logging.getLogger(__name__)

_CREDENTIAL_HEADERS = frozenset({"authorization", "x-goog-api-key", "api-key", "x-api-key"})
_MAX_BODY = 64 * 1024 * 1024
MELANCHOLY_USER_AGENT = "MelancholyAI-Client"

_HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body>"
    b"<h1>Welcome to nginx!</h1><p>If you see this page, the web server is successfully "
    b"installed and working. Further configuration is required.</p></body></html>"
)

Outcome = tuple["Reply | StreamReply | None", "FaultRule | None"]


class _Disconnect(Exception):
    """Raised inside the stream writer to drop the connection on purpose."""


class _HTTPServer(ThreadingHTTPServer):
    # Daemon threads never keep the interpreter alive; block_on_close still joins them in
    # server_close(), so a stopped server leaves no thread and no socket behind.
    daemon_threads = True
    block_on_close = True
    request_queue_size = 64
    app: DemoServer

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can take
        # seconds on some machines; a loopback test server needs no host name.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SwitchboardDemo/1.0"
    sys_version = ""
    # A client that connects and sends nothing must not pin a thread (and stop()) for long.
    timeout = 10
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("demo server: " + format, *args)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > _MAX_BODY:
                    raise BadRequest("Request body too large.", 413)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            raise BadRequest("Request body too large.", 413)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        app = self.server.app
        try:
            try:
                body = self._read_body()
            except BadRequest as exc:
                self._write_reply(json_reply(exc.status, {"error": {"message": exc.message}}))
                return
            reply, fault = app.handle(self.command, self.path, self.headers, body)
            if reply is None:
                # An injected disconnect on a non-streamed request: no response at all.
                self.close_connection = True
                return
            if fault is not None and fault.hostile:
                self._write_hostile(reply, fault, app)
            elif isinstance(reply, StreamReply):
                self._write_stream(reply, fault, app)
            else:
                self._write_reply(reply)
        except (BrokenPipeError, ConnectionResetError, _Disconnect):
            self.close_connection = True
        except Exception:  # a bug in the demo server: answer 500 rather than hang the client
            log.exception("demo server failed on %s %s", self.command, self.path)
            self.close_connection = True
            try:
                self._write_reply(json_reply(500, error_object(FLAVOURS["openai"], 500)))
            except OSError:
                pass

    def _write_reply(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _chunk(self, payload: bytes) -> None:
        self.wfile.write(b"%X\r\n%s\r\n" % (len(payload), payload))

    def _write_stream(self, reply: StreamReply, fault: FaultRule | None, app: DemoServer) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        end = reply.line_end.encode()
        if fault is not None and fault.empty_events:
            self._write_empty_events(fault.empty_events, end, app)
        # `written` = events already sent, which is what fault thresholds count.
        for written, data in enumerate(reply.events):
            if fault is not None:
                if fault.cut_after_events is not None and written >= fault.cut_after_events:
                    break  # a clean end of the body, but no finish reason and no [DONE]
                if fault.comment_data_after_events == written:
                    self._chunk(b"data: : OPENROUTER PROCESSING" + end + end)
                if (
                    fault.disconnect_after_events is not None
                    and written >= fault.disconnect_after_events
                ):
                    # Drop the socket without the terminating chunk: the client sees a
                    # truncated chunked body, as with a real network failure.
                    raise _Disconnect
                if fault.malformed_after_events == written:
                    self._chunk(b"data: {not json" + end + end)
                if fault.error_event_after == written:
                    self._chunk(b"data: " + reply.error_payload.encode() + end + end)
                    break
                stall = fault.stall_s > 0 and fault.stall_after_events == written
                if stall and app._stopping.wait(fault.stall_s):
                    raise _Disconnect
            if written and app.pause_between_tokens():
                raise _Disconnect
            self._chunk(b"data: " + data.encode("utf-8") + end + end)
        self.wfile.write(b"0\r\n\r\n")


    def _write_empty_events(self, count: int, end: bytes, app: DemoServer) -> None:
        """`count` events that carry nothing: comments, empty data, empty-choice chunks."""
        unit = (
            b": ping" + end + end
            + b"data:" + end + end
            + b'data: {"id":"x","object":"chat.completion.chunk","choices":[]}' + end + end
        )
        batch = 1000
        sent = 0
        while sent < count:
            if app._stopping.is_set():
                raise _Disconnect
            n = min(batch, count - sent)
            self._chunk(unit * ((n + 2) // 3))
            sent += n

    def _start_chunked(self, status: int, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()

    def _write_hostile(self, reply: Reply | StreamReply | None, fault: FaultRule, app: DemoServer) -> None:
        """Bodies no honest server sends: huge, endless, compressed bombs, or far too slow."""
        if fault.hold_headers_s:
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self.wfile.flush()
            app._stopping.wait(fault.hold_headers_s)
            raise _Disconnect
        if fault.trickle_bytes_per_s:
            body = reply.body if isinstance(reply, Reply) else b'{"choices": []}'
            # The route's own status and headers (a video download's 206 and Content-Range).
            plain = isinstance(reply, Reply)
            self.send_response(reply.status if plain else 200)
            self.send_header("Content-Type", reply.content_type if plain else "application/json")
            for name, value in (reply.headers.items() if plain else ()):
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            pause = 1.0 / fault.trickle_bytes_per_s
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                if app._stopping.wait(pause):
                    raise _Disconnect
            return
        if fault.endless_line_mb:
            self._start_chunked(200, "text/event-stream", {})
            self._chunk(b"data: ")
            block = b"x" * (1024 * 1024)
            for _ in range(fault.endless_line_mb):
                if app._stopping.is_set():
                    raise _Disconnect
                self._chunk(block)
            self.wfile.write(b"0\r\n\r\n")
            return
        if fault.huge_body_mb or fault.gzip_bomb_mb:
            size = fault.huge_body_mb or fault.gzip_bomb_mb
            pieces = _huge_json(size)
            if fault.gzip_bomb_mb:
                self._start_chunked(200, "application/json", {"Content-Encoding": "gzip"})
                pieces = _gzipped(pieces)
            else:
                self._start_chunked(200, "application/json", {})
            for piece in pieces:
                if app._stopping.is_set():
                    raise _Disconnect
                if piece:
                    self._chunk(piece)
            self.wfile.write(b"0\r\n\r\n")
            return


def _huge_json(megabytes: int) -> Iterator[bytes]:
    """A chat reply whose content is `megabytes` MB of text, generated piece by piece."""
    yield b'{"id":"chatcmpl-huge","object":"chat.completion","model":"demo","choices":[{"index":0,"message":{"role":"assistant","content":"'
    block = b"a" * (1024 * 1024)
    for _ in range(megabytes):
        yield block
    yield b'"},"finish_reason":"stop"}]}'


def _gzipped(pieces: Iterator[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    for piece in pieces:
        yield compressor.compress(piece)
    yield compressor.flush()


_THINK_PIECES = ("<thi", "nk>Let me work this out step by step.</th", "ink>\n\n")


def _with_think_events(events: Any, *, gemini: bool = False) -> Iterator[str]:
    """The stream's events with inline reasoning opened first, its tags split across events
    (a proxy in front of an open model does that, in either dialect's shape)."""
    first = True
    for data in events:
        if first and data.strip() != "[DONE]":
            try:
                obj = json.loads(data)
            except ValueError:
                obj = None
            key = "candidates" if gemini else "choices"
            if isinstance(obj, dict) and isinstance(obj.get(key), list) and obj[key]:
                first = False
                for piece in _THINK_PIECES:
                    extra = {k: v for k, v in obj.items() if k != "usageMetadata"}
                    if gemini:
                        extra[key] = [
                            {"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}
                        ]
                    else:
                        extra[key] = [
                            {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                        ]
                    yield json.dumps(extra)
        yield data


def _with_think_body(reply: Reply) -> Reply:
    try:
        obj = json.loads(reply.body)
        message = obj["choices"][0]["message"]
        message["content"] = "".join(_THINK_PIECES) + (message.get("content") or "")
    except (ValueError, KeyError, IndexError, TypeError):
        return reply
    return Reply(reply.status, json.dumps(obj).encode("utf-8"), reply.content_type, reply.headers)


class DemoServer:
    """A loopback provider server for the demo mode and the e2e tests.

    `start()` returns the origin (`http://127.0.0.1:PORT`); `base_url(flavour)` the base URL a
    profile uses. `token_rate` (tokens per second of streams; 0 or inf = no pacing),
    `video_seconds` and `gateway_rpm` may be changed while running. `requests` logs what arrived
    (never credential values), `faults` injects failures. `clock` drives video progress.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        token_rate: float = 400.0,
        video_seconds: float = 3.0,
        gateway_rpm: int = 120,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.port = port
        self._api_key = api_key
        self.token_rate = token_rate
        self.video_seconds = video_seconds
        self.gateway_rpm = gateway_rpm
        self.faults = FaultPlan()
        self.requests = RequestLog()
        self.media = MediaStore()
        self.videos = VideoStore(clock)
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._rate_lock = threading.Lock()
        self._rate_window_start = 0.0
        self._rate_count = 0

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> str:
        if self._httpd is not None:
            raise RuntimeError("the demo server is already running")
        if self._stopping.is_set():
            raise RuntimeError("a stopped demo server cannot be restarted; create a new one")
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.app = self
        self._httpd = httpd
        self.port = int(httpd.server_address[1])
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="demo-server",
            daemon=True,
        )
        self._thread.start()
        return self.origin

    def stop(self) -> None:
        """Stop accepting, end streams in progress, join every thread and close every socket."""
        self._stopping.set()
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def base_url(self, flavour: str = "openai") -> str:
        """The base URL a profile of `flavour` should use (see `wire.FLAVOURS`)."""
        try:
            return self.origin + FLAVOURS[flavour].prefix
        except KeyError:
            raise ValueError(
                f"unknown demo flavour {flavour!r}; known: {', '.join(FLAVOURS)}"
            ) from None

    def base_urls(self) -> dict[str, str]:
        return {name: self.base_url(name) for name in FLAVOURS}

    def profiles(self) -> list[ProviderProfile]:
        """One ready-to-use provider profile per flavour (ids `demo-<flavour>`)."""
        from app.core.providers import Dialect, KeySource, ProviderProfile, VideoDialect

        profiles = []
        for flavour in FLAVOURS.values():
            gemini = flavour.dialect == "gemini"
            models = (
                {"chat": "demo-chat", "embedding": "text-embedding-004", "video": "veo-demo"}
                if gemini
                else {
                    "chat": "demo-chat",
                    "completion": "demo-instruct",
                    "image": "demo-image",
                    "embedding": "demo-embedding",
                    "video": "demo-video",
                }
            )
            profiles.append(
                ProviderProfile(
                    name=f"Demo ({flavour.name})",
                    base_url=self.base_url(flavour.name),
                    dialect=Dialect.GEMINI if gemini else Dialect.OPENAI,
                    id=f"demo-{flavour.name}",
                    preset="demo",
                    key_source=KeySource.SESSION if self._api_key else KeySource.NONE,
                    extra_headers=dict(flavour.extra_headers),
                    trailing_slash=flavour.trailing_slash,
                    default_models=models,
                    video_dialect=VideoDialect(flavour.video_dialect),
                    image_size_style=flavour.image_size_style,
                    is_demo=True,
                )
            )
        return profiles

    def pause_between_tokens(self) -> bool:
        """Wait one token's time; True when the server is stopping (the stream must end)."""
        rate = self.token_rate
        if rate <= 0 or math.isinf(rate):
            return self._stopping.is_set()
        return self._stopping.wait(1.0 / rate)

    def reset(self) -> None:
        """Forget faults, logged requests and the gateway's rate-limit window."""
        self.faults.clear()
        self.requests.clear()
        with self._rate_lock:
            self._rate_window_start, self._rate_count = 0.0, 0

    # --- request handling (called on handler threads) -----------------------------------------

    def handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> Outcome:
        split = urlsplit(raw_path)
        path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        if path.startswith("/_control/"):
            return self._control(method, path, body), None
        flavour, subpath = self._flavour_for(path)
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = INVALID_JSON
        req = DemoRequest(method, path, query, headers, body, parsed, flavour, subpath, self.origin)
        auth_present, auth_valid = self._auth_state(req)
        self.requests.append(
            RecordedRequest(
                method=method,
                path=path,
                query={k: ("<redacted>" if k == "key" else v) for k, v in query.items()},
                headers={
                    k.lower(): ("<redacted>" if k.lower() in _CREDENTIAL_HEADERS else v)
                    for k, v in headers.items()
                },
                json=None if parsed is INVALID_JSON else parsed,
                flavour=flavour.name,
                auth_present=auth_present,
                auth_valid=auth_valid,
            )
        )
        extra, exhausted = self._rate_limit_headers(flavour)
        if exhausted:
            retry = max(1, int(extra["X-RateLimit-Reset-Requests"]) - int(time.time()))
            reply: Reply | StreamReply | None = error_reply(
                flavour, 429, code="rate_limit_exceeded", headers={"Retry-After": str(retry)}
            )
            fault = None
        else:
            reply, fault = self._respond(req, auth_present, auth_valid)
        if reply is not None:
            for name, value in extra.items():
                reply.headers.setdefault(name, value)
        return reply, fault

    def _respond(self, req: DemoRequest, auth_present: bool, auth_valid: bool | None) -> Outcome:
        flavour = req.flavour
        fault = self.faults.take(req.method, req.path, self._is_stream_request(req))
        if fault is not None:
            if fault.delay_s > 0 and self._stopping.wait(fault.delay_s):
                return None, None
            faulted = self._fault_reply(req, fault)
            if faulted is not False:
                return faulted, None  # type: ignore[return-value]
        try:
            reply = self._route(req, auth_present, auth_valid)
        except BadRequest as exc:
            reply = self._bad_request_reply(flavour, exc)
        if fault is not None and fault.hostile:
            return reply, fault  # the handler writes it (generated bodies, timing)
        if isinstance(reply, StreamReply):
            if fault is not None and fault.think_tags:
                reply.events = _with_think_events(reply.events, gemini=flavour.dialect == "gemini")
            return reply, fault if fault is not None and fault.has_stream_fault else None
        if fault is not None and fault.think_tags and isinstance(reply, Reply):
            reply = _with_think_body(reply)
        return reply, None

    def _bad_request_reply(self, flavour: Flavour, exc: BadRequest) -> Reply:
        obj = error_object(flavour, exc.status, exc.message, type_=exc.type_, code=exc.code)
        if exc.param and isinstance(obj.get("error"), dict) and "param" in obj["error"]:
            obj["error"]["param"] = exc.param
        return json_reply(exc.status, obj)

    def _fault_reply(self, req: DemoRequest, fault: FaultRule) -> Reply | None | bool:
        """The reply a fault imposes, None for "drop the connection", False for "no override"."""
        if fault.status is not None:
            headers = dict(fault.headers)
            if fault.retry_after is not None:
                value = fault.retry_after
                headers["Retry-After"] = (
                    str(int(value)) if float(value).is_integer() else str(value)
                )
            if fault.retry_after_ms is not None:
                headers["retry-after-ms"] = str(fault.retry_after_ms)
            if fault.body is None:
                code = "rate_limit_exceeded" if fault.status == 429 else None
                return error_reply(req.flavour, fault.status, code=code, headers=headers)
            if isinstance(fault.body, str):
                return Reply(
                    fault.status,
                    fault.body.encode("utf-8"),
                    fault.content_type or "text/plain",
                    headers,
                )
            return Reply(
                fault.status,
                json.dumps(fault.body).encode("utf-8"),
                fault.content_type or "application/json",
                headers,
            )
        if fault.wrong_content_type:
            return Reply(200, _HTML_PAGE, "text/html; charset=utf-8", dict(fault.headers))
        if fault.redirect_to_slash:
            location = req.path if req.path.endswith("/") else req.path + "/"
            return Reply(308, b"", "text/plain", {"Location": location, **fault.headers})
        if not self._is_stream_request(req):
            if fault.disconnect_after_events is not None:
                return None
            if fault.malformed_after_events is not None:
                return Reply(
                    200, b'{"id": "chatcmpl-demo", "choices": [{not json', "application/json"
                )
        return False

    @staticmethod
    def _is_stream_request(req: DemoRequest) -> bool:
        if req.flavour.dialect == "gemini":
            return ":streamGenerateContent" in req.subpath and req.query.get("alt") == "sse"
        return isinstance(req.json, dict) and bool(req.json.get("stream"))

    # --- flavours, auth, rate limits ----------------------------------------------------------

    @staticmethod
    def _flavour_for(path: str) -> tuple[Flavour, str]:
        for prefix, flavour in PREFIXES:
            if path == prefix or path.startswith(prefix + "/"):
                return flavour, path[len(prefix) + 1 :]
        # Unknown prefixes (and /files/) answer in the OpenAI shape.
        return FLAVOURS["openai"], ""

    def _auth_state(self, req: DemoRequest) -> tuple[bool, bool | None]:
        if req.flavour.dialect == "gemini":
            given = req.header("x-goog-api-key")
            if given is None and req.flavour.name == "gemini":
                given = req.query.get("key")
        else:
            header = req.header("Authorization")
            given = header[len("Bearer ") :] if header and header.startswith("Bearer ") else header
        if given is None:
            return False, None if self._api_key is None else False
        return True, None if self._api_key is None else given == self._api_key

    def _auth_error(
        self, req: DemoRequest, auth_present: bool, auth_valid: bool | None
    ) -> Reply | None:
        flavour = req.flavour
        if flavour.dialect == "gemini":
            if not auth_present and req.header("Authorization"):
                # Gemini endpoints read x-goog-api-key only: a Bearer API key is not a credential.
                return error_reply(
                    flavour,
                    401,
                    "Request had invalid authentication credentials. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential. Pass your API "
                    "key in the x-goog-api-key header.",
                )
            if auth_valid is not False:
                return None
            if flavour.name == "gateway-gemini":
                return error_reply(
                    flavour, 401, "Missing or invalid API key in the x-goog-api-key header."
                )
            if not auth_present:
                return error_reply(
                    flavour,
                    403,
                    "Method doesn't allow unregistered callers (callers without established "
                    "identity). Please use API Key or other form of API consumer identity to call "
                    "this API.",
                )
            return json_reply(
                400,
                {
                    "error": {
                        "code": 400,
                        "message": "API key not valid. Please pass a valid API key.",
                        "status": "INVALID_ARGUMENT",
                        "details": [
                            {
                                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                "reason": "API_KEY_INVALID",
                                "domain": "googleapis.com",
                            }
                        ],
                    }
                },
            )
        if auth_valid is False:
            return error_reply(
                flavour,
                401,
                "Invalid API key provided.",
                type_="authentication_error",
                code="invalid_api_key",
            )
        return None

    def _rate_limit_headers(self, flavour: Flavour) -> tuple[dict[str, str], bool]:
        """The gateway's per-minute request budget: (headers, whether it is exhausted)."""
        if not flavour.rate_limited:
            return {}, False
        now = time.time()
        with self._rate_lock:
            if now >= self._rate_window_start + 60.0:
                self._rate_window_start, self._rate_count = now, 0
            self._rate_count += 1
            remaining = self.gateway_rpm - self._rate_count
            reset = math.ceil(self._rate_window_start + 60.0)
        headers = {
            "X-RateLimit-Limit-Requests": str(self.gateway_rpm),
            "X-RateLimit-Remaining-Requests": str(max(remaining, 0)),
            "X-RateLimit-Reset-Requests": str(reset),
        }
        return headers, remaining < 0

    # --- routing ------------------------------------------------------------------------------

    def _route(
        self, req: DemoRequest, auth_present: bool, auth_valid: bool | None
    ) -> Reply | StreamReply:
        if req.path.startswith("/files/"):
            if req.method == "GET":
                served = video_routes.task_file(req, self, req.path[len("/files/") :])
                if served is not None:
                    return served
            item = self.media.get(req.path[len("/files/") :])
            if item is None or req.method != "GET":
                raise BadRequest("File not found.", 404, code="not_found")
            return Reply(200, item[0], item[1])
        if req.flavour.dialect == "gemini":
            return self._route_gemini(req, auth_present, auth_valid)
        return self._route_openai(req, auth_present, auth_valid)

    def _canonical_subpath(self, req: DemoRequest) -> str | None:
        """The subpath without the flavour's trailing slash, or None if the shape is wrong."""
        sub = req.subpath
        if not req.flavour.trailing_slash:
            return None if sub.endswith("/") or not sub else sub
        if req.method == "GET" and re.fullmatch(r"video/generations/[^/]+/?", sub):
            return sub.rstrip("/")
        if not sub.endswith("/"):
            return None
        return sub[:-1] or None

    def _route_openai(
        self, req: DemoRequest, auth_present: bool, auth_valid: bool | None
    ) -> Reply | StreamReply:
        flavour = req.flavour
        sub = self._canonical_subpath(req)
        match = self._match_openai(req.method, sub) if sub is not None else None
        if match is None or match[0] not in flavour.routes:
            return openai_routes.not_found(req)
        auth = self._auth_error(req, auth_present, auth_valid)
        if auth is not None:
            return auth
        group, handler = match
        needs_agent = flavour.name == "melancholy" and group in ("images", "video-tasks")
        if needs_agent and MELANCHOLY_USER_AGENT not in (req.header("User-Agent") or ""):
            return error_reply(
                flavour,
                403,
                f"Forbidden: this endpoint requires the header User-Agent: {MELANCHOLY_USER_AGENT}",
                type_="permission_error",
                code="user_agent_required",
            )
        return handler(req)

    def _match_openai(
        self, method: str, sub: str
    ) -> tuple[str, Callable[[DemoRequest], Reply | StreamReply]] | None:
        o = openai_routes
        v = video_routes
        if method == "GET":
            if sub == "models":
                return "models", o.list_models
            if sub.startswith("models/"):
                return "models", lambda r: o.get_model(r, sub[len("models/") :])
            if m := re.fullmatch(r"videos/([^/]+)", sub):
                return "videos", lambda r: v.get_openai(r, self, m.group(1))
            if m := re.fullmatch(r"videos/([^/]+)/content", sub):
                return "videos", lambda r: v.get_openai_content(r, self, m.group(1))
            if m := re.fullmatch(r"video/generations/([^/]+)", sub):
                return "video-tasks", lambda r: v.get_task(r, self, m.group(1))
            return None
        if method == "DELETE":
            if m := re.fullmatch(r"videos/([^/]+)", sub):
                return "videos", lambda r: v.delete_openai(r, self, m.group(1))
            return None
        if method != "POST":
            return None
        if m := re.fullmatch(r"videos/([^/]+)/remix", sub):
            return "videos", lambda r: v.remix_openai(r, self, m.group(1))
        routes: dict[str, tuple[str, Callable[[DemoRequest], Reply | StreamReply]]] = {
            "chat/completions": ("chat", o.chat_completions),
            "completions": ("completions", o.completions),
            "images/generations": ("images", lambda r: o.images_generations(r, self)),
            "embeddings": ("embeddings", o.embeddings),
            "videos": ("videos", lambda r: v.create_openai(r, self)),
            "video/generations": ("video-tasks", lambda r: v.create_task(r, self)),
        }
        return routes.get(sub)

    def _route_gemini(
        self, req: DemoRequest, auth_present: bool, auth_valid: bool | None
    ) -> Reply | StreamReply:
        g = gemini_routes
        sub = req.subpath
        handler: Callable[[], Reply | StreamReply] | None = None
        veo = "veo" in req.flavour.routes
        if req.method == "GET" and sub == "models":
            handler = lambda: g.list_models(req)
        elif veo and req.method == "GET" and (
            op := re.fullmatch(r"models/([^:/]+)/operations/([A-Za-z0-9_\-]+)", sub)
        ):
            handler = lambda: video_routes.get_veo_operation(req, self, op.group(1), op.group(2))
        elif veo and req.method == "GET" and (
            dl := re.fullmatch(r"files/([A-Za-z0-9_\-]+):download", sub)
        ):
            handler = lambda: video_routes.download_veo(req, self, dl.group(1))
        elif req.method == "GET" and sub.startswith("models/") and ":" not in sub:
            handler = lambda: g.get_model(req, sub[len("models/") :])
        elif req.method == "POST" and (m := re.fullmatch(r"models/([^:/]+):(\w+)", sub)):
            model, action = m.group(1), m.group(2)
            actions: dict[str, Callable[[], Reply | StreamReply]] = {
                "generateContent": lambda: g.generate_content(req, model),
                "streamGenerateContent": lambda: g.stream_generate_content(req, model),
                "countTokens": lambda: json_reply(200, {"totalTokens": len(req.body.split())}),
            }
            if veo:
                actions["predictLongRunning"] = lambda: video_routes.create_veo(req, self, model)
            if "embed" in req.flavour.routes:
                actions["embedContent"] = lambda: g.embed_content(req, model)
                actions["batchEmbedContents"] = lambda: g.batch_embed_contents(req, model)
            handler = actions.get(action)
        if handler is None:
            return error_reply(req.flavour, 404, f"Method not found: {req.method} {req.path}")
        auth = self._auth_error(req, auth_present, auth_valid)
        if auth is not None:
            return auth
        return handler()

    # --- admin endpoints ----------------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> Reply:
        try:
            data = json.loads(body) if body else None
        except ValueError:
            return json_reply(400, {"error": {"message": "invalid JSON"}})
        action = path[len("/_control/") :].strip("/")
        try:
            if action == "faults":
                if method == "POST":
                    replace = isinstance(data, dict) and bool(data.get("replace"))
                    if isinstance(data, dict) and "rules" in data:
                        raw_rules = data["rules"]
                    else:
                        raw_rules = data if isinstance(data, list) else [data]
                    rules = [FaultRule.from_json(r) for r in raw_rules]
                    if replace:
                        self.faults.clear()
                    for rule in rules:
                        self.faults.add(rule)
                elif method == "DELETE":
                    self.faults.clear()
                return json_reply(200, {"rules": [r.to_json() for r in self.faults.rules()]})
            if action == "reset" and method == "POST":
                self.reset()
                return json_reply(200, {"ok": True})
            if action == "config" and method == "POST":
                if not isinstance(data, dict):
                    raise ValueError("config must be a JSON object")
                for name in ("token_rate", "video_seconds"):
                    if name in data:
                        setattr(self, name, float(data[name]))
                if "gateway_rpm" in data:
                    self.gateway_rpm = int(data["gateway_rpm"])
                return json_reply(
                    200,
                    {
                        "token_rate": self.token_rate,
                        "video_seconds": self.video_seconds,
                        "gateway_rpm": self.gateway_rpm,
                    },
                )
            if action == "requests" and method == "GET":
                return json_reply(200, {"requests": [vars(r) for r in self.requests.snapshot()]})
            if action == "health":
                return json_reply(200, {"ok": True, "base_urls": self.base_urls()})
        except (TypeError, ValueError) as exc:
            return json_reply(400, {"error": {"message": str(exc)}})
        return json_reply(404, {"error": {"message": f"unknown control endpoint {method} {path}"}})


def main(argv: list[str] | None = None) -> int:
    """`python -m app.core.demo.server --port 8765 [--api-key KEY]`: serve until Ctrl+C/SIGTERM."""
    parser = argparse.ArgumentParser(description="Switchboard demo provider server (loopback).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default=None, help="require this key (default: accept any)")
    parser.add_argument(
        "--token-rate", type=float, default=400.0, help="streamed tokens per second"
    )
    parser.add_argument("--video-seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    server = DemoServer(
        args.host,
        args.port,
        api_key=args.api_key,
        token_rate=args.token_rate,
        video_seconds=args.video_seconds,
    )
    origin = server.start()
    print(f"Switchboard demo server on {origin}", flush=True)
    for name, url in server.base_urls().items():
        print(f"  {name:<15} {url}", flush=True)
    print("Press Ctrl+C to stop.", flush=True)
    done = threading.Event()
    # SIGTERM stops as cleanly as Ctrl+C (used by process-kill tests and service managers).
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
