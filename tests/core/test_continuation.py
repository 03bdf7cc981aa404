"""Joining a continuation to a partial reply: whatever the server sends back, the stored reply
is the partial text followed by the new text only, with a code block continued, not nested."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from app.core.demo.text import tokenize
from app.core.protocol.types import ChatMessage
from app.core.services.continuation import (
    CONTINUE_INSTRUCTION,
    ContinuationJoin,
    continuation_messages,
    open_fence,
)

FULL = (
    "## Closures\n\nA closure keeps its variables.\n\n```python\n"
    "def counter():\n    n = 0\n    def step():\n        return n + 1\n    return step\n```\n\nThat is all."
)
# Stopped in the middle of the code block, in the middle of a line.
CUT = FULL.index("        return n") + len("        return")
PARTIAL = FULL[:CUT]
REST = FULL[CUT:]


def join(prefix: str, continuation: str, *, piece: int = 0) -> str:
    """Feed `continuation` token by token (or in pieces of `piece` characters)."""
    joiner = ContinuationJoin(prefix)
    chunks = tokenize(continuation) if not piece else [continuation[i : i + piece] for i in range(0, len(continuation), piece)]
    out = "".join(joiner.feed(chunk) for chunk in chunks)
    return prefix + out + joiner.finish()


def test_open_fence() -> None:
    assert open_fence(PARTIAL) == ("```", PARTIAL.index("def counter"))
    assert open_fence(FULL) is None
    assert open_fence("```python\ncode\n```python\nmore") == ("```", len("```python\n"))
    assert open_fence("no code") is None


@pytest.mark.parametrize("piece", [0, 1, 7])
def test_a_literal_continuation_is_appended_as_it_is(piece: int) -> None:
    assert join(PARTIAL, REST, piece=piece) == FULL


@pytest.mark.parametrize("piece", [0, 1, 5])
def test_a_restart_from_the_beginning_is_dropped(piece: int) -> None:
    # OpenAI and some gateways answer a trailing assistant message with a reply of their own.
    assert join(PARTIAL, FULL, piece=piece) == FULL


@pytest.mark.parametrize("piece", [0, 1, 3])
def test_a_re_opened_code_block_is_continued_not_nested(piece: int) -> None:
    # Asked with a "continue" user turn, a model re-opens the block and repeats the line.
    continued = "```python\n        return n + 1\n    return step\n```\n\nThat is all."
    assert join(PARTIAL, continued, piece=piece) == FULL
    # ...or re-opens it and goes on from the next line.
    assert join(PARTIAL + " n + 1\n", "```python\n    return step\n```\n\nThat is all.") == FULL
    # ...or restarts the whole block.
    assert join(PARTIAL, "```\ndef counter():\n    n = 0\n    def step():\n        return n + 1\n    return step\n```\n\nThat is all.") == FULL


def test_a_re_opened_block_that_goes_on_elsewhere_starts_a_new_line() -> None:
    joined = join(PARTIAL, "```python\n    print(step())\n```\n")
    assert joined == PARTIAL + "\n    print(step())\n```\n"
    assert open_fence(joined) is None


def test_text_that_only_looks_like_a_repeat_at_first_is_kept() -> None:
    assert join("## Closures\n\nA closure", "## Closures are fun") == "## Closures\n\nA closure## Closures are fun"
    # Outside a code block, a fence in the continuation is a new block of the reply.
    assert join("Intro.\n\n", "```python\nx = 1\n```\n") == "Intro.\n\n```python\nx = 1\n```\n"
    assert join("", "anything") == "anything"


def test_a_stream_that_ends_inside_a_repetition_adds_nothing() -> None:
    assert join(PARTIAL, FULL[: CUT // 2]) == PARTIAL
    joiner = ContinuationJoin(PARTIAL)
    assert joiner.feed("``") == ""
    assert joiner.finish() == "``"  # not a fence after all: kept


def test_the_request_per_dialect() -> None:
    messages = [ChatMessage("user", "Explain closures"), ChatMessage("assistant", PARTIAL)]
    assert continuation_messages(messages, "openai") == messages
    gemini = continuation_messages(messages, "gemini")
    assert gemini[:2] == messages and gemini[2] == ChatMessage("user", CONTINUE_INSTRUCTION)


# --- through ChatService.continue_reply -------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "continuation"),
    [
        ("openai", REST),  # llama.cpp & co: the prefix continued
        ("openai", FULL),  # OpenAI: a reply of its own, from the start
        ("gemini", "```python\n        return n + 1\n    return step\n```\n\nThat is all."),
    ],
)
def test_continue_reply_stores_the_reply_once_with_its_block_continued(
    tmp_path: Any, arun: Any, dialect: str, continuation: str
) -> None:
    from app.core.errors import IncompleteReplyError
    from app.core.services.chat import ChatService
    from app.core.store.db import Database
    from tests.core.helpers import FakeClient, collect, new_thread, text

    client = FakeClient([text(t) for t in tokenize(PARTIAL)] + [IncompleteReplyError("cut off")])
    client.then([text(t) for t in tokenize(continuation)] + [text("", finish_reason="stop")])
    client.profile.dialect = dialect  # type: ignore[attr-defined]
    db = Database.open(tmp_path / "c.db")
    try:
        service = ChatService(db, lambda _pid: client)

        async def main() -> None:
            tid = await new_thread(service.threads)
            first = (await collect(service.send(tid, "Explain closures")))[-1]
            assert first.status == "interrupted" and first.content == PARTIAL
            steps = await collect(service.continue_reply(first.assistant_message_id))
            # The view only ever sees the text grow from the partial reply.
            contents = [s.content for s in steps]
            assert all(c.startswith(PARTIAL) for c in contents)
            assert all(b.startswith(a) for a, b in itertools.pairwise(contents))
            final = steps[-1]
            assert final.status == "complete" and final.content == FULL
            stored = await service.threads.get_message(first.assistant_message_id)
            assert stored is not None and stored.content == FULL
            sent = client.calls[-1][1]
            assert sent[-1 if dialect == "openai" else -2] == ChatMessage("assistant", PARTIAL)
            if dialect == "gemini":
                assert sent[-1] == ChatMessage("user", CONTINUE_INSTRUCTION)

        arun(main())
    finally:
        db.close()


@pytest.mark.parametrize("piece", [0, 1, 4])
@pytest.mark.parametrize(
    "lead_in",
    ["Sure, here's the rest of the code:\n", "Continuing from where I stopped:\n\n", "Here is the rest:\n"],
)
def test_a_lead_in_before_the_re_opened_block_is_dropped(lead_in: str, piece: int) -> None:
    continued = lead_in + "```python\n        return n + 1\n    return step\n```\n\nThat is all."
    assert join(PARTIAL, continued, piece=piece) == FULL


def test_lines_that_only_look_like_a_lead_in_are_kept() -> None:
    # Code ending with a colon, then the fence that closes the block: all of it is code.
    prefix = "```python\nfor x in xs:\n    if x"
    assert join(prefix, " > 0:\n        print(x)\n```\n") == prefix + " > 0:\n        print(x)\n```\n"
    code = "here = 1\nprint(here)\n```\n"
    assert join(prefix + "\n", code) == prefix + "\n" + code
    # A lead-in not followed by a fence is kept as it came.
    assert join(PARTIAL, "Sure, here is more:\nnot a fence") == PARTIAL + "Sure, here is more:\nnot a fence"
    # Outside a code block nothing is dropped.
    assert join("Intro.\n\n", "Sure, here it is:\n```python\nx = 1\n```\n") == (
        "Intro.\n\nSure, here it is:\n```python\nx = 1\n```\n"
    )
