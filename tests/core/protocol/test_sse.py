"""SSEDecoder against the WHATWG rules and the recorded bodies, split at every boundary."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from app.core.protocol.sse import SSEDecoder, SSEEvent
from tests.conftest import RECORDED

# Every recorded event stream (one Gemini "streaming" file is a plain JSON error body, not SSE).
FIXTURES = sorted((RECORDED / "openai-recorded").glob("*.bin")) + sorted(
    p
    for p in (RECORDED / "gemini-recorded").glob("streaming-*.txt")
    if p.read_bytes().lstrip().startswith(b"data:")
)


def decode_whole(body: bytes) -> list[SSEEvent]:
    decoder = SSEDecoder()
    return decoder.feed(body) + decoder.flush()


def decode_in_chunks(
    body: bytes, sizes: list[int] | None = None, *, step: int = 0
) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    if step:
        for i in range(0, len(body), step):
            events += decoder.feed(body[i : i + step])
    else:
        assert sizes is not None
        pos = 0
        for size in sizes:
            events += decoder.feed(body[pos : pos + size])
            pos += size
        events += decoder.feed(body[pos:])
    return events + decoder.flush()


def random_sizes(seed: int, total: int) -> list[int]:
    rng = random.Random(seed)
    sizes: list[int] = []
    while sum(sizes) < total:
        sizes.append(rng.randint(0, 40))  # 0: an empty chunk must change nothing
    return sizes


# --- line endings -------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"])
def test_every_line_ending(eol: bytes) -> None:
    body = eol.join([b"event: ping", b"data: a", b"data: b", b"", b"data: c", b"", b""])
    events = decode_whole(body)
    assert events == [SSEEvent(event="ping", data="a\nb"), SSEEvent(data="c")]


def test_mixed_line_endings_in_one_stream() -> None:
    events = decode_whole(b"data: 1\r\n\r\ndata: 2\r\rdata: 3\n\ndata: 4\r\n\n")
    assert [e.data for e in events] == ["1", "2", "3", "4"]


def test_crlf_split_across_chunks_is_one_line_break() -> None:
    decoder = SSEDecoder()
    # "data: x" CR | LF "data: y" CRLF CRLF: had the CR and LF counted twice, a blank line would
    # dispatch "x" alone.
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\ndata: y\r\n\r") == [SSEEvent(data="x\ny")]
    assert decoder.feed(b"\n") == []
    assert decoder.flush() == []


def test_cr_at_chunk_end_followed_by_other_text_is_a_line_break() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\r") == [SSEEvent(data="x")]


def test_lone_cr_then_empty_chunk_then_lf() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: x\r")
    decoder.feed(b"")  # an empty read must not forget that an LF may pair with the CR
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\n") == [SSEEvent(data="x")]


# --- UTF-8 and BOM ------------------------------------------------------------------------------


def test_utf8_character_split_across_chunks() -> None:
    body = "data: 18°C – ☀️ 日本\n\n".encode()
    for cut in range(len(body) + 1):
        decoder = SSEDecoder()
        events = decoder.feed(body[:cut]) + decoder.feed(body[cut:]) + decoder.flush()
        assert events == [SSEEvent(data="18°C – ☀️ 日本")], cut


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert decode_whole(b"data: a\xffb\n\n") == [SSEEvent(data="a\ufffdb")]


def test_leading_bom_is_dropped_even_when_split() -> None:
    body = b"\xef\xbb\xbfdata: x\n\n"
    assert decode_whole(body) == [SSEEvent(data="x")]
    assert decode_in_chunks(body, step=1) == [SSEEvent(data="x")]


def test_only_the_first_bom_is_dropped() -> None:
    # A second BOM makes the first field name "\ufeffdata", which is no field at all.
    body = b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n"
    assert decode_whole(body) == [SSEEvent(data="y")]


def test_stream_shorter_than_a_bom() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef") == []
    assert decoder.buffered == 1
    assert decoder.flush() == []


# --- fields -------------------------------------------------------------------------------------


def test_comments_and_keepalives_are_ignored() -> None:
    body = (
        b": keep-alive\n\n:\n\ndata: x\n: inside an event\ndata: y\n\n: OPENROUTER PROCESSING\n\n"
    )
    assert decode_whole(body) == [SSEEvent(data="x\ny")]


def test_data_with_and_without_space_only_one_space_stripped() -> None:
    events = decode_whole(b"data:a\n\ndata: b\n\ndata:  c\n\ndata\n\n")
    assert [e.data for e in events] == ["a", "b", " c"]


def test_multiline_data_keeps_inner_empty_lines() -> None:
    events = decode_whole(b"data: one\ndata:\ndata: three\n\n")
    assert events == [SSEEvent(data="one\n\nthree")]


def test_event_with_empty_data_is_not_dispatched() -> None:
    body = b"event: ping\n\ndata:\n\ndata: \n\nid: 7\n\nretry: 10\n\ndata: real\n\n"
    events = decode_whole(body)
    assert events == [SSEEvent(data="real", id="7", retry=None)]


def test_event_type_resets_after_dispatch() -> None:
    events = decode_whole(b"event: error\ndata: {}\n\ndata: 2\n\n")
    assert [(e.event, e.data) for e in events] == [("error", "{}"), ("message", "2")]


def test_id_is_sticky_and_nul_ids_are_ignored() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"id: 1\ndata: a\n\ndata: b\n\nid: bad\x00id\ndata: c\n\nid\ndata: d\n\n")
    assert [(e.data, e.id) for e in events] == [("a", "1"), ("b", "1"), ("c", "1"), ("d", "")]
    assert decoder.last_event_id == ""


def test_retry_accepts_only_digits() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(
        b"retry: 1500\ndata: a\n\nretry: 15x\ndata: b\n\nretry: -3\ndata: c\n\nretry:\ndata: d\n\n"
    )
    assert [(e.data, e.retry) for e in events] == [
        ("a", 1500),
        ("b", None),
        ("c", None),
        ("d", None),
    ]
    assert decoder.retry == 1500


def test_unknown_fields_and_field_without_colon_are_ignored() -> None:
    events = decode_whole(b"foo: bar\nevent\ndata: x\n\n")
    # "event" with no colon sets the type to "", which dispatches as the default "message".
    assert events == [SSEEvent(event="message", data="x")]


def test_colon_inside_value_is_kept() -> None:
    assert decode_whole(b'data: {"a": "b:c"}\n\n') == [SSEEvent(data='{"a": "b:c"}')]


# --- end of stream ------------------------------------------------------------------------------


def test_flush_dispatches_event_without_final_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: first\n\ndata: last") == [SSEEvent(data="first")]
    assert decoder.flush() == [SSEEvent(data="last")]
    assert decoder.flush() == []


def test_flush_dispatches_event_whose_last_line_ended() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: last\r\n") == []
    assert decoder.flush() == [SSEEvent(data="last")]


def test_gemini_prompt_blocked_stream_ends_without_blank_line() -> None:
    body = (
        RECORDED / "gemini-recorded" / "streaming-failure-prompt-blocked-safety.txt"
    ).read_bytes()
    assert not body.endswith(b"\n\n") and not body.endswith(b"\r\n\r\n")
    decoder = SSEDecoder()
    assert decoder.feed(body) == []
    (event,) = decoder.flush()
    assert '"blockReason": "SAFETY"' in event.data


# --- recorded bodies, every split -----------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name[:24])
def test_recorded_body_same_events_however_split(path: Path) -> None:
    body = path.read_bytes()
    whole = decode_whole(body)
    assert whole, "every recorded stream holds events"
    assert decode_in_chunks(body, step=1) == whole
    for seed in range(5):
        assert decode_in_chunks(body, random_sizes(seed, len(body))) == whole
    # The same body with every line ending rewritten must give the same events.
    lf = body.replace(b"\r\n", b"\n")
    assert decode_whole(lf) == whole
    assert decode_in_chunks(lf.replace(b"\n", b"\r"), random_sizes(99, len(lf))) == whole
    assert decode_in_chunks(lf.replace(b"\n", b"\r\n"), step=1) == whole


def test_openai_recording_ends_with_done() -> None:
    body = (RECORDED / "openai-recorded" / FIXTURES[0].name).read_bytes()
    events = decode_whole(body)
    assert events[-1].data == "[DONE]"
    assert all(e.event == "message" for e in events)


# --- cost -------------------------------------------------------------------------------------


def test_twenty_thousand_events_in_small_chunks() -> None:
    body = b"".join(b'data: {"n": %d}\r\n\r\n' % i for i in range(20_000))
    decoder = SSEDecoder()
    count = 0
    last = ""
    for i in range(0, len(body), 7):
        for event in decoder.feed(body[i : i + 7]):
            count += 1
            last = event.data
        # Only the unfinished line is held: a decoder that kept (and re-scanned) the whole
        # buffer would grow here.
        assert decoder.buffered < 20
    assert decoder.flush() == []
    assert count == 20_000
    assert last == '{"n": 19999}'


def test_one_long_line_fed_byte_by_byte() -> None:
    payload = b"x" * 200_000
    decoder = SSEDecoder()
    for i in range(len(payload)):
        assert decoder.feed(payload[i : i + 1]) == []
    assert decoder.buffered == len(payload)
    assert decoder.feed(b"\n\n") == []  # "xxxx..." is a field name with no colon: ignored
    decoder.feed(b"data: ")
    for i in range(0, len(payload), 3):
        decoder.feed(payload[i : i + 3])
    (event,) = decoder.feed(b"\n\n")
    assert event.data == payload.decode()
