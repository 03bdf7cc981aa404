"""A multi-megabyte prompt: its JSON body is encoded in pieces (same bytes as httpx's `json=`),
the event loop runs between the pieces, and the token estimate of ASCII text is O(1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from app.core.protocol.json_body import PIECE_CHARS, encode_json_pieces, has_big_string
from app.core.protocol.types import ChatMessage, GenerationParams
from app.core.services.context_window import estimate_tokens
from tests.core.helpers import Recorder, chat_json, make_client, with_loop_ticks


def httpx_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def test_pieces_are_byte_identical_to_httpx() -> None:
    text = 'é"\\\n\u2028😀\x00<tag>' * (PIECE_CHARS // 4)
    value = {"model": "m", "messages": [{"role": "user", "content": text}], "n": [1, 2.5, None, True, {1: "x"}]}
    pieces = list(encode_json_pieces(value))
    assert b"".join(pieces) == httpx_bytes(value)
    assert len(pieces) > 4 and max(len(p) for p in pieces) < 4 * PIECE_CHARS  # really cut


def test_has_big_string_finds_nested_strings() -> None:
    assert has_big_string({"a": [{"b": "x" * 11}]}, limit=10)
    assert not has_big_string({"a": [{"b": "x" * 10}], "c": 5}, limit=10)


def test_big_prompt_is_sent_whole_and_the_loop_runs_meanwhile(arun: Callable[..., Any]) -> None:
    rec = Recorder(httpx.Response(200, json=chat_json()))
    client = make_client(rec)
    big = "A line of a long log with words and 0123456789.\n" * 60_000  # ~3 MB
    async def go() -> None:
        async with client:
            await client.chat("m", [ChatMessage(role="user", content=big)], GenerationParams())

    _, ticks = arun(with_loop_ticks(go()))
    assert ticks > 5  # the loop ran while the body was being encoded
    [request] = rec.requests
    assert request.headers["content-type"] == "application/json"
    assert int(request.headers["content-length"]) == len(request.content)
    assert json.loads(request.content)["messages"][-1]["content"] == big


def test_ascii_estimate_matches_the_general_rule() -> None:
    assert estimate_tokens("abcd" * 10 + "a") == 11
    assert estimate_tokens("漢字abcd") == 2 + 1  # the CJK path is unchanged
