"""The pure stream readers, fed one byte, seven bytes and the whole body at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.core.errors import APIError, MalformedResponseError
from app.core.protocol.chat_accumulator import ChatAccumulator
from app.core.protocol.stream_reader import MB, Dialect, StreamLimits, StreamReader, Verdict
from app.core.protocol.types import ChatResult

SSE = {"content-type": "text/event-stream"}
CHUNKINGS = [1, 7, None]


def event(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def chunk(content: str | None = None, *, finish: str | None = None, index: int = 0, **delta: Any) -> bytes:
    if content is not None:
        delta["content"] = content
    return event({"id": "c", "model": "m", "choices": [{"index": index, "delta": delta, "finish_reason": finish}]})


DONE = b"data: [DONE]\n\n"


class Run:
    def __init__(self, reader: StreamReader, result: ChatResult, deltas: int) -> None:
        self.reader = reader
        self.result = result
        self.deltas = deltas

    @property
    def text(self) -> str:
        return self.result.choices[0].content if self.result.choices else ""

    @property
    def reasoning(self) -> str:
        return self.result.choices[0].reasoning if self.result.choices else ""


def run(
    body: bytes,
    size: int | None,
    *,
    dialect: Dialect = Dialect.OPENAI_CHAT,
    headers: dict[str, str] | None = None,
    limits: StreamLimits | None = None,
) -> Run:
    reader = StreamReader(dialect, headers=SSE if headers is None else headers, limits=limits)
    acc = ChatAccumulator()
    count = 0
    step = size or len(body) or 1
    for start in range(0, len(body), step):
        for delta in reader.feed(body[start : start + step]):
            acc.add(delta)
            count += 1
        if reader.error is not None or reader.done:
            break
    if reader.error is None:
        for delta in reader.close():
            acc.add(delta)
            count += 1
    return Run(reader, acc.result(), count)


@pytest.mark.parametrize("size", CHUNKINGS)
def test_complete_stream(size: int | None) -> None:
    body = chunk(role="assistant") + chunk("Hel") + chunk("lo", finish="stop") + DONE
    r = run(body, size)
    assert (r.text, r.reader.verdict, r.reader.error) == ("Hello", Verdict.COMPLETE, None)


@pytest.mark.parametrize("size", CHUNKINGS)
def test_bom_and_crlf(size: int | None) -> None:
    body = b"\xef\xbb\xbf" + (chunk("a") + chunk("b", finish="stop") + DONE).replace(b"\n", b"\r\n")
    assert run(body, size).text == "ab"


@pytest.mark.parametrize("size", CHUNKINGS)
def test_non_json_data_lines_are_skipped_and_reading_goes_on(size: int | None) -> None:
    body = (
        chunk("one ")
        + b"data: : OPENROUTER PROCESSING\n\n"
        + b"data: keep-alive\n\n"
        + chunk("two", finish="stop")
        + DONE
    )
    r = run(body, size)
    assert (r.text, r.reader.verdict, r.reader.skipped_lines) == ("one two", Verdict.COMPLETE, 2)


@pytest.mark.parametrize("size", CHUNKINGS)
def test_cut_off_stream_is_incomplete_and_keeps_its_text(size: int | None) -> None:
    r = run(chunk("partial ") + chunk("text"), size)
    assert (r.text, r.reader.verdict, r.reader.error) == ("partial text", Verdict.INCOMPLETE, None)


@pytest.mark.parametrize("size", CHUNKINGS)
def test_finish_reason_without_done_is_complete(size: int | None) -> None:
    assert run(chunk("x", finish="stop"), size).reader.verdict == Verdict.COMPLETE


@pytest.mark.parametrize(
    "body",
    [
        b"",
        chunk(role="assistant") + DONE,  # only a role delta before [DONE]
        b"data: not json\n\ndata: also not\n\n",  # no parsable event at all
        b": ping\n\n" * 50,
    ],
)
@pytest.mark.parametrize("size", CHUNKINGS)
def test_empty_or_garbage_stream_is_an_error(body: bytes, size: int | None) -> None:
    r = run(body, size)
    assert r.reader.verdict == Verdict.ERROR
    assert isinstance(r.reader.error, MalformedResponseError)
    assert "empty reply" in r.reader.error.user_message


@pytest.mark.parametrize("size", CHUNKINGS)
def test_think_tags_split_across_chunks(size: int | None) -> None:
    body = chunk("<thi") + chunk("nk>I should add.</th") + chunk("ink>\n\n4", finish="stop") + DONE
    r = run(body, size)
    assert (r.text, r.reasoning) == ("4", "I should add.")


@pytest.mark.parametrize("size", CHUNKINGS)
def test_missing_opening_tag_moves_shown_text_to_reasoning(size: int | None) -> None:
    body = chunk("The user ") + chunk("asks.</think>") + chunk("\n\nAnswer", finish="stop") + DONE
    r = run(body, size)
    assert (r.text, r.reasoning) == ("Answer", "The user asks.")


@pytest.mark.parametrize("size", CHUNKINGS)
def test_bare_close_tag_alone_in_its_chunk_still_moves_the_text(size: int | None) -> None:
    body = chunk("thinking ") + chunk("</think>") + chunk("Answer", finish="stop") + DONE
    r = run(body, size)
    assert (r.text, r.reasoning) == ("Answer", "thinking ")


@pytest.mark.parametrize("size", CHUNKINGS)
def test_think_tag_inside_code_fence_is_text(size: int | None) -> None:
    text = "```xml\n<think>literal</think>\n```"
    r = run(chunk(text, finish="stop") + DONE, size)
    assert (r.text, r.reasoning) == (text, "")


@pytest.mark.parametrize("size", CHUNKINGS)
def test_magistral_thinking_parts_streamed(size: int | None) -> None:
    parts = [{"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]}]
    body = event({"choices": [{"index": 0, "delta": {"content": parts}}]}) + chunk("Yes", finish="stop") + DONE
    r = run(body, size)
    assert (r.text, r.reasoning) == ("Yes", "hmm")


def call(index: int, *, id: str | None = None, name: str | None = None, args: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if id:
        out["id"] = id
        out["type"] = "function"
    if name:
        out["function"]["name"] = name
    return out


@pytest.mark.parametrize("size", CHUNKINGS)
def test_tool_calls_reusing_an_index_with_another_id_are_not_glued(size: int | None) -> None:
    body = (
        chunk(tool_calls=[call(0, id="a", name="get_weather", args='{"city":')])
        + chunk(tool_calls=[call(0, args='"Oslo"}')])
        + chunk(tool_calls=[call(0, id="b", name="get_time", args='{"tz":"CET"}')])
        + chunk(finish="tool_calls")
        + DONE
    )
    calls = run(body, size).result.choices[0].tool_calls
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("a", "get_weather", '{"city":"Oslo"}'),
        ("b", "get_time", '{"tz":"CET"}'),
    ]


@pytest.mark.parametrize("size", CHUNKINGS)
def test_error_chunk_records_finish_reason_error(size: int | None) -> None:
    error_chunk = event(
        {
            "id": "c",
            "error": {"code": 502, "message": "upstream failed"},
            "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
        }
    )
    r = run(chunk("some text ") + error_chunk, size)
    assert isinstance(r.reader.error, APIError)
    assert r.result.choices[0].finish_reason == "error"
    assert r.text == "some text "


@pytest.mark.parametrize("size", CHUNKINGS)
def test_gemini_finish_reason_without_done_is_complete(size: int | None) -> None:
    body = event({"candidates": [{"content": {"parts": [{"text": "Hi"}]}, "index": 0}]}) + event(
        {"candidates": [{"content": {"parts": [{"text": "!"}]}, "finishReason": "STOP", "index": 0}]}
    )
    r = run(body, size, dialect=Dialect.GEMINI)
    assert (r.text, r.reader.verdict) == ("Hi!", Verdict.COMPLETE)


@pytest.mark.parametrize("size", CHUNKINGS)
def test_gemini_calls_in_separate_chunks_are_separate(size: int | None) -> None:
    def fc(name: str) -> bytes:
        return event({"candidates": [{"content": {"parts": [{"functionCall": {"name": name, "args": {}}}]}, "index": 0}]})

    body = fc("a") + fc("b") + event({"candidates": [{"content": {"parts": []}, "finishReason": "STOP", "index": 0}]})
    calls = run(body, size, dialect=Dialect.GEMINI).result.choices[0].tool_calls
    assert [c.name for c in calls] == ["a", "b"]


@pytest.mark.parametrize("size", CHUNKINGS)
def test_gemini_cut_off_stream_is_incomplete(size: int | None) -> None:
    body = event({"candidates": [{"content": {"parts": [{"text": "Hi"}]}, "index": 0}]})
    assert run(body, size, dialect=Dialect.GEMINI).reader.verdict == Verdict.INCOMPLETE


@pytest.mark.parametrize("size", CHUNKINGS)
def test_completion_dialect(size: int | None) -> None:
    body = event({"choices": [{"index": 0, "text": "<think>kept</think>raw"}]}) + event(
        {"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]}
    ) + DONE
    # Raw completions are text as written: no think splitting.
    assert run(body, size, dialect=Dialect.OPENAI_COMPLETION).text == "<think>kept</think>raw"


@pytest.mark.parametrize("size", CHUNKINGS)
def test_sniffed_sse_without_content_type(size: int | None) -> None:
    body = chunk("ok", finish="stop") + DONE
    assert run(body, size, headers={}).text == "ok"


@pytest.mark.parametrize("size", CHUNKINGS)
def test_whole_json_reply_to_a_stream_request(size: int | None) -> None:
    body = json.dumps({"choices": [{"index": 0, "message": {"content": "<think>r</think>whole"}, "finish_reason": "stop"}]}).encode()
    for headers in ({"content-type": "application/json"}, {}):
        r = run(body, size, headers=headers)
        assert (r.text, r.reasoning, r.reader.verdict) == ("whole", "r", Verdict.COMPLETE)


@pytest.mark.parametrize("size", CHUNKINGS)
def test_html_page_is_a_wrong_type_error(size: int | None) -> None:
    r = run(b"<html><head><title>Login</title></head></html>", size, headers={"content-type": "text/html"})
    assert isinstance(r.reader.error, MalformedResponseError)
    assert "text/html" in r.reader.error.user_message


@pytest.mark.parametrize("size", CHUNKINGS)
def test_cloudflare_1010_page_says_firewall_and_user_agent(size: int | None) -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>Access denied | api.example.com used Cloudflare to "
        b"restrict access</title></head><body><h1>Error 1010</h1><p>The owner of this website has "
        b"banned your access based on your browser's signature.</p></body></html>"
    )
    r = run(page, size, headers={"content-type": "text/html", "server": "cloudflare"})
    assert r.reader.error is not None
    message = r.reader.error.user_message
    assert "firewall" in message and "User-Agent" in message and "Extra headers" in message
    assert "1010" in message


def test_endless_line_stops_at_the_line_cap() -> None:
    limits = StreamLimits(max_line=64 * 1024)
    reader = StreamReader(Dialect.OPENAI_CHAT, headers=SSE, limits=limits)
    reader.feed(chunk("kept"))
    piece = b"data: " + b"x" * 4096
    for _ in range(100):
        reader.feed(piece)
        if reader.error is not None:
            break
    assert isinstance(reader.error, MalformedResponseError)
    assert "line" in reader.error.user_message and "kept" in reader.error.user_message
    assert reader.buffered <= 64 * 1024 + 4096


def test_endless_empty_events_hold_nothing() -> None:
    reader = StreamReader(Dialect.OPENAI_CHAT, headers=SSE)
    out = reader.feed(chunk(role="assistant"))
    assert len(out) == 1  # the first delta of a choice is kept (model, id)
    pings = (b": ping\n\n" + b"data:\n\n" + chunk(role="assistant") + event({"choices": []})) * 200
    for _ in range(20):
        assert reader.feed(pings) == []
    assert reader.buffered == 0 and reader.error is None


def test_whole_body_cap() -> None:
    reader = StreamReader(Dialect.OPENAI_CHAT, headers=SSE, limits=StreamLimits(max_body=1 * MB))
    for _ in range(300):
        reader.feed(b": ping padding " * 300 + b"\n\n")
        if reader.error is not None:
            break
    assert isinstance(reader.error, MalformedResponseError) and "larger than 1 MB" in reader.error.user_message


def test_json_body_cap() -> None:
    reader = StreamReader(
        Dialect.OPENAI_CHAT, headers={"content-type": "application/json"}, limits=StreamLimits(max_json_body=MB)
    )
    for _ in range(20):
        reader.feed(b" " * 100_000)
    assert isinstance(reader.error, MalformedResponseError)
    assert reader.buffered <= MB
