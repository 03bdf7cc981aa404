"""Recorded OpenAI streams end to end: SSE decoding, chunk parsing and accumulation.

The expected values are read off the recordings by hand and written here as literals.
"""

from __future__ import annotations

import json
import random

import pytest

from app.core.errors import ServerError
from app.core.protocol.chat_accumulator import ChatAccumulator
from app.core.protocol.openai import is_done, parse_chat_chunk
from app.core.protocol.sse import SSEDecoder
from app.core.protocol.types import ChatDelta, ChatResult, Usage
from tests.conftest import RECORDED

OPENAI = RECORDED / "openai-recorded"
MODEL = "gpt-4o-2024-08-06"


def fixture(prefix: str) -> bytes:
    (path,) = OPENAI.glob(prefix + "*.bin")
    return path.read_bytes()


def stream_deltas(
    body: bytes, chunk_size: int | None = None, seed: int = 0
) -> tuple[list[ChatDelta], bool]:
    """Decode a body as the client would; return the deltas and whether `[DONE]` was seen."""
    decoder = SSEDecoder()
    rng = random.Random(seed)
    deltas: list[ChatDelta] = []
    done = False
    pos = 0
    events = []
    while pos < len(body):
        size = chunk_size or rng.randint(1, 64)
        events += decoder.feed(body[pos : pos + size])
        pos += size
    events += decoder.flush()
    for event in events:
        assert not done, "nothing may follow [DONE]"
        if is_done(event.data):
            done = True
            continue
        deltas += parse_chat_chunk(json.loads(event.data))
    return deltas, done


def accumulate(body: bytes, chunk_size: int | None = None, seed: int = 0) -> ChatResult:
    deltas, done = stream_deltas(body, chunk_size, seed)
    assert done
    acc = ChatAccumulator()
    for delta in deltas:
        acc.add(delta)
    return acc.result()


def usage(prompt: int, completion: int, total: int) -> Usage:
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=total, reasoning_tokens=0
    )


def test_every_recording_parses_and_ends_with_a_usage_only_chunk() -> None:
    paths = sorted(OPENAI.glob("*.bin"))
    assert len(paths) == 12
    for path in paths:
        deltas, done = stream_deltas(path.read_bytes())
        assert done, path.name
        last = deltas[-1]
        assert last.usage is not None and last.content == "" and last.finish_reason is None, (
            path.name
        )
        assert all(d.model == MODEL for d in deltas), path.name


def test_plain_reply() -> None:
    result = accumulate(fixture("e2aad469"))
    assert result.text == (
        "I'm unable to provide real-time weather updates. To get the current weather in San "
        "Francisco, I recommend checking a reliable weather website or a weather app."
    )
    assert result.id == "chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL"
    assert result.model == MODEL
    assert result.finish_reason == "stop"
    assert result.usage == usage(14, 30, 44)
    (choice,) = result.choices
    assert choice.refusal == "" and choice.reasoning == "" and choice.tool_calls == []


def test_short_reply() -> None:
    result = accumulate(fixture("83b060ba"))
    assert result.text == "Foo!"
    assert result.usage == usage(9, 2, 11)


def test_long_reply_with_multibyte_characters_byte_by_byte() -> None:
    body = fixture("d6155801")
    result = accumulate(body, chunk_size=1)
    assert result == accumulate(body)
    text = result.text
    assert text.startswith('\n  {\n    "location": "San Francisco, CA",\n    "weather": {\n')
    assert '"temperature": "18°C"' in text
    parsed = json.loads(text)
    assert parsed["weather"]["humidity"] == "72%"
    assert [day["day"] for day in parsed["forecast"]] == ["Monday", "Tuesday", "Wednesday"]
    assert parsed["forecast"][1]["condition"] == "Mostly Cloudy"
    assert result.usage == usage(19, 177, 196)


def test_structured_json_reply() -> None:
    result = accumulate(fixture("7e5ea4d1"))
    assert result.text == '{"city":"San Francisco","temperature":61,"units":"f"}'
    assert result.usage == usage(79, 14, 93)


@pytest.mark.parametrize(
    ("prefix", "refusal", "counts"),
    [
        ("173417d5", "I'm sorry, I can't assist with that request.", (79, 11, 90)),
        ("569c877e", "I'm very sorry, but I can't assist with that.", (79, 12, 91)),
    ],
)
def test_refusals(prefix: str, refusal: str, counts: tuple[int, int, int]) -> None:
    result = accumulate(fixture(prefix))
    (choice,) = result.choices
    assert choice.refusal == refusal
    assert choice.content == ""  # the null content never became "null"
    assert choice.finish_reason == "stop"
    assert result.usage == usage(*counts)


