"""The real client against the demo server misbehaving on purpose (issue 7), on loopback.

Every case ends in a clear known error (or the whole reply) with what arrived kept, bounded in
time (small deadlines) and size (small caps): non-JSON data lines, cut-off streams, think tags,
a streaming path that 404s, a 429 with only reset headers, an HTML firewall page, a POST
redirect, a huge JSON body, an endless SSE line, a gzip bomb, endless empty events, a
byte-a-second body and held-back headers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from app.core.client import ProviderClient
from app.core.demo import DemoServer
from app.core.demo.faults import CLOUDFLARE_1010_PAGE
from app.core.errors import (
    APIError,
    IncompleteReplyError,
    MalformedResponseError,
    TimeoutError_,
)
from app.core.protocol.stream_reader import MB, StreamLimits
from app.core.protocol.types import ChatDelta, ChatMessage, GenerationParams
from app.core.providers import ProviderProfile

from .conftest import DEMO_API_KEY

pytestmark = pytest.mark.e2e

Arun = Callable[..., Any]
MSGS = [ChatMessage(role="user", content="Say something, 12 tokens")]


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def profile(server: DemoServer, flavour: str = "openai") -> ProviderProfile:
    return next(p for p in server.profiles() if p.id == f"demo-{flavour}")


def client(server: DemoServer, flavour: str = "openai", **kw: Any) -> ProviderClient:
    prof = kw.pop("profile", None) or profile(server, flavour)
    kw.setdefault("sleep", Sleeps())
    return ProviderClient(prof, DEMO_API_KEY, **kw)


async def stream(c: ProviderClient, into: list[ChatDelta] | None = None) -> list[ChatDelta]:
    out = into if into is not None else []
    async with contextlib.aclosing(c.chat_stream("demo-chat", MSGS, GenerationParams())) as deltas:  # type: ignore[type-var]
        async for delta in deltas:
            out.append(delta)
    return out


def text(deltas: list[ChatDelta]) -> str:
    return "".join(d.content for d in deltas)


def clean_text(arun: Arun, server: DemoServer, flavour: str = "openai") -> str:
    async def go() -> str:
        async with client(server, flavour) as c:
            return text(await stream(c))

    return arun(go())


def test_non_json_data_lines_are_skipped(arun: Arun, demo_server: DemoServer) -> None:
    expected = clean_text(arun, demo_server)
    demo_server.faults.add(comment_data_after_events=1, malformed_after_events=2, times=1)
    assert clean_text(arun, demo_server) == expected and expected


def test_cut_off_stream_is_incomplete_with_its_text(arun: Arun, demo_server: DemoServer) -> None:
    expected = clean_text(arun, demo_server)
    demo_server.faults.add(cut_after_events=4, times=1)
    got: list[ChatDelta] = []

    async def go() -> None:
        async with client(demo_server) as c:
            with pytest.raises(IncompleteReplyError):
                await stream(c, got)

    arun(go())
    assert text(got) and expected.startswith(text(got)) and text(got) != expected


@pytest.mark.parametrize("streamed", [True, False])
def test_think_tags_become_reasoning(arun: Arun, demo_server: DemoServer, streamed: bool) -> None:
    demo_server.faults.add(think_tags=True, times=1)

    async def go() -> list[ChatDelta]:
        prof = replace(profile(demo_server), stream=streamed)
        async with client(demo_server, profile=prof) as c:
            return await stream(c)

    got = arun(go())
    assert "".join(d.reasoning for d in got) == "Let me work this out step by step."
    assert "think" not in text(got) and text(got)


def test_think_tags_in_a_gemini_stream_become_reasoning(arun: Arun, demo_server: DemoServer) -> None:
    demo_server.faults.add(think_tags=True, times=1, path_contains="streamGenerateContent")

    async def go() -> list[ChatDelta]:
        async with client(demo_server, "gemini") as c:
            return await stream(c)

    got = arun(go())
    assert "".join(d.reasoning for d in got) == "Let me work this out step by step."
    assert "think" not in text(got) and text(got)


def test_streaming_path_404_falls_back_without_streaming(arun: Arun, demo_server: DemoServer) -> None:
    demo_server.faults.add(status=404, stream_only=True)

    async def go() -> tuple[list[ChatDelta], list[ChatDelta]]:
        async with client(demo_server) as c:
            return await stream(c), await stream(c)

    first, second = arun(go())
    assert [d.notice.kind for d in first if d.notice] == ["unstreamed"]
    assert text(first) and text(second) == text(first)
    streams = [bool((r.json or {}).get("stream")) for r in demo_server.requests.find("chat/completions")]
    assert streams == [True, False, False]


def test_gemini_streaming_path_404_falls_back(arun: Arun, demo_server: DemoServer) -> None:
    demo_server.faults.add(status=404, path_contains="streamGenerateContent")

    async def go() -> list[ChatDelta]:
        async with client(demo_server, "gemini") as c:
            return await stream(c)

    got = arun(go())
    assert text(got) and got[0].notice is not None and got[0].notice.kind == "unstreamed"
    assert demo_server.requests.find(":generateContent")


def test_429_with_only_reset_headers_waits_for_the_reset(arun: Arun, demo_server: DemoServer) -> None:
    demo_server.faults.add(
        status=429,
        times=1,
        headers={"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "3s"},
    )
    sleeps = Sleeps()
    got: list[ChatDelta] = []

    async def go() -> None:
        async with client(demo_server, sleep=sleeps) as c:
            await stream(c, got)

    arun(go())
    assert sleeps == [pytest.approx(3.0, abs=0.5)]
    notices = [d.notice for d in got if d.notice]
    assert len(notices) == 1 and notices[0].kind == "retrying" and notices[0].reason == "rate limited"
    assert text(got)


def test_html_firewall_page(arun: Arun, demo_server: DemoServer) -> None:
    demo_server.faults.add(
        status=403, body=CLOUDFLARE_1010_PAGE, content_type="text/html", headers={"Server": "cloudflare"}
    )

    async def go() -> APIError:
        async with client(demo_server) as c:
            with pytest.raises(APIError) as info:
                await stream(c)
            return info.value

    message = arun(go()).user_message
    assert "firewall" in message and "User-Agent" in message and "Extra headers" in message


def test_post_redirect_to_a_slash_names_the_switch(arun: Arun, demo_server: DemoServer) -> None:
    demo_server.faults.add(redirect_to_slash=True)

    async def go() -> APIError:
        async with client(demo_server) as c:
            with pytest.raises(APIError) as info:
                await stream(c)
            return info.value

    message = arun(go()).user_message
    assert "Trailing slash" in message and "/chat/completions" not in message


def test_huge_json_body_stops_at_the_cap(arun: Arun, demo_server: DemoServer) -> None:
    demo_server.faults.add(huge_body_mb=40)

    async def go() -> MalformedResponseError:
        async with client(demo_server, body_caps={"chat": 8 * MB}) as c:
            with pytest.raises(MalformedResponseError) as info:
                await c.chat("demo-chat", MSGS, GenerationParams())
            return info.value

    assert "larger than 8 MB" in arun(go()).user_message


def test_gzip_bomb_stops_at_the_cap(arun: Arun, demo_server: DemoServer) -> None:
    demo_server.faults.add(gzip_bomb_mb=64)

    async def go() -> MalformedResponseError:
        async with client(demo_server, body_caps={"chat": 8 * MB}) as c:
            with pytest.raises(MalformedResponseError) as info:
                await c.chat("demo-chat", MSGS, GenerationParams())
            return info.value

    assert "larger than 8 MB" in arun(go()).user_message


def test_endless_sse_line_stops_at_the_line_cap(arun: Arun, demo_server: DemoServer) -> None:
    demo_server.faults.add(endless_line_mb=32)

    async def go() -> MalformedResponseError:
        async with client(demo_server, stream_limits=StreamLimits(max_line=4 * MB)) as c:
            with pytest.raises(MalformedResponseError) as info:
                await stream(c)
            return info.value

    assert "stream line larger than 4 MB" in arun(go()).user_message


def test_endless_empty_events_then_the_reply(arun: Arun, demo_server: DemoServer) -> None:
    expected = clean_text(arun, demo_server)
    demo_server.faults.add(empty_events=30_000, times=1)
    assert clean_text(arun, demo_server) == expected


def test_byte_a_second_body_hits_the_body_deadline(arun: Arun, demo_server: DemoServer) -> None:
    demo_server.faults.add(trickle_bytes_per_s=20.0)

    async def go() -> TimeoutError_:
        async with client(demo_server, body_deadline=0.5) as c:
            with pytest.raises(TimeoutError_) as info:
                await c.chat("demo-chat", MSGS, GenerationParams())
            return info.value

    assert "too slowly" in arun(go(), timeout=20).user_message


def test_held_back_headers_hit_the_header_deadline(arun: Arun, demo_server: DemoServer) -> None:
    demo_server.faults.add(hold_headers_s=3.0)

    async def go() -> TimeoutError_:
        async with client(demo_server, header_deadline=0.5) as c:
            with pytest.raises(TimeoutError_) as info:
                await c.chat("demo-chat", MSGS, GenerationParams())
            return info.value

    assert "headers within 0.5 s" in arun(go(), timeout=20).user_message
