"""One HTTP client per provider profile: auth, dialect dispatch, retries, streaming, cancellation.

`ProviderClient` owns one `httpx.AsyncClient` configured by `app.core.network` (timeouts, TLS,
proxies) and speaks the profile's dialect through the pure functions of `app.core.protocol`.

Behaviour the rest of the app relies on:

- Every failure surfaces as an `app.core.errors` type with a sentence for the user; the API key
  never appears in any of them (it is registered with `errors.register_secret`).
- Retries (connect errors, 408, 409, 429, 5xx) happen only before any output reached the caller,
  at most `profile.max_retries` times, waiting what the server asks (`retry-after-ms`,
  `Retry-After`) or an exponential backoff with jitter. When the server asks for longer than
  `max_retry_wait`, the RateLimitError is raised at once with `retry_after` set, so the UI can show
  a countdown instead of a frozen spinner.
- A stream that produced output and then drops raises StreamInterruptedError and is never
  retried: the caller keeps what arrived.
- The client only moves bytes and sleeps; what the bytes mean is `protocol.stream_reader`'s
  (deltas, think tags, skipped lines, an end verdict: a stream with no finish reason and no
  `[DONE]` raises IncompleteReplyError after its deltas), and whether and how long to wait is
  `protocol.retry.decide_retry`'s. A "retrying" notice delta is yielded before each wait, an
  "unstreamed" one before a reply fetched whole (profile.stream off, or 404/405/501 on the
  streaming path, remembered in `streaming_supported`).
- Every read is bounded: non-streamed bodies by endpoint (`BODY_CAPS`, decoded bytes), streams
  by line/event/body caps, the response headers and a whole non-streamed body by total deadlines
  besides the per-read timeout, and a stream without new text by `profile.stall_timeout`.
- Cancelling the task that consumes a stream, or closing the generator, closes the HTTP
  connection at once (the response is closed in a `finally`), so the server stops generating.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
import ssl
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast
from urllib.parse import unquote_to_bytes, urlsplit

import httpx

from app.core.errors import (
    APIError,
    AuthenticationError,
    ConfigError,
    ConnectError,
    MalformedResponseError,
    ProviderError,
    RateLimitError,
    ServerError,
    IncompleteReplyError,
    NotFoundError,
    StreamInterruptedError,
    SwitchboardError,
    TimeoutError_,
    redact,
    register_secret,
)
from app.core.network import build_client_kwargs
from app.core.protocol import gemini, openai
from app.core.protocol.errors import api_error_from_response, error_info_from_json
from app.core.protocol.json_body import OFF_LOOP_BODY_BYTES, encode_json_pieces, has_big_string
from app.core.protocol.ratelimit import parse_rate_limits, parse_retry_after
from app.core.protocol.retry import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    BACKOFF_FACTOR,
    RETRY_STATUSES,
    backoff_delay,
    decide_retry,
    is_retry_status,
    wait_phrase,
)
from app.core.protocol.stream_reader import (
    MB,
    Dialect as StreamDialect,
    StreamLimits,
    StreamReader,
    Verdict,
    adecode_json_body,
    decode_json_body,
    has_output,
    result_deltas,
)
from app.core.protocol.transport import transport_reason
from app.core.protocol.types import (
    ChatDelta,
    ChatMessage,
    ChatResult,
    EmbeddingRequest,
    EmbeddingResult,
    GenerationParams,
    ImageItem,
    ImageRequest,
    ModelInfo,
    RateLimitInfo,
    StreamNotice,
    VideoRequest,
    VideoTask,
)
from app.core.protocol.urls import endpoint_url, gemini_base, redirect_sentence
from app.core.protocol.video import (
    AnyVideoDialect,
    OpenAIVideoDialect,
    TasksVideoDialect,
    video_dialect_for,
)
from app.core.providers import Dialect, ProviderProfile, VideoDialect

__all__ = [
    "ProviderClient",
    "ConnectionReport",
    "RETRY_STATUSES",
    "BACKOFF_BASE",
    "BACKOFF_FACTOR",
    "BACKOFF_CAP",
]

log = logging.getLogger(__name__)

# Gemini lists models 50 at a time by default; a bounded number of pages guards against a
# server that keeps sending the same page token.
_GEMINI_PAGE_SIZE = 1000
_GEMINI_MAX_PAGES = 20
_MAX_REDIRECTS = 5
# How much of an error reply is read to say what it was.
_MAX_ERROR_BODY = 64 * 1024
# Caps on a non-streamed body, by what it is (counted on decoded bytes: a gzip bomb stops here).
BODY_CAPS = {
    "models": 32 * MB,
    "chat": 64 * MB,
    "embeddings": 256 * MB,
    # b64_json images: several large pictures in one reply.
    "images": 256 * MB,
    "video": 16 * MB,
    "download": 1024 * MB,
}
# Streaming requests whose path answers one of these are fetched without streaming instead.
_NO_STREAM_STATUSES = frozenset({404, 405, 501})


@dataclass
class ConnectionReport:
    """The outcome of `ProviderClient.test_connection()`."""

    ok: bool
    latency_ms: float
    models: list[ModelInfo] = field(default_factory=list)
    error: SwitchboardError | None = None
    # How the test went when it was not a model list (e.g. "no model list; a test reply worked
    # in 240 ms").
    note: str = ""


class _Failure(Exception):
    """An attempt that failed before any output reached the caller; maybe worth retrying."""

    def __init__(
        self,
        error: SwitchboardError,
        *,
        retryable: bool,
        retry_after: float | None = None,
        cause: BaseException | None = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.retryable = retryable
        self.retry_after = retry_after
        self.cause = cause
        # An HTTP status >= 400 and its headers: the retry decision reads them itself.
        self.status = status
        self.headers = headers or {}
        self.reason = reason  # a few words for the "retrying" notice


def _is_retry_status(status: int) -> bool:
    return is_retry_status(status)


def _origin(url: str | httpx.URL) -> tuple[str, str, int | None]:
    parsed = httpx.URL(str(url))
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.scheme, parsed.host, port


def _host_label(url: httpx.URL) -> str:
    return f"{url.host}:{url.port}" if url.port else url.host


def _tls_verify_failed(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        if "CERTIFICATE_VERIFY_FAILED" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_has_output = has_output
_result_deltas = result_deltas


class ProviderClient:
    """Talks to one provider profile. Create one per profile; `aclose()` it when done."""

    def __init__(
        self,
        profile: ProviderProfile,
        api_key: str | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        on_rate_limit: Callable[[RateLimitInfo], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_retry_wait: float = 60.0,
        header_deadline: float | None = None,
        body_deadline: float | None = None,
        stream_limits: StreamLimits | None = None,
        body_caps: Mapping[str, int] | None = None,
    ) -> None:
        self.profile = profile
        # Total time for the response headers and for a whole non-streamed body, besides httpx's
        # per-read timeout: a server sending one byte a second never trips the latter.
        read = float(profile.read_timeout) or 600.0
        self.header_deadline = header_deadline if header_deadline is not None else read + float(
            profile.connect_timeout
        )
        self.body_deadline = body_deadline if body_deadline is not None else read
        self.stream_limits = stream_limits or StreamLimits()
        self.body_caps = {**BODY_CAPS, **(body_caps or {})}
        # Cleared for the client's life once the streaming path answered 404/405/501 and the
        # same request without streaming worked.
        self.streaming_supported = True
        self._api_key = (api_key or "").strip() or None
        register_secret(self._api_key)
        self._on_rate_limit = on_rate_limit
        self._sleep = sleep
        self._max_retry_wait = max_retry_wait
        self._random = random.Random()
        self.last_rate_limit: RateLimitInfo | None = None
        # Cleared for good once this server rejects `stream_options` (it will not change its mind).
        self.stream_usage_supported = True
        # Cleared for good once this server refused `encoding_format: "base64"` for embeddings
        # and answered the same request without it.
        self.embed_base64_supported = True
        # Gemini models (normalised ids) that refused `thinkingConfig`: never asked for it again.
        self._thoughts_refused: set[str] = set()
        # The base is checked here so a bad URL is a ConfigError at once, not at the first request.
        endpoint_url(profile.base_url, "")
        self._base_origin = _origin(profile.base_url)
        self._http = httpx.AsyncClient(**build_client_kwargs(profile, transport=transport))

    # --- lifecycle ----------------------------------------------------------------------------

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "ProviderClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- URLs and headers ---------------------------------------------------------------------

    @property
    def is_gemini(self) -> bool:
        return self.profile.dialect == Dialect.GEMINI

    def url(self, path: str, *, query: Mapping[str, str] | None = None, slash: bool | None = None) -> str:
        """The absolute URL of an endpoint `path` of this profile's dialect."""
        if self.is_gemini:
            # Gemini's paths are `models/x:verb`; a trailing slash would break them.
            return endpoint_url(gemini_base(self.profile.base_url), path, query=query)
        trailing = self.profile.trailing_slash if slash is None else slash
        return endpoint_url(self.profile.base_url, path, trailing_slash=trailing, query=query)

    def _auth_headers(self) -> dict[str, str]:
        if not self._api_key:
            return {}
        if self.is_gemini:
            return {"x-goog-api-key": self._api_key}
        return {"Authorization": f"Bearer {self._api_key}"}

    def _headers_for(self, url: httpx.URL, *, accept: str) -> dict[str, str]:
        """Request headers: auth and the profile's headers only for the profile's own origin.

        Downloads may point at a CDN; it must never receive the API key.
        """
        headers = {"Accept": accept}
        if _origin(url) == self._base_origin:
            headers.update(self._auth_headers())
            # After auth, so a profile can replace it (e.g. Azure's `api-key` scheme).
            headers.update(self.profile.extra_headers)
        else:
            agent = {k: v for k, v in self.profile.extra_headers.items() if k.lower() == "user-agent"}
            headers.update(agent)
        return headers

    def _model(self, model: str | None, capability: str) -> str:
        chosen = (model or "").strip() or self.profile.model_for(capability)
        if not chosen:
            raise ConfigError(
                f"No {capability} model is chosen for {self.profile.name}. Pick one from the model "
                "list, or set a default in the profile's settings."
            )
        return chosen

    @staticmethod
    def _model_key(model: str) -> str:
        return model.strip().strip("/").lower().removeprefix("models/")

    def asks_for_thoughts(self, model: str) -> bool:
        """True when a Gemini request for `model` sets `thinkingConfig.includeThoughts`.

        Only thinking models are asked, and never again once this server refused it for `model`.
        """
        return gemini.model_thinks(model) and self._model_key(model) not in self._thoughts_refused

    def _drop_thoughts(self, model: str, error: APIError) -> bool:
        """Note that the server refused `thinkingConfig` for `model`; True: ask again without."""
        if not self.asks_for_thoughts(model) or not gemini.thinking_config_rejected(error):
            return False
        log.info("server rejected thinkingConfig for %s; retrying without it", model)
        self._thoughts_refused.add(self._model_key(model))
        return True

    def _require_openai(self, what: str) -> None:
        if self.is_gemini:
            raise ConfigError(
                f"{what} is not available for Gemini profiles. Use an OpenAI-compatible profile "
                "for it."
            )

    # --- rate limits and retries --------------------------------------------------------------

    def _note_rate_limits(self, headers: httpx.Headers) -> None:
        info = parse_rate_limits(headers, time.time())
        if info is None:
            return
        self.last_rate_limit = info
        if self._on_rate_limit is not None:
            self._on_rate_limit(info)

    def backoff_delay(self, attempt: int) -> float:
        """Seconds before retry number `attempt + 1`: exponential, capped, with jitter."""
        return backoff_delay(attempt, self._random.random())

    def _plan_retry(self, failure: _Failure, attempt: int, max_retries: int) -> float | None:
        """Seconds to wait before trying again, or None to give up and raise `failure.error`.

        The decision is `protocol.retry.decide_retry`'s; here it is only applied. A wait longer
        than `max_retry_wait` rewrites a rate-limit error to say how long to wait.
        """
        http = failure.status is not None and failure.status >= 400
        body_wait = failure.retry_after
        if body_wait is None and isinstance(failure.error, ProviderError):
            body_wait = failure.error.retry_after
        decision = decide_retry(
            status=failure.status if http else None,
            headers=failure.headers,
            attempt=attempt,
            max_retries=max_retries,
            now=time.time(),
            output_arrived=False,
            cap=self._max_retry_wait,
            jitter=self._random.random(),
            transport_retryable=failure.retryable,
            body_retry_after=body_wait,
        )
        if isinstance(failure.error, ProviderError):
            failure.error.retry_after = decision.retry_after
            if decision.too_long and decision.retry_after is not None:
                failure.error = _with_wait(failure.error, decision.retry_after)
        if (
            not decision.retry
            and isinstance(failure.error, RateLimitError)
            and decision.retry_after
            and self._on_rate_limit is not None
        ):
            # Given up on a rate limit: the status bar counts down to when it may be tried again.
            self._on_rate_limit(
                RateLimitInfo(remaining_requests=0, reset_requests_at=time.time() + decision.retry_after)
            )
        return decision.delay if decision.retry else None

    def _retries(self, override: int | None) -> int:
        return max(0, self.profile.max_retries if override is None else override)

    # --- one attempt --------------------------------------------------------------------------

    def _transport_failure(self, exc: Exception, url: httpx.URL, *, sent: bool) -> _Failure:
        """Turn an httpx exception into a typed error; `sent`: the request already went out.

        These fail on this side of the wire (or on the way), so they are worded as such, never as
        "the provider said": the exception text is kept as `detail` for the log and the details.
        """
        host = _host_label(url)
        detail = redact(str(exc)) or type(exc).__name__
        if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
            return _Failure(
                TimeoutError_(
                    f"Could not connect to {host}: no answer within the connect timeout. Check the "
                    "base URL and your network, or raise the connect timeout in the profile's "
                    "settings.",
                    detail=detail,
                ),
                retryable=True,
                cause=exc,
                reason="connect timeout",
            )
        if isinstance(exc, httpx.TimeoutException):
            # The server may be working on it (and billing it): do not send it again.
            return _Failure(
                TimeoutError_(
                    f"{host} took too long to answer. Try again, or raise the read timeout in the "
                    "profile's settings for slow models.",
                    detail=detail,
                ),
                retryable=False,
                cause=exc,
            )
        if isinstance(exc, httpx.ProxyError):
            return _Failure(
                ConnectError(
                    f"The proxy could not connect to {host}. Check the proxy address in the "
                    "profile's network settings or your system proxy.",
                    detail=detail,
                ),
                retryable=True,
                cause=exc,
                reason="proxy error",
            )
        if isinstance(exc, httpx.ConnectError) and _tls_verify_failed(exc):
            return _Failure(
                ConnectError(
                    f"Could not connect to {host}: the TLS certificate is not trusted. If the "
                    "server uses a private certificate authority, add its CA file in the "
                    "profile's network settings.",
                    detail=detail,
                ),
                retryable=False,
                cause=exc,
            )
        if isinstance(exc, httpx.ConnectError):
            why = transport_reason(exc)
            return _Failure(
                ConnectError(
                    f"Could not connect to {host}: {why}. Check the base URL, your network or "
                    "proxy, and that the server is running.",
                    detail=detail,
                ),
                retryable=True,
                cause=exc,
                reason=why,
            )
        if isinstance(exc, httpx.UnsupportedProtocol):
            return _Failure(
                ConfigError(f"The address {url.scheme}://{host} is not http or https. Fix the base URL."),
                retryable=False,
                cause=exc,
            )
        if isinstance(exc, httpx.DecodingError):
            return _Failure(
                MalformedResponseError(
                    f"The reply from {host} could not be decoded (a broken compressed body). Try "
                    "again; if it keeps happening, check the server or proxy.",
                    detail=detail,
                ),
                retryable=False,
                cause=exc,
            )
        if isinstance(exc, httpx.HTTPError):
            why = transport_reason(exc)
            what = "before answering" if not sent else "while answering"
            if why in ("connection failed", "connection refused"):
                # The server (or a proxy on the way) closed it: say so, not "the provider said".
                why = "connection closed"
                sentence = f"{host} dropped the connection {what}."
            else:
                sentence = f"The connection to {host} failed {what}: {why}."
            return _Failure(
                ConnectError(
                    f"{sentence} Try again; if it keeps happening, check the server or proxy.",
                    detail=detail,
                ),
                retryable=True,
                cause=exc,
                reason=why,
            )
        raise exc  # not an httpx error: a bug, let it surface

    async def _send(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        accept: str = "application/json",
        follow_redirects: bool = False,
        form: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One attempt: an open response with a 2xx status, or a `_Failure`.

        The response is streamed (the caller reads and closes it) so that streams and plain
        requests share one path and cancellation closes the connection in both.
        """
        target = httpx.URL(url)
        body: bytes | None = None
        if json_body is not None and has_big_string(json_body):
            # A multi-megabyte prompt: encoded piece by piece, yielding to the loop between
            # pieces, instead of one ~100 ms json.dumps inside build_request (see json_body).
            pieces: list[bytes] = []
            for piece in encode_json_pieces(json_body):
                pieces.append(piece)
                await asyncio.sleep(0)
            body = b"".join(pieces)
            del pieces
        for _hop in range(_MAX_REDIRECTS + 1):
            try:
                headers = self._headers_for(target, accept=accept)
                if extra_headers:
                    headers.update(extra_headers)
                if body is not None:
                    if not any(name.lower() == "content-type" for name in headers):
                        headers = {**headers, "Content-Type": "application/json"}  # as json= does
                    request = self._http.build_request(method, target, content=body, headers=headers)
                else:
                    request = self._http.build_request(
                        method, target, json=json_body, data=form, files=files, headers=headers
                    )
            except UnicodeEncodeError:
                raise ConfigError(
                    "The API key or a custom header of this profile contains characters that "
                    "cannot be sent in an HTTP header. Re-enter the key or fix the header."
                ) from None
            try:
                async with asyncio.timeout(self.header_deadline):
                    response = await self._http.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise self._transport_failure(exc, target, sent=False) from exc
            except TimeoutError:
                raise _Failure(
                    TimeoutError_(
                        f"{_host_label(target)} did not send the reply's headers within "
                        f"{self.header_deadline:g} s. Try again later; if it keeps happening, check "
                        "the server or proxy.",
                    ),
                    retryable=False,
                ) from None
            try:
                self._note_rate_limits(response.headers)
                status = response.status_code
                if 300 <= status < 400 and "location" in response.headers:
                    location = response.url.join(response.headers["location"])
                    await response.aclose()  # its body (if any) is of no use
                    if follow_redirects:
                        target = location
                        continue
                    raise _Failure(
                        APIError(
                            redirect_sentence(method, target, location, self.profile.base_url),
                            status=status,
                        ),
                        retryable=False,
                    )
                if status >= 400:
                    raise await self._status_failure(response)
                return response
            except BaseException:
                await response.aclose()
                raise
        raise _Failure(
            APIError(f"The server redirected more than {_MAX_REDIRECTS} times. Check the address."),
            retryable=False,
        )

    async def _status_failure(self, response: httpx.Response) -> _Failure:
        try:
            # Enough to say what went wrong: an error page of a gigabyte is not read whole.
            body = await self._read_all(response, _MAX_ERROR_BODY)
        except _Failure:
            body = b""
        error = api_error_from_response(response.status_code, response.headers, body)
        if self._api_key is None and _origin(response.request.url) == self._base_origin:
            error = _no_key_error(error, response.status_code, body)
        status = response.status_code
        reason = "rate limited" if status == 429 else f"server error {status}"
        # The retry decision (protocol.retry) reads the status, Retry-After and x-should-retry;
        # a wait the error body asked for (Gemini's RetryInfo) is passed along.
        body_wait = error.retry_after if parse_retry_after(response.headers, time.time()) is None else None
        return _Failure(
            error,
            retryable=_is_retry_status(status),
            retry_after=body_wait,
            status=status,
            headers=dict(response.headers),
            reason=reason,
        )

    async def _read_all(
        self, response: httpx.Response, limit: int | None = None, *, cap: int | None = None
    ) -> bytes:
        """The whole body (decoded: a compression bomb stops at `cap` of inflated bytes).

        `limit`: read at most this much and stop quietly (to describe an error reply). `cap`: a
        body larger than this is an error. Either way the total read time is `body_deadline`.
        """
        chunks: list[bytes] = []
        size = 0
        host = _host_label(response.request.url)
        try:
            async with asyncio.timeout(self.body_deadline):
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if cap is not None and size > cap:
                        chunks.clear()
                        raise _Failure(
                            MalformedResponseError(
                                f"The reply from {host} is larger than {cap // MB} MB, so the app "
                                "stopped reading it. Check the server or proxy; it may be "
                                "misbehaving.",
                                status=response.status_code,
                            ),
                            retryable=False,
                        )
                    chunks.append(chunk)
                    if limit is not None and size >= limit:
                        break
        except httpx.HTTPError as exc:
            raise self._transport_failure(exc, response.request.url, sent=True) from exc
        except TimeoutError:
            raise _Failure(
                TimeoutError_(
                    f"{host} sent its reply too slowly: it had not finished after "
                    f"{self.body_deadline:g} s ({size} bytes arrived). Try again; if it keeps "
                    "happening, check the server or proxy.",
                ),
                retryable=False,
            ) from None
        return b"".join(chunks)

    async def _decode_json(self, response: httpx.Response, body: bytes) -> Any:
        try:
            if len(body) >= OFF_LOOP_BODY_BYTES:
                # A batch of embeddings (~2 MB): decoded in slices between other work on the
                # loop, not in one ~20-30 ms json.loads (see protocol/json_body.py).
                return await adecode_json_body(response.status_code, response.headers, body)
            return decode_json_body(response.status_code, response.headers, body)
        except APIError as error:
            raise _Failure(
                error,
                retryable=isinstance(error, (RateLimitError, ServerError)),
                retry_after=error.retry_after,
            ) from None

    # --- request loops ------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        max_retries: int | None = None,
        raw: bool = False,
        follow_redirects: bool = False,
        cap: str = "chat",
        form: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        """A whole request with retries: the decoded JSON (or the bytes when `raw`).

        `cap` names the body cap (`BODY_CAPS`) for what this endpoint returns.
        """
        retries = self._retries(max_retries)
        attempt = 0
        while True:
            try:
                response = await self._send(
                    method,
                    url,
                    json_body=json_body,
                    accept="*/*" if raw else "application/json",
                    follow_redirects=follow_redirects,
                    form=form,
                    files=files,
                )
                try:
                    body = await self._read_all(response, cap=self.body_caps.get(cap))
                finally:
                    await response.aclose()
                return body if raw else await self._decode_json(response, body)
            except _Failure as failure:
                wait = self._plan_retry(failure, attempt, retries)
                if wait is None:
                    raise failure.error from failure.cause
                log.info("retrying %s %s in %.2f s: %s", method, redact(url), wait, failure.error)
                attempt += 1
                await self._sleep(wait)

    def _streams(self) -> bool:
        return bool(self.profile.stream) and self.streaming_supported

    async def _unstreamed(
        self, fetch: Callable[[], Awaitable[ChatResult]]
    ) -> AsyncGenerator[ChatDelta, None]:
        """A reply fetched whole, shown through the streaming path (after an "unstreamed" notice)."""
        yield ChatDelta(notice=StreamNotice(kind="unstreamed"))
        result = await fetch()
        for delta in result_deltas(result):
            yield delta

    async def _stream(
        self,
        url: str,
        make_body: Callable[[bool], dict[str, Any]],
        dialect: StreamDialect,
        *,
        drop_option: Callable[[APIError], bool] | None = None,
        unstreamed: Callable[[], Awaitable[ChatResult]] | None = None,
    ) -> AsyncGenerator[ChatDelta, None]:
        """POST a streaming request and yield its deltas; retries only before output.

        Before each retry wait a "retrying" notice delta is yielded. `drop_option(error)` returns
        True when the server refused an optional part of the body and remembered not to send it:
        the request is then sent once more, rebuilt. `unstreamed()` fetches the same reply without
        streaming, used (and remembered) when the streaming path answers 404/405/501.
        """
        openai_style = dialect != StreamDialect.GEMINI
        retries = self._retries(None)
        attempt = 0
        while True:
            include_usage = openai_style and self.stream_usage_supported
            try:
                response = await self._send(
                    "POST", url, json_body=make_body(include_usage), accept="text/event-stream"
                )
            except _Failure as failure:
                if include_usage and isinstance(failure.error, APIError) and openai.stream_options_rejected(
                    failure.error
                ):
                    # Some servers refuse `stream_options`; ask once more without it, and never again.
                    log.info("server rejected stream_options; retrying without it")
                    self.stream_usage_supported = False
                    continue
                if (
                    drop_option is not None
                    and isinstance(failure.error, APIError)
                    and drop_option(failure.error)
                ):
                    continue
                if unstreamed is not None and failure.status in _NO_STREAM_STATUSES:
                    log.info("streaming path answered %s; fetching the reply without streaming", failure.status)
                    yield ChatDelta(notice=StreamNotice(kind="unstreamed"))
                    result = await unstreamed()
                    # It worked without streaming: do not try streaming again on this client.
                    self.streaming_supported = False
                    for delta in result_deltas(result):
                        yield delta
                    return
                wait = self._plan_retry(failure, attempt, retries)
                if wait is None:
                    raise failure.error from failure.cause
                attempt += 1
                yield self._retry_notice(failure, attempt, retries, wait)
                await self._sleep(wait)
                continue

            failure_seen: _Failure | None = None
            try:
                # aclosing: when our caller stops early, the inner generator is closed right here,
                # not later by the garbage collector.
                async with contextlib.aclosing(self._read_stream(response, dialect)) as deltas:
                    async for delta in deltas:
                        yield delta
                return
            except _Failure as failure:
                failure_seen = failure
            finally:
                await response.aclose()
            wait = self._plan_retry(failure_seen, attempt, retries)
            if wait is None:
                raise failure_seen.error from failure_seen.cause
            attempt += 1
            yield self._retry_notice(failure_seen, attempt, retries, wait)
            await self._sleep(wait)

    @staticmethod
    def _retry_notice(failure: _Failure, attempt: int, retries: int, wait: float) -> ChatDelta:
        reason = failure.reason
        if not reason and isinstance(failure.error, RateLimitError):
            reason = "rate limited"
        elif not reason and isinstance(failure.error, ServerError):
            reason = "server error"
        return ChatDelta(
            notice=StreamNotice(
                kind="retrying", attempt=attempt, max_attempts=retries, delay_s=wait, reason=reason
            )
        )

    def _stall_error(self, host: str, produced: bool) -> ProviderError:
        limit = float(self.profile.stall_timeout)
        if produced:
            return StreamInterruptedError(
                f"{host} sent no new text for {limit:g} s, so the stream was ended. What arrived "
                "was kept; press Continue or Regenerate."
            )
        return TimeoutError_(
            f"{host} kept the stream open but sent no reply for {limit:g} s, so it was ended. Try "
            "again; if it keeps happening, check the server or proxy."
        )

    async def _read_stream(
        self, response: httpx.Response, dialect: StreamDialect
    ) -> AsyncGenerator[ChatDelta, None]:
        """Deltas of one open streaming response. Raises `_Failure` only before any output.

        The bytes go into a `StreamReader` (protocol/stream_reader.py), which decides everything
        about them; this loop only reads, applies the stall limit, and turns the reader's verdict
        into the error to raise. Not closing `response` is deliberate: `_stream` owns it.
        """
        reader = StreamReader(
            dialect, status=response.status_code, headers=response.headers, limits=self.stream_limits
        )
        host = _host_label(response.request.url)
        produced = False  # output reached our caller: from now on, never a retry
        held: list[ChatDelta] = []
        stall = float(self.profile.stall_timeout)
        loop = asyncio.get_running_loop()
        last_output = loop.time()

        def release(deltas: list[ChatDelta]) -> list[ChatDelta]:
            nonlocal produced, last_output
            out: list[ChatDelta] = []
            for delta in deltas:
                if not produced and not has_output(delta):
                    held.append(delta)  # metadata only: the request may still be retried
                    if len(held) > 64:
                        # A server repeating usage-only chunks before any text: keep the first
                        # (model, id) and the latest ones, so memory stays flat.
                        del held[1:-32]
                    continue
                if has_output(delta):
                    last_output = loop.time()
                if not produced:
                    produced = True
                    out.extend(held)
                    held.clear()
                out.append(delta)
            return out

        def ended(error: ProviderError) -> BaseException:
            if not produced:
                retryable = isinstance(error, (RateLimitError, ServerError))
                return _Failure(error, retryable=retryable, retry_after=error.retry_after)
            return error

        # httpx implements aiter_bytes as an async generator; typed as one to close it early.
        chunks = cast(AsyncGenerator[bytes, None], response.aiter_bytes())
        try:
            while not reader.done:
                try:
                    async with asyncio.timeout_at(last_output + stall if stall > 0 else None):
                        chunk = await anext(chunks, None)
                except TimeoutError:
                    for delta in release(reader.salvage()):
                        yield delta
                    error = self._stall_error(host, produced)
                    raise ended(error) from None
                except httpx.HTTPError as exc:
                    failure = self._transport_failure(exc, response.request.url, sent=True)
                    salvaged = release(reader.salvage())
                    for delta in salvaged:
                        yield delta
                    if produced:
                        how = (
                            "stopped sending"
                            if isinstance(exc, httpx.TimeoutException)
                            else "dropped the connection"
                        )
                        raise StreamInterruptedError(
                            f"{host} {how} while the reply was streaming. What arrived was kept; "
                            "press Retry or Continue.",
                            detail=failure.error.detail,
                        ) from exc
                    raise failure from exc
                if chunk is None:
                    break
                for delta in release(reader.feed(chunk)):
                    yield delta
                if reader.error is not None:
                    for delta in release(reader.salvage()):
                        yield delta
                    raise ended(reader.error)
                if stall > 0 and loop.time() - last_output > stall:
                    # Bytes keep coming (pings, empty events) but no text: a stalled stream.
                    for delta in release(reader.salvage()):
                        yield delta
                    raise ended(self._stall_error(host, produced))
            for delta in release(reader.close()):
                yield delta
            if reader.error is not None:
                raise ended(reader.error)
            for delta in held:
                yield delta
            if reader.verdict == Verdict.INCOMPLETE:
                raise IncompleteReplyError(
                    f"The connection to {host} ended before the reply finished. What arrived was "
                    "kept; press Continue or Regenerate."
                )
        finally:
            await chunks.aclose()

    # --- models -------------------------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        return await self._list_models(None)

    async def _list_models(self, max_retries: int | None) -> list[ModelInfo]:
        if not self.is_gemini:
            obj = await self._request("GET", self.url("models"), max_retries=max_retries, cap="models")
            return openai.parse_models(obj)
        models: list[ModelInfo] = []
        token = ""
        for _page in range(_GEMINI_MAX_PAGES):
            query = {"pageSize": str(_GEMINI_PAGE_SIZE)}
            if token:
                query["pageToken"] = token
            obj = await self._request(
                "GET", self.url("models", query=query), max_retries=max_retries, cap="models"
            )
            models.extend(gemini.parse_models(obj))
            next_token = obj.get("nextPageToken") if isinstance(obj, dict) else None
            if not isinstance(next_token, str) or not next_token or next_token == token:
                break
            token = next_token
        return models

    async def test_connection(self) -> ConnectionReport:
        """List models once, without retries, timing it: what the profile editor's Test shows.

        Several providers have no model list: when `/models` answers 404/405, a minimal chat
        request (one token) to the profile's default chat model is the test instead. A 401/403
        stays what it is, a wrong key.
        """
        started = time.perf_counter()

        def elapsed() -> float:
            return (time.perf_counter() - started) * 1000.0

        try:
            models = await self._list_models(0)
        except SwitchboardError as error:
            status = getattr(error, "status", None)
            if not isinstance(error, APIError) or status not in (404, 405):
                return ConnectionReport(ok=False, latency_ms=elapsed(), error=error)
            model = self.profile.model_for("chat")
            if not model:
                return ConnectionReport(
                    ok=False,
                    latency_ms=elapsed(),
                    error=NotFoundError(
                        f"{self.profile.name} has no model list (HTTP {status} for /models), and no "
                        "default chat model is set to test with. Enter a chat model in the "
                        "profile's settings and test again.",
                        status=status,
                    ),
                )
            started = time.perf_counter()
            try:
                await self._test_reply(model)
            except SwitchboardError as reply_error:
                return ConnectionReport(ok=False, latency_ms=elapsed(), error=reply_error)
            latency = elapsed()
            return ConnectionReport(
                ok=True,
                latency_ms=latency,
                note=f"no model list; a test reply worked in {latency:.0f} ms",
            )
        return ConnectionReport(ok=True, latency_ms=elapsed(), models=models)

    async def _test_reply(self, model: str) -> None:
        """One minimal chat request (max 1 token, no retries) to see that the profile works."""
        messages = [ChatMessage(role="user", content="Hi")]
        params = GenerationParams(max_tokens=1)
        if self.is_gemini:
            path, query = gemini.generate_path(model, stream=False)
            body = gemini.build_generate_body(messages, params, include_thoughts=False)
            await self._request("POST", self.url(path, query=query), json_body=body, max_retries=0)
            return
        body = openai.build_chat_body(model, messages, params, stream=False)
        await self._request("POST", self.url("chat/completions"), json_body=body, max_retries=0)

    # --- chat ---------------------------------------------------------------------------------

    async def chat(
        self, model: str, messages: list[ChatMessage], params: GenerationParams
    ) -> ChatResult:
        model = self._model(model, "chat")
        if self.is_gemini:
            path, query = gemini.generate_path(model, stream=False)
            url = self.url(path, query=query)
            while True:
                body = gemini.build_generate_body(
                    messages, params, include_thoughts=self.asks_for_thoughts(model)
                )
                try:
                    obj = await self._request("POST", url, json_body=body)
                except APIError as error:
                    # A model that cannot think refuses `thinkingConfig`: once more without it.
                    if self._drop_thoughts(model, error):
                        continue
                    raise
                return gemini.parse_generate_response(obj)
        body = openai.build_chat_body(model, messages, params, stream=False)
        obj = await self._request("POST", self.url("chat/completions"), json_body=body)
        return openai.parse_chat_response(obj)

    def chat_stream(
        self, model: str, messages: list[ChatMessage], params: GenerationParams
    ) -> AsyncIterator[ChatDelta]:
        """An async generator of deltas; close it (`contextlib.aclosing`) to stop early.

        Besides reply deltas it yields notice deltas (`ChatDelta.notice`): "retrying" before each
        retry wait and "unstreamed" before a reply fetched without streaming (the profile's
        "Stream replies" is off, or its streaming path answered 404/405/501). A stream that
        ended without a finish reason or `[DONE]` raises IncompleteReplyError after its deltas.
        """
        model = self._model(model, "chat")

        async def whole() -> ChatResult:
            return await self.chat(model, messages, params)

        if not self._streams():
            return self._unstreamed(whole)
        if self.is_gemini:
            path, query = gemini.generate_path(model, stream=True)
            return self._stream(
                self.url(path, query=query),
                lambda _usage: gemini.build_generate_body(
                    messages, params, include_thoughts=self.asks_for_thoughts(model)
                ),
                StreamDialect.GEMINI,
                drop_option=lambda error: self._drop_thoughts(model, error),
                unstreamed=whole,
            )
        return self._stream(
            self.url("chat/completions"),
            lambda usage: openai.build_chat_body(model, messages, params, stream=True, include_usage=usage),
            StreamDialect.OPENAI_CHAT,
            unstreamed=whole,
        )

    # --- legacy completions -------------------------------------------------------------------

    @property
    def supports_completions(self) -> bool:
        """False for dialects without the legacy `/completions` endpoint (Gemini)."""
        return not self.is_gemini

    def check_completions(self) -> None:
        """Raise a ConfigError naming the way out when this profile cannot do raw completions.

        Called by the chat service before a completion thread writes anything, so the refusal
        is a sentence at once rather than a failed reply (or a server's 404) in the thread.
        """
        if not self.supports_completions:
            raise ConfigError(
                f"{self.profile.name} uses the Google Gemini API, which has no text-completion "
                "endpoint (/completions), so completion threads cannot use it. Pick an "
                "OpenAI-compatible provider for this thread, or start a chat thread instead."
            )

    async def complete(self, model: str, prompt: str, params: GenerationParams) -> ChatResult:
        self.check_completions()
        model = self._model(model, "completion")
        body = openai.build_completion_body(model, prompt, params, stream=False)
        obj = await self._request("POST", self.url("completions"), json_body=body)
        return openai.parse_completion_response(obj)

    def complete_stream(
        self, model: str, prompt: str, params: GenerationParams
    ) -> AsyncIterator[ChatDelta]:
        self.check_completions()
        model = self._model(model, "completion")

        async def whole() -> ChatResult:
            return await self.complete(model, prompt, params)

        if not self._streams():
            return self._unstreamed(whole)
        return self._stream(
            self.url("completions"),
            lambda usage: openai.build_completion_body(
                model, prompt, params, stream=True, include_usage=usage
            ),
            StreamDialect.OPENAI_COMPLETION,
            unstreamed=whole,
        )

    # --- images and embeddings ----------------------------------------------------------------

    async def generate_images(self, req: ImageRequest) -> list[ImageItem]:
        self._require_openai("Image generation")
        req = replace(req, model=self._model(req.model, "image"))
        if req.response_format is None and self.profile.image_response_format:
            # Some servers (seed 002) only answer b64_json; the profile says so.
            req = replace(req, response_format=self.profile.image_response_format)
        body = openai.build_image_body(req, size_style=self.profile.image_size_style)
        obj = await self._request("POST", self.url("images/generations"), json_body=body, cap="images")
        return openai.parse_image_response(obj)

    async def embed(self, req: EmbeddingRequest) -> EmbeddingResult:
        model = self._model(req.model, "embedding")
        if self.is_gemini:
            obj = await self._request(
                "POST",
                self.url(gemini.embed_path(model, batch=True)),
                json_body=gemini.build_batch_embed_body(
                    model, list(req.inputs), task=req.task, dimensions=req.dimensions
                ),
                cap="embeddings",
            )
            result = gemini.parse_embed_response(obj)
            if result.model is None:
                result.model = model
            return _check_vector_count(result, len(req.inputs), self.profile.name)
        # Vectors as base64 float32 unless the caller chose: a quarter of the bytes of JSON
        # numbers and no float parsing on the event loop. OpenAI's own SDKs (Python, JS) ask every
        # OpenAI-compatible server for the same when the caller does not choose, so servers made
        # to work with them take it. A server that ignores it sends numbers, which parse as
        # before; one that refuses it (400/422) is asked again without it, and never again once
        # that worked. Measured (benchmarks `notes`, 2,000 notes): the client's CPU time for
        # indexing fell from 4.5 to 3.3 s.
        ask_base64 = req.encoding_format is None and self.embed_base64_supported
        body = openai.build_embedding_body(
            replace(req, model=model, encoding_format="base64" if ask_base64 else req.encoding_format)
        )
        try:
            obj = await self._request("POST", self.url("embeddings"), json_body=body, cap="embeddings")
        except APIError as exc:
            if not ask_base64 or exc.status not in (400, 422):
                raise
            del body["encoding_format"]
            obj = await self._request("POST", self.url("embeddings"), json_body=body, cap="embeddings")
            log.info("server refused base64 embeddings (%s); asking for numbers from now on", exc.status)
            self.embed_base64_supported = False
        return _check_vector_count(
            openai.parse_embedding_response(obj), len(req.inputs), self.profile.name
        )

    # --- video --------------------------------------------------------------------------------

    def _video_dialect(self) -> TasksVideoDialect | OpenAIVideoDialect:
        self._require_openai("Video generation")
        if self.profile.video_dialect == VideoDialect.NONE:
            raise ConfigError(
                f"Video generation is not set up for {self.profile.name}. Choose its video API in "
                "the profile's settings."
            )
        return video_dialect_for(self.profile.video_dialect)

    async def create_video(self, req: VideoRequest) -> VideoTask:
        dialect = self._video_dialect()
        req = replace(req, model=self._model(req.model, "video"))
        obj = await self._request(
            "POST", self.url(dialect.create_path), json_body=dialect.build_create_body(req)
        )
        return dialect.parse_create(obj)

    async def get_video(self, task_id: str) -> VideoTask:
        dialect = self._video_dialect()
        # Seed 004 polls `/video/generations/{task_id}` without the trailing slash its POSTs use.
        obj = await self._request(
            "GET", self.url(dialect.status_path(task_id), slash=False), cap="video"
        )
        return dialect.parse_status(obj, task_id)

    async def download_video(self, task: VideoTask) -> bytes:
        """The finished video's bytes: the dialect's content path, else the task's `video_url`."""
        dialect = self._video_dialect()
        path = dialect.content_path(task)
        target = path or task.video_url
        if not target:
            raise MalformedResponseError(
                "The video task finished without a video address. Try generating it again.",
            )
        return await self.download(target)

    async def download(self, url_or_path: str) -> bytes:
        """Bytes at an absolute URL, a `data:` URL, or a path relative to the profile's base.

        The key is sent only to the profile's own host; redirects are followed (a CDN link).
        """
        text = url_or_path.strip()
        if text.startswith("data:"):
            return _data_url_bytes(text)
        if urlsplit(text).scheme in ("http", "https"):
            url = text
        else:
            url = endpoint_url(self.profile.base_url, text)
        return await self._request("GET", url, raw=True, follow_redirects=True, cap="download")


    # --- media (issue 10: the image service; kept to these two methods) ----------------------

    async def image_request_json(self, body: dict[str, Any], *, model: str | None = None) -> Any:
        """POST an image-generation body in this profile's dialect; the decoded JSON reply.

        OpenAI-compatible: `images/generations` with `body` as given. Gemini: `body` is a
        `generateContent` body for `model` (image output comes back as inline parts). The
        caller builds and parses (it keeps the raw reply); errors are the usual typed ones.
        """
        if self.is_gemini:
            path, query = gemini.generate_path(self._model(model, "image"), stream=False)
            return await self._request("POST", self.url(path, query=query or None), json_body=body)
        return await self._request("POST", self.url("images/generations"), json_body=body)

    async def fetch_media(self, url: str, *, max_bytes: int) -> tuple[bytes, str, str]:
        """GET a media URL (no retries): (bytes, content type, final URL after redirects).

        The key goes only to the profile's own origin (`_headers_for`, also on every redirect
        hop). More than `max_bytes` (counted after decompression) is a MalformedResponseError.
        """
        response = await self._send_or_raise("GET", url)
        try:
            body = await self._read_all(response, limit=max_bytes + 1)
        except _Failure as failure:
            raise failure.error from failure.cause
        finally:
            await response.aclose()
        if len(body) > max_bytes:
            raise MalformedResponseError(
                f"The download is larger than {max_bytes / (1024 * 1024):.1f} MB, so it was not "
                "saved. The server may not be sending an image.",
            )
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return body, content_type, str(response.url)

    async def _send_or_raise(self, method: str, url: str) -> httpx.Response:
        try:
            return await self._send(method, url, accept="image/*,*/*;q=0.5", follow_redirects=True)
        except _Failure as failure:
            raise failure.error from failure.cause

    # --- video jobs (issue 11: the video service; kept to these methods) ---------------------

    def video_dialect(self) -> AnyVideoDialect:
        """The profile's video dialect object (ConfigError when it has none)."""
        if self.profile.video_dialect == VideoDialect.NONE:
            raise ConfigError(
                f"Video generation is not set up for {self.profile.name}. Choose its video API in "
                "the profile's settings."
            )
        if (self.profile.video_dialect == VideoDialect.VEO) != self.is_gemini:
            raise ConfigError(
                f"{self.profile.name}'s video API does not match its dialect: Gemini Veo needs a "
                "Gemini profile, the other video APIs an OpenAI-compatible one. Change it in the "
                "profile's settings."
            )
        return video_dialect_for(self.profile.video_dialect)

    async def video_call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        query: Mapping[str, str] | None = None,
        slash: bool | None = None,
        max_retries: int | None = 0,
    ) -> Any:
        """One JSON request on a video endpoint `path` of this profile (relative to its base,
        or an absolute URL), decoded; errors are the usual typed ones (a 429 carries
        `retry_after`). No retries by default: the video service schedules its own."""
        if urlsplit(path).scheme in ("http", "https"):
            url = path
        else:
            url = self.url(path, query=query, slash=slash)
        # Raw, then decoded here: a failed task's reply carries `error` beside its status, and
        # the dialect (not the generic error detection) must read it as the task's outcome.
        body = await self._request(
            method, url, json_body=json_body, max_retries=max_retries, raw=True, cap="video",
            form=form, files=files,
        )
        if not body.strip():
            return {}
        try:
            return json.loads(body)
        except ValueError:
            raise MalformedResponseError(
                f"{_host_label(httpx.URL(url))} answered the video request with something that is "
                "not JSON. Check the profile's base URL and video API.",
            ) from None

    def video_url(self, path: str, *, query: Mapping[str, str] | None = None) -> str:
        """The absolute URL of a video endpoint path (for downloads)."""
        return self.url(path, query=query, slash=False)

    @contextlib.asynccontextmanager
    async def open_media(self, url: str, *, start: int = 0) -> AsyncIterator[MediaStream]:
        """GET a media URL for streaming, following redirects (the key only to the profile's
        own origin, on every hop). `start` > 0 asks for `Range: bytes=start-`: the stream's
        `status` is 206 when the server resumed, 200 when it sends the whole file again."""
        # identity: byte offsets (Range) count the file itself, not a compressed stream of it.
        headers = {"Accept-Encoding": "identity"}
        if start > 0:
            headers["Range"] = f"bytes={start}-"
        try:
            response = await self._send(
                "GET", url, accept="video/*,*/*;q=0.5", follow_redirects=True,
                extra_headers=headers,
            )
        except _Failure as failure:
            raise failure.error from failure.cause
        try:
            yield MediaStream(response)
        finally:
            await response.aclose()


class MediaStream:
    """An open media response: status, headers, the final URL, and its body in chunks."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.headers: dict[str, str] = {k.lower(): v for k, v in response.headers.items()}
        self.url = str(response.url)
        self.content_type = self.headers.get("content-type", "").split(";")[0].strip().lower()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; a dropped connection is a ConnectError-like ProviderError."""
        try:
            # No chunk size: httpx would hold bytes back until it had that many.
            async for chunk in self._response.aiter_raw():
                yield chunk
        except httpx.HTTPError as exc:
            raise StreamInterruptedError(
                "The download was interrupted. It will carry on where it stopped.",
                detail=type(exc).__name__,
            ) from exc


def _with_wait(error: ProviderError, wait: float) -> ProviderError:
    """`error` reworded to say how long to wait, for a wait longer than the client retries."""
    first = error.user_message.split(". ")[0].rstrip(".")
    return type(error)(
        f"{first}. The provider asks to wait: try again in {wait_phrase(wait)}.",
        status=error.status,
        provider_message=error.provider_message,
        code=error.code,
        retry_after=wait,
    )


def _check_vector_count(result: EmbeddingResult, inputs: int, provider: str) -> EmbeddingResult:
    """Exactly one vector per input, or a clear error.

    Vectors are matched to inputs by position; a server that answers fewer (LiteLLM's mock
    returns one vector whatever the number of inputs) would otherwise attach the wrong vector to
    every text after the first, silently.
    """
    if inputs and len(result.vectors) != inputs:
        raise MalformedResponseError(
            f"{provider} returned {len(result.vectors)} embedding vector(s) for {inputs} texts, so "
            "they cannot be matched to the texts. Embed one text per request with this server, "
            "or check the embedding model.",
        )
    return result


def _no_key_error(error: APIError, status: int, body: bytes) -> APIError:
    """`error` reworded for a request sent without an API key, when the key may be the cause.

    A refusal (401/403 or an auth code) then means the key is missing, not wrong. LiteLLM's proxy
    answers a missing key with a bare `500 Internal Server Error` (text/plain, no JSON error):
    the user must learn that no key was sent, not only that "the provider had an internal error".
    """
    phrase = f"HTTP {status}"
    if isinstance(error, AuthenticationError):
        return AuthenticationError(
            f"The provider asks for an API key, and this profile has none ({phrase}). Add the key "
            "in Settings → Providers, or name the environment variable that holds it.",
            status=error.status,
            provider_message=error.provider_message,
            code=error.code,
            retry_after=error.retry_after,
        )
    if status >= 500 and not _is_json_error(body):
        return type(error)(
            f"{error.user_message} No API key was sent: this profile has none. If the server "
            "needs one (a LiteLLM proxy answers a missing key with this error), add it in "
            "Settings → Providers.",
            status=error.status,
            provider_message=error.provider_message,
            code=error.code,
            retry_after=error.retry_after,
        )
    return error


def _is_json_error(body: bytes) -> bool:
    """True when `body` is a structured JSON error (the server said what went wrong)."""
    try:
        return error_info_from_json(json.loads(body.decode("utf-8", errors="replace"))) is not None
    except ValueError:
        return False


def _data_url_bytes(url: str) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep:
        raise MalformedResponseError("The image or video address is an incomplete data: URL.")
    if header.endswith(";base64"):
        try:
            return base64.b64decode(payload, validate=False)
        except ValueError as exc:
            raise MalformedResponseError(
                "The image or video address is a data: URL with invalid base64."
            ) from exc
    return unquote_to_bytes(payload)
