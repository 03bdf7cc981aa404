"""The client against hostile or unusual replies (issue 7), through httpx.MockTransport.

Retry notices and waits, non-streamed fallbacks, test_connection without /models, transport
wording, empty streams, body caps on decoded bytes, header/body deadlines, the stall limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from app.core.client import ProviderClient
from app.core.errors import (
    APIError,
    AuthenticationError,
    ConnectError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    StreamInterruptedError,
    TimeoutError_,
)
from app.core.protocol.chat_accumulator import ChatAccumulator
from app.core.protocol.stream_reader import MB
from app.core.protocol.types import ChatDelta, ChatMessage, GenerationParams, ToolCallDelta
from app.core.providers import ProviderProfile
from tests.core.helpers import SSE, Recorder, Sleeps, chat_json, sse_chunk

MSGS = [ChatMessage(role="user", content="Hello!")]
KEY = "sk-test-hardening-0123456789abcdef"


def client_for(handler: Callable[[httpx.Request], Any], *, sleep: Sleeps | None = None, **kw: Any) -> ProviderClient:
    profile_kw = {k: kw.pop(k) for k in list(kw) if k in ProviderProfile.__dataclass_fields__}
    profile_kw.setdefault("name", "Test")
    profile_kw.setdefault("base_url", "https://api.example.com/v1")
    return ProviderClient(
        ProviderProfile(**profile_kw),
        KEY,
        transport=httpx.MockTransport(handler),
        sleep=sleep if sleep is not None else Sleeps(),
        **kw,
    )


async def drain(stream: AsyncIterator[ChatDelta], into: list[ChatDelta]) -> None:
    async with contextlib.aclosing(stream) as deltas:  # type: ignore[type-var]
        async for delta in deltas:
            into.append(delta)


def text(deltas: list[ChatDelta]) -> str:
    return "".join(d.content for d in deltas)


# --- retries ----------------------------------------------------------------------------------


def test_retry_notice_is_yielded_before_each_wait(arun: Callable[..., Any]) -> None:
    rec = Recorder(
        httpx.Response(429, headers={"Retry-After": "2"}, json={"error": {"message": "slow down"}}),
        httpx.Response(503, json={"error": {"message": "busy"}}),
        httpx.Response(200, headers=SSE, content=sse_chunk("ok", finish="stop") + b"data: [DONE]\n\n"),
    )
    sleeps = Sleeps()
    got: list[ChatDelta] = []

    async def go() -> None:
        async with client_for(rec, sleep=sleeps) as client:
            await drain(client.chat_stream("m", MSGS, GenerationParams()), got)

    arun(go())
    notices = [d.notice for d in got if d.notice is not None]
    assert [(n.kind, n.attempt, n.max_attempts) for n in notices] == [("retrying", 1, 3), ("retrying", 2, 3)]
    assert notices[0].delay_s == 2.0 and notices[0].reason == "rate limited"
    assert notices[1].reason == "server error 503"
    assert sleeps[0] == 2.0 and 0.75 <= sleeps[1] <= 1.0
    assert text(got) == "ok"
    # The fold ignores notices (they carry no reply).
    acc = ChatAccumulator()
    acc.add_all(got)
    assert acc.result().choices[0].content == "ok"


def test_retry_after_zero_is_backoff_not_immediate(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200, json=chat_json("hi")))
    sleeps = Sleeps()

    async def go() -> str:
        async with client_for(rec, sleep=sleeps) as client:
            return (await client.chat("m", MSGS, GenerationParams())).text

    assert arun(go()) == "hi"
    assert len(sleeps) == 1 and 0.375 <= sleeps[0] <= 0.5


def test_429_with_only_reset_headers_waits_for_the_reset(arun: Callable[..., Any]) -> None:
    headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "7s"}
    rec = Recorder(httpx.Response(429, headers=headers), httpx.Response(200, json=chat_json("hi")))
    sleeps = Sleeps()

    async def go() -> None:
        async with client_for(rec, sleep=sleeps) as client:
            await client.chat("m", MSGS, GenerationParams())

    arun(go())
    assert sleeps == [pytest.approx(7.0, abs=0.5)]


def test_wait_beyond_the_cap_says_how_long(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(429, headers={"Retry-After": "120"}, json={"error": {"message": "limit"}}))
    sleeps = Sleeps()

    async def go() -> RateLimitError:
        async with client_for(rec, sleep=sleeps, max_retry_wait=60.0) as client:
            with pytest.raises(RateLimitError) as info:
                await drain(client.chat_stream("m", MSGS, GenerationParams()), [])
            return info.value

    error = arun(go())
    assert "try again in 2 min" in error.user_message
    assert error.retry_after == 120.0 and sleeps == [] and len(rec.requests) == 1


# --- streaming optional -------------------------------------------------------------------------


def test_profile_without_streaming_fetches_whole(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, json=chat_json("<think>r</think>whole")))
    got: list[ChatDelta] = []

    async def go() -> None:
        async with client_for(rec, stream=False) as client:
            await drain(client.chat_stream("m", MSGS, GenerationParams()), got)

    arun(go())
    assert got[0].notice is not None and got[0].notice.kind == "unstreamed"
    assert text(got) == "whole" and "".join(d.reasoning for d in got) == "r"
    assert rec.bodies()[0].get("stream") in (None, False)


@pytest.mark.parametrize("status", [404, 405, 501])
def test_streaming_path_refused_falls_back_and_is_remembered(arun: Callable[..., Any], status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("stream"):
            return httpx.Response(status, json={"error": {"message": "no streaming here"}})
        return httpx.Response(200, json=chat_json("fine"))

    rec = Recorder(handler)
    first: list[ChatDelta] = []
    second: list[ChatDelta] = []

    async def go() -> bool:
        async with client_for(rec) as client:
            await drain(client.chat_stream("m", MSGS, GenerationParams()), first)
            await drain(client.chat_stream("m", MSGS, GenerationParams()), second)
            return client.streaming_supported

    assert arun(go()) is False
    assert text(first) == text(second) == "fine"
    assert [d.notice.kind for d in first if d.notice] == ["unstreamed"]
    # The second reply did not try the streaming path again.
    assert [json.loads(r.content).get("stream", False) for r in rec.requests] == [True, False, False]


def test_not_found_on_both_paths_is_reported_and_not_remembered(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(404, json={"error": {"message": "model not found"}}))

    async def go() -> bool:
        async with client_for(rec) as client:
            with pytest.raises(NotFoundError):
                await drain(client.chat_stream("m", MSGS, GenerationParams()), [])
            return client.streaming_supported

    assert arun(go()) is True


# --- test connection ----------------------------------------------------------------------------


def test_connection_without_model_list_sends_a_one_token_reply(arun: Callable[..., Any]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(404, text="Not Found")
        return httpx.Response(200, json=chat_json("H"))

    rec = Recorder(handler)

    async def go() -> Any:
        async with client_for(rec, default_models={"chat": "tiny-model"}) as client:
            return await client.test_connection()

    report = arun(go())
    assert report.ok and report.error is None
    assert report.note.startswith("no model list; a test reply worked in ") and report.note.endswith(" ms")
    body = json.loads(rec.requests[1].content)
    assert body["model"] == "tiny-model" and body["max_tokens"] == 1


def test_connection_with_wrong_key_is_a_wrong_key(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(401, json={"error": {"message": "bad key", "code": "invalid_api_key"}}))

    async def go() -> Any:
        async with client_for(rec, default_models={"chat": "tiny-model"}) as client:
            return await client.test_connection()

    report = arun(go())
    assert not report.ok and isinstance(report.error, AuthenticationError)
    assert len(rec.requests) == 1


def test_connection_without_model_list_or_default_model_says_so(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(405))

    async def go() -> Any:
        async with client_for(rec) as client:
            return await client.test_connection()

    report = arun(go())
    assert not report.ok and "no model list" in report.error.user_message


# --- who failed -----------------------------------------------------------------------------------


def test_connection_refused_is_worded_as_such(arun: Callable[..., Any]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port is closed again: connecting is refused.

    async def go() -> ConnectError:
        profile = ProviderProfile(name="Local", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
        async with ProviderClient(profile, None) as client:
            with pytest.raises(ConnectError) as info:
                await client.chat("m", MSGS, GenerationParams())
            return info.value

    error = arun(go())
    assert error.user_message.startswith(f"Could not connect to 127.0.0.1:{port}: connection refused")
    assert "provider said" not in str(error).lower()


# --- empty, garbage, firewalls ------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"", b'data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\ndata: [DONE]\n\n', b"data: nope\n\n"],
)
def test_empty_stream_is_an_error(arun: Callable[..., Any], body: bytes) -> None:
    rec = Recorder(httpx.Response(200, headers=SSE, content=body))

    async def go() -> MalformedResponseError:
        async with client_for(rec, max_retries=0) as client:
            with pytest.raises(MalformedResponseError) as info:
                await drain(client.chat_stream("m", MSGS, GenerationParams()), [])
            return info.value

    assert "empty reply" in arun(go()).user_message


def test_garbage_json_body_is_not_quoted(arun: Callable[..., Any]) -> None:
    garbage = bytes(range(256)) * 8
    rec = Recorder(httpx.Response(200, headers={"content-type": "application/json"}, content=garbage))

    async def go() -> MalformedResponseError:
        async with client_for(rec) as client:
            with pytest.raises(MalformedResponseError) as info:
                await client.chat("m", MSGS, GenerationParams())
            return info.value

    error = arun(go())
    assert "binary" in (error.provider_message or "")
    assert "\ufffd" not in str(error) and "\x00" not in str(error)


def test_cloudflare_block_page_explains_the_firewall(arun: Callable[..., Any]) -> None:
    page = (
        "<html><head><title>Attention Required! | Cloudflare</title></head><body>"
        "<h1>Error 1010</h1><span>Access denied</span> The owner of this website has banned your "
        "access based on your browser's signature.</body></html>"
    )
    rec = Recorder(httpx.Response(403, headers={"content-type": "text/html", "server": "cloudflare"}, text=page))

    async def go() -> APIError:
        async with client_for(rec) as client:
            with pytest.raises(APIError) as info:
                await drain(client.chat_stream("m", MSGS, GenerationParams()), [])
            return info.value

    error = arun(go())
    assert "firewall" in error.user_message and "User-Agent" in error.user_message
    assert "browser signature banned" in error.user_message
    assert not isinstance(error, AuthenticationError) or "key" not in error.user_message.lower()


# --- bounded memory and time --------------------------------------------------------------------


def gzip_bomb(decoded_mb: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * MB
    return b"".join(compressor.compress(block) for _ in range(decoded_mb)) + compressor.flush()


def test_gzip_bomb_stops_at_the_cap_on_decoded_bytes(arun: Callable[..., Any]) -> None:
    bomb = gzip_bomb(64)
    assert len(bomb) < MB  # small on the wire, 64 MB inflated
    rec = Recorder(
        httpx.Response(200, headers={"content-type": "application/json", "content-encoding": "gzip"}, content=bomb)
    )

    async def go() -> MalformedResponseError:
        async with client_for(rec, body_caps={"chat": 8 * MB}) as client:
            with pytest.raises(MalformedResponseError) as info:
                await client.chat("m", MSGS, GenerationParams())
            return info.value

    assert "larger than 8 MB" in arun(go()).user_message


def test_held_back_headers_hit_the_header_deadline(arun: Callable[..., Any]) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()  # never answers
        raise AssertionError("unreachable")

    async def go() -> TimeoutError_:
        async with client_for(handler, header_deadline=0.2) as client:
            with pytest.raises(TimeoutError_) as info:
                await client.chat("m", MSGS, GenerationParams())
            return info.value

    assert "headers within 0.2 s" in arun(go(), timeout=10).user_message


class _Trickle(httpx.AsyncByteStream):
    """A body that sends a first piece and then nothing, forever (a byte-a-second server)."""

    def __init__(self, first: bytes) -> None:
        self.first = first

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first
        await asyncio.Event().wait()

    async def aclose(self) -> None:
        pass


def test_slow_body_hits_the_body_deadline(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, headers={"content-type": "application/json"}, stream=_Trickle(b'{"cho')))

    async def go() -> TimeoutError_:
        async with client_for(rec, body_deadline=0.2) as client:
            with pytest.raises(TimeoutError_) as info:
                await client.chat("m", MSGS, GenerationParams())
            return info.value

    message = arun(go(), timeout=10).user_message
    assert "too slowly" in message and "5 bytes arrived" in message


class _Pings(httpx.AsyncByteStream):
    """Some text, then keep-alive comments without end: a stalled stream that never goes silent."""

    def __init__(self, head: bytes) -> None:
        self.head = head

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.head:
            yield self.head
        while True:
            await asyncio.sleep(0.01)  # lets the clock move; the stall limit is what ends it
            yield b": ping\n\n"

    async def aclose(self) -> None:
        pass


def test_stream_with_only_pings_after_text_ends_as_stalled_keeping_the_text(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, headers=SSE, stream=_Pings(sse_chunk("kept text"))))
    got: list[ChatDelta] = []

    async def go() -> StreamInterruptedError:
        async with client_for(rec, stall_timeout=0.3) as client:
            with pytest.raises(StreamInterruptedError) as info:
                await drain(client.chat_stream("m", MSGS, GenerationParams()), got)
            return info.value

    error = arun(go(), timeout=10)
    assert "no new text for 0.3 s" in error.user_message
    assert text(got) == "kept text"


def test_stream_with_only_pings_ends_as_timeout(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, headers=SSE, stream=_Pings(b"")))

    async def go() -> TimeoutError_:
        async with client_for(rec, stall_timeout=0.3, max_retries=0) as client:
            with pytest.raises(TimeoutError_) as info:
                await drain(client.chat_stream("m", MSGS, GenerationParams()), [])
            return info.value

    assert "sent no reply for 0.3 s" in arun(go(), timeout=10).user_message


# --- the fold -----------------------------------------------------------------------------------


def test_accumulator_never_glues_calls_that_reuse_an_index() -> None:
    acc = ChatAccumulator()
    acc.add(ChatDelta(tool_calls=[ToolCallDelta(index=0, id="a", name="one", arguments="{}")]))
    acc.add(ChatDelta(tool_calls=[ToolCallDelta(index=0, id="b", name="two", arguments='{"x":1}')]))
    acc.add(ChatDelta(tool_calls=[ToolCallDelta(index=0, arguments="")], finish_reason="tool_calls"))
    calls = acc.result().choices[0].tool_calls
    assert [(c.id, c.name, c.arguments) for c in calls] == [("a", "one", "{}"), ("b", "two", '{"x":1}')]
    assert acc.tool_call_records()[1]["name"] == "two"


def test_accumulator_resumes_and_counts_new_chars() -> None:
    acc = ChatAccumulator()
    acc.resume(0, content="Once upon", reasoning="r")
    acc.add(ChatDelta(content=" a time", finish_reason="stop"))
    choice = acc.choice(0)
    assert (choice.content, choice.reasoning, acc.new_chars(0), acc.finish_reason(0)) == (
        "Once upon a time",
        "r",
        7,
        "stop",
    )


def test_accumulator_moves_content_marked_as_reasoning() -> None:
    acc = ChatAccumulator()
    acc.add(ChatDelta(content="thinking aloud "))
    acc.add(ChatDelta(reasoning="more", content_is_reasoning=True))
    acc.add(ChatDelta(content="Answer"))
    choice = acc.choice(0)
    assert (choice.content, choice.reasoning) == ("Answer", "thinking aloud more")


def test_accumulator_blocked_error_only_without_text() -> None:
    acc = ChatAccumulator()
    acc.add(ChatDelta(finish_reason="safety"))
    assert acc.blocked_error(0) is not None
    acc.add(ChatDelta(index=1, content="some", finish_reason="safety"))
    assert acc.blocked_error(1) is None


def test_a_huge_error_page_is_read_only_in_part(arun: Callable[..., Any]) -> None:
    class Endless(httpx.AsyncByteStream):
        sent = 0

        async def __aiter__(self) -> AsyncIterator[bytes]:
            while True:
                Endless.sent += 65536
                yield b"<p>error</p>" * 5461

        async def aclose(self) -> None:
            pass

    rec = Recorder(httpx.Response(500, headers={"content-type": "text/html"}, stream=Endless()))

    async def go() -> APIError:
        async with client_for(rec, max_retries=0) as c:
            with pytest.raises(APIError) as info:
                await c.chat("m", MSGS, GenerationParams())
            return info.value

    assert arun(go(), timeout=10).status == 500
    assert Endless.sent <= 2 * 65536