def test_three_interleaved_choices() -> None:
    body = fixture("a491adda")
    deltas, _ = stream_deltas(body)
    order = [d.index for d in deltas if d.content]
    assert order[:6] == [0, 1, 2, 0, 1, 2]  # really interleaved, not one after the other
    result = accumulate(body)
    assert [c.index for c in result.choices] == [0, 1, 2]
    assert [c.content for c in result.choices] == [
        '{"city":"San Francisco","temperature":65,"units":"f"}',
        '{"city":"San Francisco","temperature":61,"units":"f"}',
        '{"city":"San Francisco","temperature":59,"units":"f"}',
    ]
    assert [c.finish_reason for c in result.choices] == ["stop", "stop", "stop"]
    assert result.usage == usage(79, 42, 121)


def test_finish_reason_length() -> None:
    result = accumulate(fixture("4cc50a61"))
    assert result.text == '{"'
    assert result.finish_reason == "length"
    assert result.usage == usage(79, 1, 80)


@pytest.mark.parametrize(
    ("prefix", "call_id", "name", "arguments", "counts"),
    [
        (
            "2018feb6",
            "call_4XzlGBLtUe9dy3GVNV4jhq7h",
            "get_weather",
            {"city": "New York City"},
            (44, 16, 60),
        ),
        (
            "a247c49c",
            "call_CTf1nWJLqSeRgDqaCG27xZ74",
            "get_weather",
            {"city": "San Francisco", "state": "CA"},
            (48, 19, 67),
        ),
        (
            "c6aa7e39",
            "call_c91SqDXlYFuETYv8mUHzz6pp",
            "GetWeatherArgs",
            {"city": "Edinburgh", "country": "UK", "units": "c"},
            (76, 24, 100),
        ),
    ],
)
def test_single_tool_call(
    prefix: str, call_id: str, name: str, arguments: dict[str, str], counts: tuple[int, int, int]
) -> None:
    result = accumulate(fixture(prefix))
    (choice,) = result.choices
    assert choice.finish_reason == "tool_calls"
    assert choice.content == ""
    (call,) = choice.tool_calls
    assert (call.index, call.id, call.type, call.name) == (0, call_id, "function", name)
    assert json.loads(call.arguments) == arguments
    assert result.usage == usage(*counts)


def test_parallel_tool_calls() -> None:
    result = accumulate(fixture("f82268f2"))
    (choice,) = result.choices
    assert choice.finish_reason == "tool_calls"
    first, second = choice.tool_calls
    assert (first.index, first.id, first.name) == (
        0,
        "call_JMW1whyEaYG438VE1OIflxA2",
        "GetWeatherArgs",
    )
    assert first.arguments == '{"city": "Edinburgh", "country": "GB", "units": "c"}'
    assert (second.index, second.id, second.name) == (
        1,
        "call_DNYTawLBoN8fj3KN6qU9N1Ou",
        "get_stock_price",
    )
    assert json.loads(second.arguments) == {"ticker": "AAPL", "exchange": "NASDAQ"}
    assert result.usage == usage(149, 60, 209)


@pytest.mark.parametrize("seed", range(3))
def test_every_recording_gives_the_same_result_however_chunked(seed: int) -> None:
    for path in sorted(OPENAI.glob("*.bin")):
        body = path.read_bytes()
        assert accumulate(body, seed=seed) == accumulate(body, chunk_size=len(body)), path.name


def test_error_chunk_mid_stream_raises_and_partial_text_is_kept() -> None:
    body = fixture("e2aad469")
    events = body.split(b"\n\n")
    error = b'data: {"error": {"message": "The server had an error.", "type": "server_error"}}'
    broken = b"\n\n".join(events[:4] + [error] + events[4:])
    decoder = SSEDecoder()
    acc = ChatAccumulator()
    with pytest.raises(ServerError) as caught:
        for event in decoder.feed(broken) + decoder.flush():
            acc.add_all(parse_chat_chunk(json.loads(event.data)))
    assert caught.value.provider_message == "The server had an error."
    assert acc.result().text == "I'm unable to"
