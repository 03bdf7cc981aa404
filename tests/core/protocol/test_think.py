"""Inline reasoning split out of reply text: tags across chunks, missing/bare tags, code fences."""

from __future__ import annotations

import pytest

from app.core.protocol.openai import parse_chat_response
from app.core.protocol.think import ThinkSplitter, split_think

CHUNKINGS = [1, 7, None]  # one byte, seven bytes, whole text


def fold(text: str, size: int | None) -> tuple[str, str]:
    """Feed `text` in pieces of `size` and fold the output as the accumulator does."""
    splitter = ThinkSplitter()
    content: list[str] = []
    reasoning: list[str] = []
    step = size or len(text) or 1
    for start in range(0, len(text), step):
        c, r = splitter.feed(text[start : start + step])
        if splitter.moved:
            splitter.moved = False
            reasoning.extend(content)
            content.clear()
        content.append(c)
        reasoning.append(r)
    c, r = splitter.flush()
    content.append(c)
    reasoning.append(r)
    return "".join(content), "".join(reasoning)


CASES = [
    ("<think>Let me see.</think>\n\nThe answer is 4.", "The answer is 4.", "Let me see."),
    ("<thinking>plan</thinking>Done", "Done", "plan"),
    ("<REASONING>why</Reasoning>ok", "ok", "why"),
    # The chat template opened <think>: the reply starts with reasoning and a bare close tag.
    ("The user wants a sum.\n2+2=4</think>\n\nIt is 4.", "It is 4.", "The user wants a sum.\n2+2=4"),
    ("</think>Just the answer", "Just the answer", ""),
    ("Plain reply, no tags.", "Plain reply, no tags.", ""),
    # A tag inside a fenced code block of the answer is text.
    ("Use:\n```html\n<think>x</think>\n```\nDone", "Use:\n```html\n<think>x</think>\n```\nDone", ""),
    ("<think>a</think>Then ```\n</think>\n``` end", "Then ```\n</think>\n``` end", "a"),
    ("Compare a < b and b > c", "Compare a < b and b > c", ""),
    ("<think>unfinished reasoning", "", "unfinished reasoning"),
]


@pytest.mark.parametrize("size", CHUNKINGS)
@pytest.mark.parametrize(("text", "content", "reasoning"), CASES)
def test_split_in_any_chunking(text: str, content: str, reasoning: str, size: int | None) -> None:
    assert fold(text, size) == (content, reasoning)


@pytest.mark.parametrize(("text", "content", "reasoning"), CASES)
def test_split_whole_text(text: str, content: str, reasoning: str) -> None:
    assert split_think(text) == (content, reasoning)


def test_tags_never_reach_the_content() -> None:
    for text, _content, _reasoning in CASES[:6]:
        for size in CHUNKINGS:
            out, _ = fold(text, size)
            assert "<think" not in out.lower() and "</think" not in out.lower()


def test_bare_close_after_released_text_sets_moved_once() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("reasoning ") == ("reasoning ", "")
    assert not splitter.moved
    assert splitter.feed("more</think>answer") == ("answer", "more")
    assert splitter.moved
    splitter.moved = False
    # A second bare close is dropped, never shown, and moves nothing.
    assert splitter.feed(" x</think>y") == (" xy", "")
    assert not splitter.moved


def test_held_text_is_bounded_by_a_tag() -> None:
    splitter = ThinkSplitter()
    splitter.feed("a" * 10_000 + "</thi")
    assert splitter.held <= len("</thinking>")


def test_non_streamed_chat_reply_splits_inline_reasoning() -> None:
    obj = {
        "choices": [
            {"index": 0, "message": {"content": "<think>hmm</think>\n\nHello"}, "finish_reason": "stop"}
        ]
    }
    choice = parse_chat_response(obj).choices[0]
    assert (choice.content, choice.reasoning) == ("Hello", "hmm")


def test_magistral_thinking_parts_are_reasoning_non_streamed() -> None:
    obj = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "content": [
                        {"type": "thinking", "thinking": [{"type": "text", "text": "step 1"}]},
                        {"type": "text", "text": "Answer"},
                    ]
                },
                "finish_reason": "stop",
            }
        ]
    }
    choice = parse_chat_response(obj).choices[0]
    assert (choice.content, choice.reasoning) == ("Answer", "step 1")
