"""ProviderClient against httpx.MockTransport: auth, paths, retries, streaming and error paths."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.client import BACKOFF_BASE, BACKOFF_CAP, ConnectionReport, ProviderClient
from app.core.errors import (
    APIError,
    AuthenticationError,
    ConfigError,
    ConnectError,
    IncompleteReplyError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
    TimeoutError_,
)
from app.core.protocol.types import (
    ChatDelta,
    ChatMessage,
    EmbeddingRequest,
    GenerationParams,
    ImageRequest,
    RateLimitInfo,
)
from app.core.providers import Dialect
from tests.conftest import RECORDED
from tests.core.helpers import (
    KEY,
    SSE,
    Recorder,
    Sleeps,
    chat_json,
    make_client,
    make_profile,
    sse_chunk,
)

GEMINI_KEY = "AIzaTestKey0123456789abcdefghij"
MSGS = [ChatMessage(role="user", content="Hello!")]















def sse_body(*texts: str, done: bool = True) -> bytes:
    body = b"".join(sse_chunk(t) for t in texts)
    return body + (b"data: [DONE]\n\n" if done else b"")


async def collect(stream: AsyncIterator[ChatDelta]) -> list[ChatDelta]:
    out: list[ChatDelta] = []
    async with contextlib.aclosing(stream) as deltas:  # type: ignore[type-var]
        async for delta in deltas:
            out.append(delta)
    return out


def text_of(deltas: list[ChatDelta]) -> str:
    return "".join(d.content for d in deltas if d.index == 0)


# --- headers and paths ------------------------------------------------------------------------


def test_openai_headers_bearer_and_extra_headers(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, json=chat_json()))
    client = make_client(rec, extra_headers={"User-Agent": "MelancholyAI-Client"})

    async def go() -> None:
        async with client:
            result = await client.chat("gpt-4o", MSGS, GenerationParams())
            assert result.text == "Hi there"

    arun(go())
    request = rec.requests[0]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["user-agent"] == "MelancholyAI-Client"
    assert "x-goog-api-key" not in request.headers
    assert request.url == "https://api.example.com/v1/chat/completions"
    assert request.method == "POST"


def test_gemini_headers_use_x_goog_api_key(arun: Callable[..., Any]) -> None:
    body = json.loads((RECORDED / "gemini-recorded/unary-success-basic-reply-short.json").read_text())
    rec = Recorder(httpx.Response(200, json=body))
    client = make_client(rec, key=GEMINI_KEY, dialect=Dialect.GEMINI, base_url="https://your-domain.com/api")

    async def go() -> None:
        async with client:
            result = await client.chat("gemini-2.5-pro", MSGS, GenerationParams())
            assert "Mountain View" in result.text

    arun(go())
    request = rec.requests[0]
    assert request.headers["x-goog-api-key"] == GEMINI_KEY
    assert "authorization" not in request.headers
    assert request.url == "https://your-domain.com/api/v1beta/models/gemini-2.5-pro:generateContent"


def test_no_key_sends_no_auth_header(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, json={"data": [{"id": "llama"}]}))
    client = make_client(rec, key=None, base_url="http://127.0.0.1:11434/v1")

    async def go() -> None:
        async with client:
            models = await client.list_models()
            assert [m.id for m in models] == ["llama"]

    arun(go())
    assert "authorization" not in rec.requests[0].headers
    assert rec.requests[0].url == "http://127.0.0.1:11434/v1/models"


def test_seed_004_trailing_slash_paths(arun: Callable[..., Any]) -> None:
    rec = Recorder(
        httpx.Response(200, json=chat_json()),
        httpx.Response(200, json={"created": 1, "data": [{"url": "https://cdn/x.png"}]}),
    )
    client = make_client(
        rec,
        base_url="https://app.melancholyai.fun/api/v1",
        trailing_slash=True,
        extra_headers={"User-Agent": "MelancholyAI-Client"},
    )

    async def go() -> None:
        async with client:
            await client.chat("qwen3-max", MSGS, GenerationParams())
            images = await client.generate_images(ImageRequest(prompt="city", model="flux", size=(1024, 1024)))
            assert images[0].url == "https://cdn/x.png"

    arun(go())
    assert [str(r.url) for r in rec.requests] == [
        "https://app.melancholyai.fun/api/v1/chat/completions/",
        "https://app.melancholyai.fun/api/v1/images/generations/",
    ]
    assert rec.bodies()[1]["size"] == "1024x1024"


def test_image_size_style_star(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, json={"data": [{"b64_json": "aGk="}]}))
    client = make_client(rec, image_size_style="*", default_models={"image": "sdxl"})

    async def go() -> None:
        async with client:
            items = await client.generate_images(ImageRequest(prompt="sunset", size="1024x1024"))
            assert items[0].image_bytes() == b"hi"

    arun(go())
    assert rec.bodies()[0]["size"] == "1024*1024"
    assert rec.bodies()[0]["model"] == "sdxl"


def test_seed_001_api_v1_base(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, json=chat_json()))
    client = make_client(rec, base_url="https://your-domain.com/api/v1/")

    async def go() -> None:
        async with client:
            await client.chat("gpt-4o", MSGS, GenerationParams())

    arun(go())
    assert rec.requests[0].url == "https://your-domain.com/api/v1/chat/completions"


def test_params_sent_only_when_set(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, json=chat_json()))
    client = make_client(rec)

    async def go() -> None:
        async with client:
            await client.chat("m", MSGS, GenerationParams())
            await client.chat("m", MSGS, GenerationParams(temperature=0.7, top_k=50, stop=["\n"]))

    arun(go())
    first, second = rec.bodies()
    assert set(first) <= {"model", "messages", "stream"}
    for name in ("temperature", "top_p", "top_k", "max_tokens", "stop", "n", "seed"):
        assert name not in first
    assert second["temperature"] == 0.7 and second["top_k"] == 50 and second["stop"] == ["\n"]
    assert "max_tokens" not in second


def test_missing_model_is_a_config_error(arun: Callable[..., Any]) -> None:
    client = make_client(Recorder(httpx.Response(200, json=chat_json())))

    async def go() -> None:
        async with client:
            with pytest.raises(ConfigError):
                await client.chat("", MSGS, GenerationParams())

    arun(go())


def test_gemini_stream_path_and_recorded_body(arun: Callable[..., Any], recorded: Path) -> None:
    body = (recorded / "gemini-recorded/streaming-success-basic-reply-short.txt").read_bytes()
    rec = Recorder(httpx.Response(200, headers=SSE, content=body))
    client = make_client(
        rec, key=GEMINI_KEY, dialect=Dialect.GEMINI, base_url="https://your-domain.com/api", trailing_slash=True
    )

    async def go() -> list[ChatDelta]:
        async with client:
            return await collect(client.chat_stream("gemini-2.5-pro", MSGS, GenerationParams()))

    deltas = arun(go())
    assert text_of(deltas) == "The capital of Wyoming is **Cheyenne**.\n"
    assert deltas[-1].finish_reason == "stop" or any(d.finish_reason == "stop" for d in deltas)
    assert str(rec.requests[0].url) == (
        "https://your-domain.com/api/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    )
    assert rec.requests[0].headers["accept"] == "text/event-stream"
    assert "stream_options" not in rec.bodies()[0]


def test_gemini_list_models_follows_pages(arun: Callable[..., Any]) -> None:
    pages = [
        {"models": [{"name": "models/gemini-2.5-pro", "supportedGenerationMethods": ["generateContent"]}],
         "nextPageToken": "p2"},
        {"models": [{"name": "models/text-embedding-004", "supportedGenerationMethods": ["embedContent"]}]},
    ]
    rec = Recorder(httpx.Response(200, json=pages[0]), httpx.Response(200, json=pages[1]))
    client = make_client(rec, key=GEMINI_KEY, dialect=Dialect.GEMINI,
                         base_url="https://generativelanguage.googleapis.com")

    async def go() -> list[str]:
        async with client:
            return [m.id for m in await client.list_models()]

    assert arun(go()) == ["gemini-2.5-pro", "text-embedding-004"]
    assert rec.requests[0].url.path == "/v1beta/models"
    assert rec.requests[0].url.params["pageSize"] == "1000"
    assert rec.requests[1].url.params["pageToken"] == "p2"


def test_gemini_embed_uses_batch_embed_contents(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, json={"embeddings": [{"values": [1, 2]}, {"values": [3, 4]}]}))
    client = make_client(rec, key=GEMINI_KEY, dialect=Dialect.GEMINI,
                         base_url="https://generativelanguage.googleapis.com/v1beta")

    async def go() -> list[list[float]]:
        async with client:
            result = await client.embed(EmbeddingRequest(inputs=["a", "b"], model="text-embedding-004"))
            return result.vectors

    assert arun(go()) == [[1.0, 2.0], [3.0, 4.0]]
    assert rec.requests[0].url.path == "/v1beta/models/text-embedding-004:batchEmbedContents"
    assert len(rec.bodies()[0]["requests"]) == 2


def test_openai_embed_path(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, json={"data": [{"index": 0, "embedding": [0.5]}], "model": "e"}))
    client = make_client(rec)

    async def go() -> None:
        async with client:
            result = await client.embed(EmbeddingRequest(inputs=["x"], model="e5"))
            assert result.vectors == [[0.5]]

    arun(go())
    assert rec.requests[0].url.path == "/v1/embeddings"
    assert rec.bodies()[0]["model"] == "e5"


def test_openai_embed_asks_for_base64_and_takes_numbers_too(arun: Callable[..., Any]) -> None:
    import base64
    from array import array

    packed = base64.b64encode(array("f", [0.25, -0.5]).tobytes()).decode()
    replies = iter([
        httpx.Response(200, json={"data": [{"index": 0, "embedding": packed}]}),
        # A server that ignores encoding_format sends numbers: they parse as before.
        httpx.Response(200, json={"data": [{"index": 0, "embedding": [0.75, 1.0]}]}),
    ])
    rec = Recorder(lambda request: next(replies))
    client = make_client(rec)

    async def go() -> list[list[list[float]]]:
        async with client:
            return [(await client.embed(EmbeddingRequest(inputs=["x"], model="e5"))).vectors
                    for _ in range(2)]

    assert arun(go()) == [[[0.25, -0.5]], [[0.75, 1.0]]]
    assert [b["encoding_format"] for b in rec.bodies()] == ["base64", "base64"]
    assert client.embed_base64_supported is True


def test_embed_base64_refused_then_asked_for_numbers_and_remembered(arun: Callable[..., Any]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "encoding_format" in json.loads(request.content):
            return httpx.Response(422, json={"detail": "encoding_format: unexpected value"})
        return httpx.Response(200, json={"data": [{"index": 0, "embedding": [0.5]}]})

    rec = Recorder(handler)
    client = make_client(rec, max_retries=0)

    async def go() -> None:
        async with client:
            for _ in range(2):
                assert (await client.embed(EmbeddingRequest(inputs=["x"], model="e5"))).vectors == [[0.5]]

    arun(go())
    assert ["encoding_format" in b for b in rec.bodies()] == [True, False, False]
    assert client.embed_base64_supported is False


def test_embed_other_failures_are_not_retried_as_numbers(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(401, json={"error": {"message": "Incorrect API key provided."}}))
    client = make_client(rec, max_retries=0)

    async def go() -> None:
        async with client:
            with pytest.raises(AuthenticationError):
                await client.embed(EmbeddingRequest(inputs=["x"], model="e5"))

    arun(go())
    assert len(rec.requests) == 1 and client.embed_base64_supported is True


def test_completion_endpoints_are_openai_only(arun: Callable[..., Any]) -> None:
    client = make_client(Recorder(httpx.Response(200)), dialect=Dialect.GEMINI)

    async def go() -> None:
        async with client:
            with pytest.raises(ConfigError):
                await client.complete("m", "p", GenerationParams())
            with pytest.raises(ConfigError):
                await client.generate_images(ImageRequest(prompt="x", model="m"))

    arun(go())


def test_complete_and_complete_stream(arun: Callable[..., Any]) -> None:
    chunk = {"id": "c", "object": "text_completion", "model": "m",
             "choices": [{"index": 0, "text": "is a test", "finish_reason": "stop"}]}
    rec = Recorder(
        httpx.Response(200, json=chunk),
        httpx.Response(200, headers=SSE, content=f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()),
    )
    client = make_client(rec)

    async def go() -> None:
        async with client:
            result = await client.complete("m", "Say this", GenerationParams())
            assert result.text == "is a test"
            deltas = await collect(client.complete_stream("m", "Say this", GenerationParams()))
            assert text_of(deltas) == "is a test"

    arun(go())
    assert [r.url.path for r in rec.requests] == ["/v1/completions", "/v1/completions"]
    assert rec.bodies()[1]["stream"] is True


# --- retries ----------------------------------------------------------------------------------


def test_retry_on_429_with_retry_after_seconds(arun: Callable[..., Any]) -> None:
    rec = Recorder(
        httpx.Response(429, headers={"Retry-After": "3"}, json={"error": {"message": "slow down"}}),
        httpx.Response(200, json=chat_json()),
    )
    sleeps = Sleeps()
    client = make_client(rec, sleep=sleeps)

    async def go() -> None:
        async with client:
            assert (await client.chat("m", MSGS, GenerationParams())).text == "Hi there"

    arun(go())
    assert sleeps == [3.0]
    assert len(rec.requests) == 2


def test_retry_on_429_with_http_date(arun: Callable[..., Any]) -> None:
    import time

    when = formatdate(time.time() + 20, usegmt=True)
    rec = Recorder(httpx.Response(429, headers={"Retry-After": when}), httpx.Response(200, json=chat_json()))
    sleeps = Sleeps()
    client = make_client(rec, sleep=sleeps)

    async def go() -> None:
        async with client:
            await client.chat("m", MSGS, GenerationParams())

    arun(go())
    assert len(sleeps) == 1 and 15.0 <= sleeps[0] <= 20.0


def test_retry_after_ms(arun: Callable[..., Any]) -> None:
    rec = Recorder(
        httpx.Response(429, headers={"retry-after-ms": "250", "Retry-After": "1"}),
        httpx.Response(200, json=chat_json()),
    )
    sleeps = Sleeps()
    client = make_client(rec, sleep=sleeps)

    async def go() -> None:
        async with client:
            await client.chat("m", MSGS, GenerationParams())

    arun(go())
    assert sleeps == [0.25]


def test_retry_after_longer_than_cap_raises_at_once(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(429, headers={"Retry-After": "600"}, json={"error": {"message": "quota"}}))
    sleeps = Sleeps()
    client = make_client(rec, sleep=sleeps, max_retry_wait=60.0)

    async def go() -> RateLimitError:
        async with client:
            with pytest.raises(RateLimitError) as info:
                await client.chat("m", MSGS, GenerationParams())
            return info.value

    error = arun(go())
    assert error.retry_after == 600.0
    assert sleeps == []
    assert len(rec.requests) == 1


def test_5xx_then_success_uses_backoff(arun: Callable[..., Any]) -> None:
    rec = Recorder(
        httpx.Response(500, json={"error": {"message": "boom"}}),
        httpx.Response(503, text="unavailable"),
        httpx.Response(200, json=chat_json()),
    )
    sleeps = Sleeps()
    client = make_client(rec, sleep=sleeps)

    async def go() -> None:
        async with client:
            await client.chat("m", MSGS, GenerationParams())

    arun(go())
    assert len(sleeps) == 2
    assert BACKOFF_BASE * 0.75 <= sleeps[0] <= BACKOFF_BASE
    assert BACKOFF_BASE * 2 * 0.75 <= sleeps[1] <= BACKOFF_BASE * 2


def test_backoff_is_capped() -> None:
    client = make_client(Recorder(httpx.Response(200)))
    delays = [client.backoff_delay(n) for n in range(10)]
    assert all(d <= BACKOFF_CAP for d in delays)
    assert delays[-1] >= BACKOFF_CAP * 0.75


def test_gives_up_after_max_retries(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(502, text="<html><title>502 Bad Gateway</title></html>",
                                  headers={"content-type": "text/html"}))
    sleeps = Sleeps()
    client = make_client(rec, sleep=sleeps, max_retries=2)

    async def go() -> ServerError:
        async with client:
            with pytest.raises(ServerError) as info:
                await client.chat("m", MSGS, GenerationParams())
            return info.value

    error = arun(go())
    assert len(rec.requests) == 3 and len(sleeps) == 2
    assert error.status == 502
    assert "502 Bad Gateway" in (error.provider_message or "")
    assert "<" not in (error.provider_message or "")


def test_400_is_not_retried(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(400, json={"error": {"message": "bad temperature"}}))
    client = make_client(rec)

    async def go() -> None:
        async with client:
            with pytest.raises(APIError):
                await client.chat("m", MSGS, GenerationParams())

    arun(go())
    assert len(rec.requests) == 1


def test_connect_errors_retried_then_connect_error_with_host(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.ConnectError(f"[Errno 111] Connection refused {KEY}"))
    sleeps = Sleeps()
    client = make_client(rec, sleep=sleeps, max_retries=3, base_url="https://api.mollyra.ai/v1")

    async def go() -> ConnectError:
        async with client:
            with pytest.raises(ConnectError) as info:
                await client.list_models()
            return info.value

    error = arun(go())
    assert len(rec.requests) == 4 and len(sleeps) == 3
    assert "api.mollyra.ai" in error.user_message
    assert KEY not in str(error) and KEY not in (error.provider_message or "")


def test_read_timeout_is_timeout_error_and_not_retried(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.ReadTimeout("timed out"))
    client = make_client(rec)

    async def go() -> None:
        async with client:
            with pytest.raises(TimeoutError_) as info:
                await client.chat("m", MSGS, GenerationParams())
            assert "read timeout" in info.value.user_message

    arun(go())
    assert len(rec.requests) == 1


def test_connect_timeout_is_retried(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.ConnectTimeout("slow"), httpx.Response(200, json=chat_json()))
    sleeps = Sleeps()
    client = make_client(rec, sleep=sleeps)

    async def go() -> None:
        async with client:
            await client.chat("m", MSGS, GenerationParams())

    arun(go())
    assert len(rec.requests) == 2 and len(sleeps) == 1


def test_api_key_echoed_by_server_is_redacted(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(401, json={"error": {"message": f"Incorrect API key provided: {KEY}",
                                                       "code": "invalid_api_key"}}))
    client = make_client(rec)

    async def go() -> AuthenticationError:
        async with client:
            with pytest.raises(AuthenticationError) as info:
                await client.chat("m", MSGS, GenerationParams())
            return info.value

    error = arun(go())
    assert KEY not in str(error) and KEY not in (error.provider_message or "")


def test_rate_limit_headers_reported(arun: Callable[..., Any]) -> None:
    headers = {"X-RateLimit-Limit-Requests": "60", "X-RateLimit-Remaining-Requests": "59",
               "X-RateLimit-Reset-Requests": "1900000000"}
    rec = Recorder(httpx.Response(200, headers=headers, json=chat_json()))
    seen: list[RateLimitInfo] = []
    client = make_client(rec, on_rate_limit=seen.append)

    async def go() -> None:
        async with client:
            await client.chat("m", MSGS, GenerationParams())

    arun(go())
    assert client.last_rate_limit is not None
    assert client.last_rate_limit.remaining_requests == 59
    assert client.last_rate_limit.reset_requests_at == 1900000000.0
    assert seen == [client.last_rate_limit]


def test_redirect_on_api_call_is_an_error_with_advice(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(301, headers={"location": "/api/v1/chat/completions/"}))
    client = make_client(rec, base_url="https://app.melancholyai.fun/api/v1")

    async def go() -> None:
        async with client:
            with pytest.raises(APIError) as info:
                await client.chat("m", MSGS, GenerationParams())
            # The redirect is to the same path with a slash: the switch is the fix, and the
            # endpoint address is never offered as a base URL.
            assert "Trailing slash" in info.value.user_message
            assert "chat/completions" not in info.value.user_message

    arun(go())
    assert len(rec.requests) == 1


# --- streaming --------------------------------------------------------------------------------


def test_stream_recorded_openai_body(arun: Callable[..., Any], recorded: Path) -> None:
    body = (recorded / "openai-recorded/e2aad469b71d1d4894ff833ea147020a9d875eb7ce644a0ff355581690a4cbfd.bin").read_bytes()
    rec = Recorder(httpx.Response(200, headers=SSE, content=body))
    client = make_client(rec)

    async def go() -> list[ChatDelta]:
        async with client:
            return await collect(client.chat_stream("gpt-4o", MSGS, GenerationParams()))

    deltas = arun(go())
    assert text_of(deltas).startswith("I'm unable to provide real-time weather updates.")
    assert rec.bodies()[0]["stream"] is True
    assert rec.bodies()[0]["stream_options"] == {"include_usage": True}


def test_stream_stops_at_done(arun: Callable[..., Any]) -> None:
    body = sse_body("a", "b") + sse_chunk("after done")
    client = make_client(Recorder(httpx.Response(200, headers=SSE, content=body)))

    async def go() -> str:
        async with client:
            return text_of(await collect(client.chat_stream("m", MSGS, GenerationParams())))

    assert arun(go()) == "ab"


def test_stream_without_done_ends_at_end_of_stream(arun: Callable[..., Any]) -> None:
    # Issue 7: a stream cut off with no finish reason and no [DONE] is not a complete reply: every
    # delta is delivered, then IncompleteReplyError (it used to end as if complete).
    body = sse_body("x", "y", done=False).rstrip(b"\n")  # no final blank line either
    client = make_client(Recorder(httpx.Response(200, headers=SSE, content=body)))
    got: list[ChatDelta] = []

    async def go() -> None:
        async with client:
            with pytest.raises(IncompleteReplyError):
                async with contextlib.aclosing(client.chat_stream("m", MSGS, GenerationParams())) as s:
                    async for delta in s:
                        got.append(delta)

    arun(go())
    assert text_of(got) == "xy"


def dropping_stream(*chunks: bytes, error: Exception) -> httpx.Response:
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk
        raise error

    return httpx.Response(200, headers=SSE, content=body())


def test_no_retry_after_output_began(arun: Callable[..., Any]) -> None:
    rec = Recorder(dropping_stream(sse_chunk("partial "), error=httpx.RemoteProtocolError("peer closed")))
    sleeps = Sleeps()
    client = make_client(rec, sleep=sleeps)
    got: list[ChatDelta] = []

    async def go() -> None:
        async with client:
            with pytest.raises(StreamInterruptedError):
                async with contextlib.aclosing(client.chat_stream("m", MSGS, GenerationParams())) as s:
                    async for delta in s:
                        got.append(delta)

    arun(go())
    assert text_of(got) == "partial "
    assert len(rec.requests) == 1 and sleeps == []


def test_drop_before_output_is_retried(arun: Callable[..., Any]) -> None:
    role_only = b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n'
    rec = Recorder(
        dropping_stream(role_only, error=httpx.ReadError("reset")),
        httpx.Response(200, headers=SSE, content=sse_body("ok")),
    )
    sleeps = Sleeps()
    client = make_client(rec, sleep=sleeps)

    async def go() -> str:
        async with client:
            return text_of(await collect(client.chat_stream("m", MSGS, GenerationParams())))

    assert arun(go()) == "ok"
    assert len(rec.requests) == 2 and len(sleeps) == 1


def test_stream_read_timeout_after_output_is_interruption(arun: Callable[..., Any]) -> None:
    rec = Recorder(dropping_stream(sse_chunk("so far"), error=httpx.ReadTimeout("idle")))
    client = make_client(rec)
    got: list[ChatDelta] = []

    async def go() -> None:
        async with client:
            with pytest.raises(StreamInterruptedError) as info:
                async with contextlib.aclosing(client.chat_stream("m", MSGS, GenerationParams())) as s:
                    async for delta in s:
                        got.append(delta)
            assert "stopped sending" in info.value.user_message

    arun(go())
    assert text_of(got) == "so far"


def test_stream_retries_429_before_output(arun: Callable[..., Any]) -> None:
    rec = Recorder(
        httpx.Response(429, headers={"retry-after": "2"}),
        httpx.Response(200, headers=SSE, content=sse_body("fine")),
    )
    sleeps = Sleeps()
    client = make_client(rec, sleep=sleeps)

    async def go() -> str:
        async with client:
            return text_of(await collect(client.chat_stream("m", MSGS, GenerationParams())))

    assert arun(go()) == "fine"
    assert sleeps == [2.0]


def test_stream_options_rejected_then_retried_without_and_remembered(arun: Callable[..., Any]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "stream_options" in json.loads(request.content):
            return httpx.Response(400, json={"error": {"message": "Unrecognized request argument supplied: stream_options"}})
        return httpx.Response(200, headers=SSE, content=sse_body("no usage"))

    rec = Recorder(handler)
    sleeps = Sleeps()
    client = make_client(rec, sleep=sleeps, max_retries=0)

    async def go() -> None:
        async with client:
            assert text_of(await collect(client.chat_stream("m", MSGS, GenerationParams()))) == "no usage"
            assert text_of(await collect(client.chat_stream("m", MSGS, GenerationParams()))) == "no usage"

    arun(go())
    bodies = rec.bodies()
    assert len(bodies) == 3
    assert "stream_options" in bodies[0]
    assert "stream_options" not in bodies[1] and "stream_options" not in bodies[2]
    assert client.stream_usage_supported is False
    assert sleeps == []


def test_json_error_body_with_200_to_stream_request(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, json={"error": {"message": "Invalid API key provided.",
                                                       "type": "authentication_error",
                                                       "code": "invalid_api_key"}}))
    client = make_client(rec)

    async def go() -> None:
        async with client:
            with pytest.raises(AuthenticationError) as info:
                await collect(client.chat_stream("m", MSGS, GenerationParams()))
            assert info.value.provider_message == "Invalid API key provided."

    arun(go())
    assert len(rec.requests) == 1


def test_json_error_body_with_4xx_to_stream_request(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(404, json={"error": {"message": "model x not found", "code": "model_not_found"}}))
    client = make_client(rec)

    async def go() -> None:
        async with client:
            with pytest.raises(APIError) as info:
                await collect(client.chat_stream("x", MSGS, GenerationParams()))
            assert info.value.status == 404

    arun(go())


def test_html_502_page_to_stream_request(arun: Callable[..., Any]) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    rec = Recorder(httpx.Response(502, headers={"content-type": "text/html"}, text=page))
    client = make_client(rec, max_retries=0)

    async def go() -> None:
        async with client:
            with pytest.raises(ServerError) as info:
                await collect(client.chat_stream("m", MSGS, GenerationParams()))
            assert "502 Bad Gateway" in (info.value.provider_message or "")

    arun(go())


def test_wrong_content_type_200_html(arun: Callable[..., Any]) -> None:
    page = "<!doctype html><html><title>Login - Portal</title><body>Please sign in</body></html>"
    rec = Recorder(httpx.Response(200, headers={"content-type": "text/html; charset=utf-8"}, text=page))
    client = make_client(rec)

    async def go() -> None:
        async with client:
            with pytest.raises(MalformedResponseError) as info:
                await collect(client.chat_stream("m", MSGS, GenerationParams()))
            assert "text/html" in info.value.user_message
            assert "Login - Portal" in (info.value.provider_message or "")

    arun(go())


def test_wrong_content_type_plain_text_not_sse(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, headers={"content-type": "text/plain"}, text="Service is starting up"))
    client = make_client(rec)

    async def go() -> None:
        async with client:
            with pytest.raises(MalformedResponseError):
                await collect(client.chat_stream("m", MSGS, GenerationParams()))

    arun(go())


def test_sse_without_event_stream_content_type_is_accepted(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, headers={"content-type": "text/plain"}, content=sse_body("sniffed")))
    client = make_client(rec)

    async def go() -> str:
        async with client:
            return text_of(await collect(client.chat_stream("m", MSGS, GenerationParams())))

    assert arun(go()) == "sniffed"


def test_plain_json_reply_to_stream_request_becomes_deltas(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, json=chat_json("whole reply")))
    client = make_client(rec)

    async def go() -> list[ChatDelta]:
        async with client:
            return await collect(client.chat_stream("m", MSGS, GenerationParams()))

    deltas = arun(go())
    assert text_of(deltas) == "whole reply"
    assert deltas[0].finish_reason == "stop"
    assert any(d.usage is not None and d.usage.total_tokens == 5 for d in deltas)


def test_malformed_json_line_is_skipped_and_the_reply_delivered(arun: Callable[..., Any]) -> None:
    # Issue 7: a `data:` line that is not JSON no longer ends the stream (proxies send such
    # lines); it is skipped and the rest of the reply arrives.
    body = sse_chunk("good ") + b"data: {not json\n\n" + sse_chunk("rest", finish="stop") + b"data: [DONE]\n\n"
    client = make_client(Recorder(httpx.Response(200, headers=SSE, content=body)))

    async def go() -> str:
        async with client:
            return text_of(await collect(client.chat_stream("m", MSGS, GenerationParams())))

    assert arun(go()) == "good rest"


def test_error_chunk_mid_stream_raises_api_error(arun: Callable[..., Any]) -> None:
    body = sse_chunk("hi ") + b'data: {"error": {"message": "overloaded", "code": 400}}\n\n'
    client = make_client(Recorder(httpx.Response(200, headers=SSE, content=body)))
    got: list[ChatDelta] = []

    async def go() -> None:
        async with client:
            with pytest.raises(APIError):
                async with contextlib.aclosing(client.chat_stream("m", MSGS, GenerationParams())) as s:
                    async for delta in s:
                        got.append(delta)

    arun(go())
    assert text_of(got) == "hi "


# --- test_connection and downloads -------------------------------------------------------------


def test_connection_report_ok(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, json={"object": "list", "data": [{"id": "gpt-4o"}, {"id": "dall-e-3"}]}))
    client = make_client(rec)

    async def go() -> ConnectionReport:
        async with client:
            return await client.test_connection()

    report = arun(go())
    assert report.ok and report.error is None
    assert sorted(m.id for m in report.models) == ["dall-e-3", "gpt-4o"]
    assert report.latency_ms >= 0.0


def test_connection_report_failure_without_retries(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(401, json={"error": {"message": "Invalid API key provided."}}))
    client = make_client(rec, max_retries=5)

    async def go() -> ConnectionReport:
        async with client:
            return await client.test_connection()

    report = arun(go())
    assert not report.ok and report.models == []
    assert isinstance(report.error, AuthenticationError)
    assert len(rec.requests) == 1


def test_download_relative_and_foreign_urls(arun: Callable[..., Any]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "cdn.example.net" and request.url.path == "/old":
            return httpx.Response(302, headers={"location": "https://cdn.example.net/v.mp4"})
        return httpx.Response(200, content=b"BYTES:" + request.url.path.encode())

    rec = Recorder(handler)
    client = make_client(rec, extra_headers={"User-Agent": "MelancholyAI-Client", "X-Secret": "s"})

    async def go() -> None:
        async with client:
            assert await client.download("videos/v1/content") == b"BYTES:/v1/videos/v1/content"
            assert await client.download("https://cdn.example.net/old") == b"BYTES:/v.mp4"
            assert await client.download("data:text/plain;base64,aGk=") == b"hi"

    arun(go())
    own, foreign, redirected = rec.requests
    assert own.headers["authorization"] == f"Bearer {KEY}"
    for request in (foreign, redirected):
        assert "authorization" not in request.headers
        assert "x-secret" not in request.headers
        assert request.headers["user-agent"] == "MelancholyAI-Client"


# --- video ------------------------------------------------------------------------------------


def test_tasks_video_dialect_seed_004_paths(arun: Callable[..., Any]) -> None:
    from app.core.protocol.types import VideoRequest, VideoState
    from app.core.providers import VideoDialect

    rec = Recorder(
        httpx.Response(200, json={"task_id": "T1"}),
        httpx.Response(200, json={"status": "COMPLETED", "video_url": "https://cdn.example.net/T1.mp4"}),
        httpx.Response(200, content=b"MP4"),
    )
    client = make_client(
        rec,
        base_url="https://app.melancholyai.fun/api/v1",
        trailing_slash=True,
        video_dialect=VideoDialect.TASKS,
        extra_headers={"User-Agent": "MelancholyAI-Client"},
    )

    async def go() -> None:
        async with client:
            task = await client.create_video(
                VideoRequest(prompt="beach", model="google/veo-3-1-fast", aspect_ratio="LANDSCAPE")
            )
            assert task.task_id == "T1"
            status = await client.get_video("T1")
            assert status.state == VideoState.COMPLETED
            assert await client.download_video(status) == b"MP4"

    arun(go())
    create, poll, fetch = rec.requests
    assert str(create.url) == "https://app.melancholyai.fun/api/v1/video/generations/"
    assert json.loads(create.content)["input"]["prompt"] == "beach"
    assert str(poll.url) == "https://app.melancholyai.fun/api/v1/video/generations/T1"
    assert poll.method == "GET" and poll.headers["user-agent"] == "MelancholyAI-Client"
    assert str(fetch.url) == "https://cdn.example.net/T1.mp4"
    assert "authorization" not in fetch.headers


def test_openai_video_dialect_paths(arun: Callable[..., Any]) -> None:
    from app.core.protocol.types import VideoRequest
    from app.core.providers import VideoDialect

    rec = Recorder(
        httpx.Response(200, json={"id": "video_1", "status": "queued"}),
        httpx.Response(200, json={"id": "video_1", "status": "completed", "progress": 100}),
        httpx.Response(200, content=b"MP4"),
    )
    client = make_client(rec, video_dialect=VideoDialect.OPENAI, default_models={"video": "sora-2"})

    async def go() -> None:
        async with client:
            task = await client.create_video(VideoRequest(prompt="cat", seconds=4, size="1280x720"))
            status = await client.get_video(task.task_id)
            assert await client.download_video(status) == b"MP4"

    arun(go())
    assert [(r.method, r.url.path) for r in rec.requests] == [
        ("POST", "/v1/videos"),
        ("GET", "/v1/videos/video_1"),
        ("GET", "/v1/videos/video_1/content"),
    ]
    assert rec.requests[2].headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(rec.requests[0].content)["model"] == "sora-2"


def test_video_not_configured_is_a_config_error(arun: Callable[..., Any]) -> None:
    from app.core.protocol.types import VideoRequest

    client = make_client(Recorder(httpx.Response(200)))

    async def go() -> None:
        async with client:
            with pytest.raises(ConfigError):
                await client.create_video(VideoRequest(prompt="x", model="m"))

    arun(go())


# --- construction -----------------------------------------------------------------------------


def test_bad_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        make_client(Recorder(httpx.Response(200)), base_url="api.example.com/v1")


def test_missing_ca_file_is_a_config_error_at_construction(tmp_path: Path) -> None:
    profile = make_profile(ca_file=str(tmp_path / "missing-ca.pem"))
    with pytest.raises(ConfigError) as info:
        ProviderClient(profile, KEY)
    assert "missing-ca.pem" in info.value.user_message


def test_api_key_is_registered_as_a_secret(arun: Callable[..., Any]) -> None:
    from app.core.errors import redact

    odd_key = "plain-secret-value-without-prefix"
    client = make_client(Recorder(httpx.Response(200)), key=odd_key)
    assert odd_key not in redact(f"server echoed {odd_key}")
    arun(client.aclose())


def test_gemini_prompt_blocked_stream_raises(arun: Callable[..., Any], recorded: Path) -> None:
    from app.core.errors import ContentBlockedError

    body = (recorded / "gemini-recorded/streaming-failure-prompt-blocked-safety.txt").read_bytes()
    rec = Recorder(httpx.Response(200, headers=SSE, content=body))
    client = make_client(rec, key=GEMINI_KEY, dialect=Dialect.GEMINI,
                         base_url="https://generativelanguage.googleapis.com")

    async def go() -> None:
        async with client:
            with pytest.raises(ContentBlockedError):
                await collect(client.chat_stream("gemini-2.0-flash", MSGS, GenerationParams()))

    arun(go())
    assert len(rec.requests) == 1


def test_non_ascii_key_is_a_config_error_without_the_key(arun: Callable[..., Any]) -> None:
    bad_key = "sk-ключ-0123456789abcdef"
    client = make_client(Recorder(httpx.Response(200, json={"data": []})), key=bad_key)

    async def go() -> None:
        async with client:
            with pytest.raises(ConfigError) as info:
                await client.list_models()
            assert bad_key not in str(info.value)

    arun(go())
