"""The Gemini dialect against every recorded real Gemini body (tests/fixtures/recorded/gemini-recorded)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.core.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ContentBlockedError,
    NotFoundError,
)
from app.core.protocol import gemini
from app.core.protocol.chat_accumulator import ChatAccumulator
from app.core.protocol.errors import api_error_from_response
from app.core.protocol.sse import SSEDecoder
from app.core.protocol.types import ChatDelta, ChatResult, Usage
from tests.conftest import RECORDED

GEMINI = RECORDED / "gemini-recorded"


def _events(name: str, chunk_size: int | None = None) -> list[str]:
    """The `data` of each SSE event of a recorded stream, optionally fed in small chunks."""
    raw = (GEMINI / name).read_bytes()
    decoder = SSEDecoder()
    events = []
    step = chunk_size or len(raw) or 1
    for start in range(0, len(raw), step):
        events.extend(decoder.feed(raw[start : start + step]))
    events.extend(decoder.flush())
    return [e.data for e in events]


def _stream(name: str, chunk_size: int | None = None) -> list[ChatDelta]:
    deltas: list[ChatDelta] = []
    for data in _events(name, chunk_size):
        deltas.extend(gemini.parse_stream_chunk(json.loads(data)))
    return deltas


def _accumulate(deltas: list[ChatDelta]) -> ChatResult:
    acc = ChatAccumulator()
    for delta in deltas:
        acc.add(delta)
    return acc.result()


def _unary(name: str) -> ChatResult:
    return gemini.parse_generate_response(json.loads((GEMINI / name).read_text()))


@dataclass
class Expect:
    starts: str
    ends: str
    finish: str | None
    usage: Usage | None
    length: int | None = None
    contains: tuple[str, ...] = ()
    reasoning_starts: str = ""
    reasoning_ends: str = ""
    model: str | None = None


STREAMS: dict[str, Expect] = {
    "streaming-success-basic-reply-short.txt": Expect(
        "The capital of Wyoming",
        "The capital of Wyoming is **Cheyenne**.\n",
        "stop",
        Usage(7, 10, 17, None),
        length=40,
        model="gemini-2.0-flash",
    ),
    "streaming-success-basic-reply-long.txt": Expect(
        "Okay, let's dive into the world of cats and dogs!",
        "ask about specific breeds, training techniques, or health conditions.\n",
        "stop",
        Usage(10, 1996, 2006, None),
        length=8845,
        contains=("**Cats:**  Cats are obligate carnivores",),
    ),
    "streaming-success-citations.txt": Expect(
        "Okay, let's break down quantum mechanics.\n\n**What is Quantum Mechanics?**",
        "Good luck on your learning journey!\n",
        "stop",
        Usage(15, 1381, 1396, None),
        length=6711,
    ),
    "streaming-success-code-execution.txt": Expect(
        "To find the sum of the first 5 prime numbers, we first need to identify them.",
        "The sum of the first 5 prime numbers is 28.",
        "stop",
        Usage(21, 126, 485, 95),
        contains=(
            "```python\nprime_numbers = [2, 3, 5, 7, 11]\nsum_of_primes = sum(prime_numbers)\n",
            "```text\nThe sum of the first 5 prime numbers is: 28\n```",
        ),
        model="gemini-2.5-flash",
    ),
    "streaming-success-empty-parts.txt": Expect(
        "Here's a cute cartoon kitten playing with a ball of yarn for you! ",
        "AAAAAElFTkSuQmCC)\n",
        "stop",
        Usage(16, 1307, 1323, None),
        contains=("![image](data:image/png;base64,iVBORw0KGgo",),
    ),
    "streaming-success-finish-message.txt": Expect(
        "Hello", "Hello world!", "stop", None, length=12
    ),
    "streaming-success-no-content-parts.txt": Expect(
        "I will generate a 3D rendering of a whimsical scene featuring a pink pig",
        "under a bright, slightly cloudy sky.\n\n",
        "stop",
        Usage(34, 1370, 1404, None),
    ),
    "streaming-success-thinking-function-call-thought-summary-signature.txt": Expect(
        "",
        "",
        "stop",
        Usage(38, 6, 212, 168),
        length=0,
        reasoning_starts="**Calculating the Days**\n\nI've determined the user's request",
        reasoning_ends="I'll calculate this myself after getting today's date.\n\n\n",
    ),
    "streaming-success-thinking-reply-thought-summary.txt": Expect(
        "The sky is blue because tiny gas molecules in Earth's atmosphere scatter blue light",
        "making the sky appear blue to our eyes.",
        "stop",
        Usage(10, 48, 598, 540),
        length=263,
        reasoning_starts="**Exploring Sky Color**\n\nI've zeroed in on the core question",
        reasoning_ends="I'm satisfied with this concise response.\n\n\n",
    ),
    "streaming-success-url-context.txt": Expect(
        "\nThe Google homepage primarily serves as a search engine interface",
        'business, and an "About" section.',
        "stop",
        Usage(438, 81, 1177, 39),
        length=361,
    ),
    "streaming-failure-recitation-no-content.txt": Expect(
        "text1text2",
        "text7text8",
        "recitation",
        Usage(9, 261, 270, None),
        length=40,
    ),
}


@pytest.mark.parametrize("name", sorted(STREAMS))
@pytest.mark.parametrize("chunk_size", [None, 7])
def test_recorded_stream(name: str, chunk_size: int | None) -> None:
    expect = STREAMS[name]
    deltas = _stream(name, chunk_size)
    result = _accumulate(deltas)
    text = result.text
    assert text.startswith(expect.starts)
    assert text.endswith(expect.ends)
    if expect.length is not None:
        assert len(text) == expect.length
    for piece in expect.contains:
        assert piece in text
    assert result.finish_reason == expect.finish
    assert result.usage == expect.usage
    reasoning = result.choices[0].reasoning
    assert reasoning.startswith(expect.reasoning_starts)
    assert reasoning.endswith(expect.reasoning_ends)
    if not expect.reasoning_starts:
        assert reasoning == ""
    else:
        # Thought summaries are never shown as the reply.
        assert expect.reasoning_starts not in text
    if expect.model:
        assert result.model == expect.model
    # The finish reason arrives once, on the last delta that carries one.
    assert [d.finish_reason for d in deltas if d.finish_reason] == [expect.finish]


def test_recorded_stream_function_call_is_a_tool_call() -> None:
    deltas = _stream("streaming-success-thinking-function-call-thought-summary-signature.txt")
    calls = [call for d in deltas for call in d.tool_calls]
    assert len(calls) == 1
    assert (calls[0].name, calls[0].arguments, calls[0].type) == ("now", "{}", "function")
    result = _accumulate(deltas)
    assert [(c.name, c.arguments) for c in result.choices[0].tool_calls] == [("now", "{}")]


def test_recorded_stream_ids_and_models() -> None:
    deltas = _stream("streaming-success-thinking-reply-thought-summary.txt")
    assert {d.id for d in deltas} == {"0J-HaJetAqv0jrEPwu-tsQ0"}
    assert {d.model for d in deltas} == {"gemini-2.5-flash"}


def test_recorded_recitation_stream_keeps_text_then_reports_reason() -> None:
    deltas = _stream("streaming-failure-recitation-no-content.txt")
    texts = [d.content for d in deltas if d.content]
    assert texts == [f"text{i}" for i in range(1, 9)]
    assert deltas[-1].finish_reason == "recitation"
    assert deltas[-1].content == ""
    assert gemini.content_blocked_error("RECITATION").user_message.count("recitation") == 1


def test_recorded_prompt_blocked_stream_raises_content_blocked() -> None:
    # This stream ends without a final blank line: the decoder's flush dispatches it.
    events = _events("streaming-failure-prompt-blocked-safety.txt")
    assert len(events) == 1
    with pytest.raises(ContentBlockedError) as info:
        gemini.parse_stream_chunk(json.loads(events[0]))
    assert "safety" in info.value.user_message
    assert info.value.code == "SAFETY"


def test_recorded_image_rejected_is_a_plain_error_body() -> None:
    raw = (GEMINI / "streaming-failure-image-rejected.txt").read_bytes()
    # Gemini answers a rejected stream request with a JSON body (HTTP 400), not SSE.
    assert _events("streaming-failure-image-rejected.txt") == []
    err = api_error_from_response(400, {}, raw)
    assert type(err) is BadRequestError
    assert err.provider_message == "Request contains an invalid argument."
    # Delivered as one JSON chunk, the stream parser raises the same class.
    with pytest.raises(BadRequestError):
        gemini.parse_stream_chunk(json.loads(raw))


UNARY: dict[str, Expect] = {
    "unary-success-basic-reply-short.json": Expect(
        "Google's headquarters, also known as the Googleplex,",
        "is located in **Mountain View, California**.\n",
        "stop",
        Usage(7, 22, 29, None),
        length=98,
        model="gemini-2.0-flash",
    ),
    "unary-success-basic-reply-long.json": Expect(
        "Making professional-quality coffee at home is achievable",
        "*   **Pour Over (e.g., Hario V60, Chemex):**\n",
        "stop",
        Usage(9, 1612, 1621, None),
        length=2591,
    ),
    "unary-success-citations.json": Expect(
        "Okay, let's break down quantum mechanics.",
        "It's a challenging but fascinating area of physics!",
        "stop",
        Usage(15, 1667, 1682, None),
        length=93,
    ),
    "unary-success-code-execution.json": Expect(
        "\n```python\nprime_numbers = [2, 3, 5, 7, 11]\n",
        "The sum of these numbers is:\n2 + 3 + 5 + 7 + 11 = 28",
        "stop",
        Usage(21, 96, 363, 86),
        contains=("print(f'{sum_of_primes=}')\n```\n", "```text\nsum_of_primes=28\n```\n"),
    ),
    "unary-success-google-maps-grounding.json": Expect(
        "Here are a few pizza places near you:\n\n*   **Joe’s Pizza**",
        "They offer takeout, delivery, and dine-in.",
        "stop",
        Usage(9, 288, 443, 87),
        length=1093,
    ),
    "unary-success-google-search-grounding.json": Expect(
        "The current weather in London, United Kingdom is cloudy. The temperature is 67°F (19°C)",
        "and the humidity is around 41%.\n",
        "stop",
        Usage(8, 60, 68, None),
        length=182,
    ),
    "unary-success-google-search-grounding-empty-grounding-chunks.json": Expect(
        "The current weather in London, United Kingdom is cloudy with a temperature of 67°F",
        "the humidity is around 41%.\n",
        "stop",
        Usage(8, 59, 67, None),
        length=183,
    ),
    "unary-success-thinking-function-call-thought-summary-signature.json": Expect(
        "",
        "",
        "stop",
        Usage(38, 8, 547, 501),
        length=0,
        reasoning_starts="**Thinking Through the New Year's Eve Calculation**",
        model="gemini-2.5-pro",
    ),
    "unary-success-thinking-reply-thought-summary.json": Expect(
        "Mountain View",
        "Mountain View",
        "stop",
        Usage(14, 2, 40, 24),
        length=13,
        reasoning_starts="**Thinking About Google's Headquarters**\n\nWell, this one's straightforward.",
    ),
    "unary-success-url-context.json": Expect(
        "Berkshire Hathaway Inc.'s official website provides information",
        "along with a GEICO advertisement.",
        "stop",
        Usage(15, 102, 683, 142),
        length=496,
    ),
    "unary-success-url-context-mixed-validity.json": Expect(
        "\nThe valid page, https://ai.google.dev, successfully loaded",
        "preventing the content from being retrieved.",
        "stop",
        Usage(118, 312, 2437, 46),
        length=793,
    ),
    "unary-failure-finish-reason-safety.json": Expect(
        "Safety error incoming in 5, 4, 3, 2...",
        "Safety error incoming in 5, 4, 3, 2...",
        "safety",
        Usage(7, 20, 27, None),
    ),
    "unary-failure-finish-reason-safety.txt": Expect(
        "Safety error incoming", "3, 2...", "safety", Usage(7, 20, 27, None)
    ),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_recorded_unary(name: str) -> None:
    expect = UNARY[name]
    result = _unary(name)
    assert result.text.startswith(expect.starts)
    assert result.text.endswith(expect.ends)
    if expect.length is not None:
        assert len(result.text) == expect.length
    for piece in expect.contains:
        assert piece in result.text
    assert result.finish_reason == expect.finish
    assert result.usage == expect.usage
    assert result.choices[0].reasoning.startswith(expect.reasoning_starts)
    if not expect.reasoning_starts:
        assert result.choices[0].reasoning == ""
    if expect.model:
        assert result.model == expect.model


def test_recorded_unary_function_call() -> None:
    result = _unary("unary-success-thinking-function-call-thought-summary-signature.json")
    assert [(c.name, c.arguments) for c in result.choices[0].tool_calls] == [("now", "{}")]
    assert result.id == "38CHaLjMG6TujrEPtvTiuQk"


def test_recorded_unary_thinking_keeps_thought_out_of_reply() -> None:
    result = _unary("unary-success-thinking-reply-thought-summary.json")
    assert result.text == "Mountain View"
    assert "Google's Headquarters" in result.choices[0].reasoning


@pytest.mark.parametrize(
    ("name", "status", "cls"),
    [
        ("unary-failure-api-key.json", 400, AuthenticationError),
        ("unary-failure-api-key.txt", 400, AuthenticationError),
        ("unary-failure-unknown-model.json", 404, NotFoundError),
        ("unary-failure-unknown-model.txt", 404, NotFoundError),
        ("unary-failure-generativelanguage-api-not-enabled.json", 403, AuthenticationError),
    ],
)
def test_recorded_unary_error_bodies(name: str, status: int, cls: type[APIError]) -> None:
    raw = (GEMINI / name).read_bytes()
    assert type(api_error_from_response(status, {}, raw)) is cls
    # Handed to the parser (e.g. a proxy answering 200), the body still raises its class.
    with pytest.raises(cls):
        gemini.parse_generate_response(json.loads(raw))


def test_recorded_only_prompt_feedback_is_blocked() -> None:
    with pytest.raises(ContentBlockedError) as info:
        _unary("unary-failure-only-prompt-feedback.json")
    assert info.value.provider_message == "Message"


def test_recorded_finish_other_without_content_is_an_error_not_a_reply() -> None:
    with pytest.raises(APIError) as info:
        _unary("unary-failure-with-message-no-content.json")
    assert not isinstance(info.value, ContentBlockedError)
    assert info.value.provider_message == "Model failed to generate content due to internal error."
    assert "other" in info.value.user_message


def test_every_recorded_fixture_is_tested() -> None:
    tested = (
        set(STREAMS)
        | set(UNARY)
        | {
            "streaming-failure-prompt-blocked-safety.txt",
            "streaming-failure-image-rejected.txt",
            "unary-failure-api-key.json",
            "unary-failure-api-key.txt",
            "unary-failure-unknown-model.json",
            "unary-failure-unknown-model.txt",
            "unary-failure-generativelanguage-api-not-enabled.json",
            "unary-failure-only-prompt-feedback.json",
            "unary-failure-with-message-no-content.json",
        }
    )
    # .txt twins of unary .json bodies are byte-identical; the ones not listed are covered here.
    for name in (
        "unary-success-basic-reply-long",
        "unary-success-basic-reply-short",
        "unary-success-citations",
    ):
        assert (GEMINI / f"{name}.txt").read_bytes() == (GEMINI / f"{name}.json").read_bytes()
        tested.add(f"{name}.txt")
    assert {p.name for p in Path(GEMINI).iterdir() if p.is_file()} == tested
