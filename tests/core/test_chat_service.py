"""ChatService: streaming a reply into SQLite with journaling, errors, cancellation, recovery.

The provider client is a scripted test double: its `chat_stream` is an async generator that
yields the ChatDelta items of a script, runs the script's callables (to move the fake clock or
wait on a gate) and raises the script's exceptions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import (
    ConfigError,
    ContentBlockedError,
    KeychainError,
    RateLimitError,
    StreamInterruptedError,
)
from app.core.protocol.gemini import content_blocked_error
from app.core.protocol.types import (
    ChatDelta,
    ChatMessage,
    ChatResult,
    Choice,
    GenerationParams,
    ImagePart,
    TextPart,
    ToolCallDelta,
    Usage,
)
from app.core.services.chat import ChatService
from app.core.services.titles import clean_model_title, fallback_title, suggest_title
from app.core.store.db import Database
from tests.core.helpers import FakeClient, FakeClock, collect, new_thread, text


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "chat.db")
    try:
        yield database
    finally:
        database.close()






def test_send_streams_and_records_the_reply(db: Database, arun) -> None:
    clock = FakeClock()
    client = FakeClient(
        [
            clock.at(0.5),
            text("Hel", reasoning=""),
            ChatDelta(reasoning="hmm"),
            clock.at(1.0),
            text("lo"),
            ChatDelta(tool_calls=[ToolCallDelta(index=0, id="c1", name="look", arguments='{"a"')]),
            ChatDelta(tool_calls=[ToolCallDelta(index=0, arguments=": 1}")]),
            text("", finish_reason="stop"),
            clock.at(2.5),
            ChatDelta(usage=Usage(prompt_tokens=7, completion_tokens=10, total_tokens=17)),
        ]
    )
    asked: list[str] = []

    def client_for(profile_id: str) -> FakeClient:
        asked.append(profile_id)
        return client

    service = ChatService(db, client_for, clock=clock)
    repo = service.threads

    async def main() -> None:
        tid = await new_thread(
            repo, system_prompt="Be kind.", params=GenerationParams(temperature=0.3)
        )
        steps = await collect(service.send(tid, "Hi there"))
        assert asked == ["prof"]
        pending = steps[0]  # the reply's row exists before the first token
        assert (pending.content, pending.done, pending.status) == ("", False, "streaming")
        assert pending.assistant_message_id == steps[-1].assistant_message_id
        assert [s.content_delta for s in steps[1:3]] == ["Hel", ""]
        assert steps[2].reasoning == "hmm"
        assert all(not s.done for s in steps[:-1])
        final = steps[-1]
        assert final.done and final.error is None and final.status == "complete"
        assert (final.content, final.reasoning, final.finish_reason) == ("Hello", "hmm", "stop")
        assert final.usage == Usage(prompt_tokens=7, completion_tokens=10, total_tokens=17)

        model, messages, params = client.calls[0]
        assert model == "model-a" and params == GenerationParams(temperature=0.3)
        assert messages == [ChatMessage("system", "Be kind."), ChatMessage("user", "Hi there")]
        assert client.closed

        user = await repo.get_message(final.user_message.id)
        reply = await repo.get_message(final.assistant_message_id)
        assert user is not None and reply is not None
        assert (user.role, user.content, user.parent_id) == ("user", "Hi there", None)
        assert reply.parent_id == user.id and reply.role == "assistant"
        assert (reply.content, reply.reasoning, reply.status) == ("Hello", "hmm", "complete")
        assert (reply.profile_id, reply.model, reply.provider_name) == (
            "prof",
            "model-a",
            "Fake provider",
        )
        assert reply.params == GenerationParams(temperature=0.3)
        assert reply.usage == final.usage and reply.finish_reason == "stop"
        assert reply.tool_calls == [
            {"index": 0, "id": "c1", "type": "function", "name": "look", "arguments": '{"a": 1}'}
        ]
        assert reply.ttft_ms == pytest.approx(500.0)
        assert reply.tokens_per_s == pytest.approx(10 / 2.0)  # usage tokens over 2.5 s - 0.5 s
        assert (await repo.default_leaf(tid)).id == reply.id  # type: ignore[union-attr]

    arun(main())


def test_tool_call_name_repeated_on_every_fragment_is_kept_once(db: Database, arun) -> None:
    """Some servers repeat a tool call's name on each fragment: the stored reply has it once,
    as ChatAccumulator folds it (both use chat_accumulator.merge_tool_call_fields)."""
    client = FakeClient(
        [
            ChatDelta(tool_calls=[ToolCallDelta(index=0, id="c1", name="look", arguments='{"a"')]),
            ChatDelta(tool_calls=[ToolCallDelta(index=0, name="look", arguments=": 1}")]),
            text("", finish_reason="tool_calls"),
        ]
    )
    service = ChatService(db, lambda _pid: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        final = (await collect(service.send(tid, "Look it up")))[-1]
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None
        assert reply.tool_calls == [
            {"index": 0, "id": "c1", "type": "function", "name": "look", "arguments": '{"a": 1}'}
        ]

    arun(main())


def test_journal_interval_is_honoured(db: Database, arun) -> None:
    clock = FakeClock()
    client = FakeClient(
        [
            clock.at(0.10),
            text("a"),
            clock.at(0.30),
            text("b"),  # 0.30 since start >= 0.25: journal "ab"
            clock.at(0.50),
            text("c"),  # 0.20 since last journal: nothing
            clock.at(0.56),
            text("d"),  # 0.26: journal "abcd"
            clock.at(0.60),
            text("e"),  # only the end writes it
        ]
    )
    service = ChatService(db, lambda _: client, journal_interval=0.25, clock=clock)
    repo = service.threads

    async def main() -> None:
        tid = await new_thread(repo)
        on_disk: list[tuple[str, str]] = []
        async with aclosing(service.send(tid, "go")) as progress:
            async for step in progress:
                if step.done:
                    break
                row = await repo.get_message(step.assistant_message_id)
                assert row is not None
                on_disk.append((row.content, row.status))
        assert on_disk == [
            ("", "streaming"),  # the pending progress
            ("", "streaming"),
            ("ab", "streaming"),
            ("ab", "streaming"),
            ("abcd", "streaming"),
            ("abcd", "streaming"),
        ]
        reply = await repo.default_leaf(tid)
        assert reply is not None and (reply.content, reply.status) == ("abcde", "complete")

    arun(main())


def test_a_reply_is_on_disk_while_it_streams(db: Database, arun) -> None:
    """With interval 0, each delta is written as it arrives (what a crash would leave)."""
    seen_on_disk: list[str] = []

    async def main() -> None:
        reached = asyncio.Event()
        release = asyncio.Event()

        async def pause() -> None:
            reached.set()
            await release.wait()

        client = FakeClient([text("one "), text("two"), pause, text(" three")])
        service = ChatService(db, lambda _: client, journal_interval=0.0, clock=FakeClock())
        repo = service.threads
        tid = await new_thread(repo)
        task = asyncio.create_task(collect(service.send(tid, "count")))
        await reached.wait()  # the stream is suspended mid-reply
        leaf = await repo.default_leaf(tid)
        assert leaf is not None
        seen_on_disk.append(leaf.content)
        assert leaf.status == "streaming"
        release.set()
        steps = await task
        assert steps[-1].content == "one two three"

    arun(main())
    assert seen_on_disk == ["one two"]


def test_known_error_mid_stream_keeps_the_partial_reply(db: Database, arun) -> None:
    client = FakeClient([text("Hel"), text("lo"), StreamInterruptedError(provider_message="reset")])
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        steps = await collect(service.send(tid, "hi"))  # does not raise
        final = steps[-1]
        assert final.done and final.status == "error"
        assert isinstance(final.error, StreamInterruptedError)
        assert final.content == "Hello"
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None
        assert (reply.content, reply.status) == ("Hello", "error")
        assert reply.error == str(final.error) and "dropped" in reply.error
        assert client.closed

    arun(main())


def test_known_error_from_the_client_factory(db: Database, arun) -> None:
    def client_for(_: str) -> FakeClient:
        raise KeychainError()

    service = ChatService(db, client_for, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        steps = await collect(service.send(tid, "hi"))
        assert len(steps) == 2 and steps[0].error is None and not steps[0].done
        assert isinstance(steps[1].error, KeychainError) and steps[1].done
        reply = await service.threads.get_message(steps[1].assistant_message_id)
        assert reply is not None and reply.status == "error" and reply.content == ""
        assert "keychain" in (reply.error or "")

    arun(main())


def test_async_client_factory_is_awaited(db: Database, arun) -> None:
    client = FakeClient([text("ok")])

    async def client_for(_: str) -> FakeClient:
        return client

    service = ChatService(db, client_for, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        steps = await collect(service.send(tid, "hi"))
        assert steps[-1].content == "ok" and steps[-1].status == "complete"

    arun(main())


def test_cancellation_writes_cancelled_with_partial_text(db: Database, arun) -> None:
    async def main() -> None:
        reached = asyncio.Event()
        never = asyncio.Event()

        async def hang() -> None:
            reached.set()
            await never.wait()

        client = FakeClient([text("partial "), text("answer"), hang, text("never sent")])
        # A long interval: only the cancellation path can have written the text.
        service = ChatService(db, lambda _: client, journal_interval=3600, clock=FakeClock())
        tid = await new_thread(service.threads)
        task = asyncio.create_task(collect(service.send(tid, "hi")))
        await reached.wait()
        leaf = await service.threads.default_leaf(tid)
        assert leaf is not None and (leaf.content, leaf.status) == ("", "streaming")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        reply = await service.threads.get_message(leaf.id)
        assert reply is not None
        assert (reply.content, reply.status) == ("partial answer", "cancelled")
        assert client.closed  # the stream (and so the connection) was closed

    arun(main())


def test_closing_the_iterator_early_counts_as_cancelled(db: Database, arun) -> None:
    client = FakeClient([text("a"), text("b"), text("c")])
    service = ChatService(db, lambda _: client, journal_interval=3600, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        async with aclosing(service.send(tid, "hi")) as progress:
            async for step in progress:
                if step.content == "ab":
                    break
        reply = await service.threads.default_leaf(tid)
        assert reply is not None and (reply.content, reply.status) == ("ab", "cancelled")
        assert client.closed

    arun(main())


def test_a_bug_marks_the_row_and_propagates(db: Database, arun) -> None:
    client = FakeClient([text("x"), ZeroDivisionError("bug")])
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        with pytest.raises(ZeroDivisionError):
            await collect(service.send(tid, "hi"))
        reply = await service.threads.default_leaf(tid)
        assert reply is not None and reply.status == "error" and reply.content == "x"
        assert reply.error == "Internal error: ZeroDivisionError"

    arun(main())


def test_context_follows_the_current_branch_and_attachments(db: Database, arun) -> None:
    clients: list[FakeClient] = []

    def client_for(_: str) -> FakeClient:
        clients.append(FakeClient([text(f"answer {len(clients) + 1}")]))
        return clients[-1]

    service = ChatService(db, client_for, clock=FakeClock())
    repo = service.threads

    async def main() -> None:
        tid = await new_thread(repo)
        first = (
            await collect(
                service.send(
                    tid,
                    [
                        TextPart("see "),
                        TextPart("this"),
                        ImagePart(mime="image/png", data=b"\x89PNG"),
                    ],
                )
            )
        )[-1]
        assert first.user_message.content == "see this"
        assert first.user_message.parts == [
            {"type": "image", "mime": "image/png", "data_b64": "iVBORw=="}
        ]
        await collect(service.send(tid, "and then?"))
        _, messages, _ = clients[1].calls[0]
        assert [m.role for m in messages] == ["user", "assistant", "user"]
        assert messages[0].content == [
            TextPart("see this"),
            ImagePart(mime="image/png", data=b"\x89PNG"),
        ]
        assert messages[1] == ChatMessage("assistant", "answer 1")
        assert messages[2] == ChatMessage("user", "and then?")

        # an explicit parent starts a branch; explicit settings override the thread's
        third = (
            await collect(
                service.send(
                    tid,
                    "edited question",
                    parent_id=first.assistant_message_id,
                    profile_id="other",
                    model="model-b",
                    params=GenerationParams(seed=1),
                )
            )
        )[-1]
        model, messages, params = clients[2].calls[0]
        assert model == "model-b" and params == GenerationParams(seed=1)
        assert [m.text() for m in messages] == ["see this", "answer 1", "edited question"]
        reply = await repo.get_message(third.assistant_message_id)
        assert reply is not None and (reply.profile_id, reply.model) == ("other", "model-b")
        assert len(await repo.children(first.assistant_message_id)) == 2

    arun(main())


def test_regenerate_makes_a_sibling(db: Database, arun) -> None:
    replies = iter(["first try", "second try"])
    clients: list[FakeClient] = []

    def client_for(_: str) -> FakeClient:
        clients.append(FakeClient([text(next(replies))]))
        return clients[-1]

    service = ChatService(db, client_for, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads, system_prompt="sys")
        first = (await collect(service.send(tid, "question")))[-1]
        again = (await collect(service.regenerate(first.assistant_message_id)))[-1]
        assert again.content == "second try"
        assert again.user_message.id == first.user_message.id
        siblings = await service.threads.siblings(first.assistant_message_id)
        assert [m.content for m in siblings] == ["first try", "second try"]
        _, messages, _ = clients[1].calls[0]
        assert [m.text() for m in messages] == ["sys", "question"]
        assert (await service.threads.default_leaf(tid)).id == again.assistant_message_id  # type: ignore[union-attr]
        with pytest.raises(ValueError):
            await collect(service.regenerate(first.user_message.id))

    arun(main())


def test_missing_model_is_a_config_error_and_writes_nothing(db: Database, arun) -> None:
    service = ChatService(db, lambda _: FakeClient([]), clock=FakeClock())

    async def main() -> None:
        tid = (await service.threads.create_thread("no model", profile_id="p")).id
        with pytest.raises(ConfigError):
            await collect(service.send(tid, "hi"))
        assert await service.threads.thread_messages(tid) == []
        with pytest.raises(ValueError):
            await collect(service.send(9999, "hi"))

    arun(main())


def test_leftover_streaming_rows_become_interrupted_after_reopening(tmp_path: Path, arun) -> None:
    path = tmp_path / "crash.db"

    async def crash() -> int:
        db = Database.open(path)
        try:
            client = FakeClient([text("half a rep"), text("ly")])
            service = ChatService(db, lambda _: client, journal_interval=0.0, clock=FakeClock())
            tid = await new_thread(service.threads)
            stream = service.send(tid, "hi")
            await anext(stream)  # the pending progress
            first = await anext(stream)  # journalled; the reply is suspended: "kill" the app
            # What a killed process leaves: the journalled row, still 'streaming'.
            row = await service.threads.get_message(first.assistant_message_id)
            assert row is not None and (row.content, row.status) == ("half a rep", "streaming")
            return first.assistant_message_id
        finally:
            # Copy the file as it is now, before the generator's clean-up can mark it cancelled.
            db.run_sync(lambda conn: conn.execute(f"VACUUM INTO '{tmp_path / 'killed.db'}'"))
            await stream.aclose()
            db.close()

    reply_id = arun(crash())

    async def restart() -> None:
        db = Database.open(tmp_path / "killed.db")
        try:
            service = ChatService(db, lambda _: FakeClient([]))
            assert await service.recover_interrupted() == 1
            row = await service.threads.get_message(reply_id)
            assert row is not None and (row.content, row.status) == ("half a rep", "interrupted")
            assert await service.recover_interrupted() == 0
        finally:
            db.close()

    arun(restart())


# --- completion threads -----------------------------------------------------------------------


def test_completion_thread_sends_the_raw_text_of_the_path(db: Database, arun) -> None:
    client = FakeClient([text(" upon a time"), text("", finish_reason="stop")]).then(
        [text(" lived a cat."), text("", finish_reason="length")]
    )
    service = ChatService(db, lambda _: client, clock=FakeClock())
    repo = service.threads

    async def main() -> None:
        tid = await new_thread(repo, kind="completion", system_prompt="ignored in raw mode")
        first = (await collect(service.send(tid, "Once")))[-1]
        assert first.status == "complete" and first.content == " upon a time"
        second = (await collect(service.send(tid, " There")))[-1]
        assert client.calls == []  # never the chat endpoint
        assert [(m, p) for m, p, _ in client.prompts] == [
            ("model-a", "Once"),
            ("model-a", "Once upon a time There"),
        ]
        reply = await repo.get_message(second.assistant_message_id)
        assert reply is not None and reply.role == "assistant"
        assert reply.parent_id == second.user_message.id
        assert (reply.content, reply.finish_reason) == (" lived a cat.", "length")
        assert [m.content for m in await repo.current_path(tid)] == [
            "Once",
            " upon a time",
            " There",
            " lived a cat.",
        ]

    arun(main())


# --- several choices (n > 1) ------------------------------------------------------------------


def test_n_choices_become_sibling_alternatives(db: Database, arun) -> None:
    usage = Usage(prompt_tokens=5, completion_tokens=6, total_tokens=11)
    seen_on_disk: dict[int, str] = {}

    async def main() -> None:
        gate = asyncio.Event()
        reached = asyncio.Event()

        async def pause() -> None:
            reached.set()
            await gate.wait()

        client = FakeClient(
            [
                text("A1", index=0),
                text("B1", index=1),
                text("C1", index=2),
                text(" A2", index=0),
                text(" B2", index=1),
                pause,
                text("", index=0, finish_reason="stop"),
                text("", index=1, finish_reason="length"),
                text("", index=2, finish_reason="stop"),
                ChatDelta(usage=usage),
            ]
        )
        service = ChatService(db, lambda _: client, journal_interval=0.0, clock=FakeClock())
        repo = service.threads
        params = GenerationParams(n=3, temperature=1.0)
        tid = await new_thread(repo, params=params)
        task = asyncio.create_task(collect(service.send(tid, "three ways")))
        await reached.wait()
        for message in await repo.thread_messages(tid):
            seen_on_disk[message.id] = f"{message.content}|{message.status}"
        gate.set()
        steps = await task
        final = steps[-1]
        assert final.done and final.status == "complete"
        primary = final.assistant_message_id
        assert sorted(final.alternatives) == [1, 2]
        b, c = final.alternatives[1], final.alternatives[2]
        assert final.alternative_contents == {1: "B1 B2", 2: "C1"}
        assert final.content == "A1 A2"
        # A step of another choice adds nothing to the primary's deltas.
        assert [(s.choice_index, s.content_delta) for s in steps[1:6]] == [
            (0, "A1"),
            (1, ""),
            (2, ""),
            (0, " A2"),
            (1, ""),
        ]
        siblings = await repo.siblings(primary)
        assert [m.id for m in siblings] == [primary, b, c]
        assert [(m.content, m.status, m.finish_reason) for m in siblings] == [
            ("A1 A2", "complete", "stop"),
            ("B1 B2", "complete", "length"),
            ("C1", "complete", "stop"),
        ]
        assert all(m.params == params and m.model == "model-a" for m in siblings)
        assert siblings[0].usage == usage and siblings[1].usage is None
        assert (await repo.default_leaf(tid)).id == primary  # type: ignore[union-attr]
        # every alternative was journaled while streaming
        assert seen_on_disk[b] == "B1 B2|streaming" and seen_on_disk[c] == "C1|streaming"
        assert seen_on_disk[primary] == "A1 A2|streaming"

    arun(main())


def test_an_error_ends_every_choice_with_its_partial_text(db: Database, arun) -> None:
    client = FakeClient(
        [text("A", index=0), text("B", index=1), StreamInterruptedError(provider_message="reset")]
    )
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads, params=GenerationParams(n=2))
        final = (await collect(service.send(tid, "hi")))[-1]
        assert final.status == "error" and isinstance(final.error, StreamInterruptedError)
        rows = await service.threads.siblings(final.assistant_message_id)
        assert [(m.content, m.status) for m in rows] == [("A", "error"), ("B", "error")]
        assert all("dropped" in (m.error or "") for m in rows)

    arun(main())


# --- context window ---------------------------------------------------------------------------


def test_old_turns_are_dropped_to_fit_the_context_window(db: Database, arun) -> None:
    # Each reply costs ~104 estimated tokens; the profile says model-a has a 200-token window.
    client = FakeClient([text("r" * 400)], context_windows={"model-a": 200})
    service = ChatService(db, lambda _: client, clock=FakeClock())
    repo = service.threads

    async def main() -> None:
        tid = await new_thread(repo, system_prompt="sys")
        first = (await collect(service.send(tid, "q1")))[-1]
        assert first.dropped_turns == 0
        # reserve = max_tokens (100): the budget is 100 tokens, so only the last turn fits.
        steps = await collect(service.send(tid, "q2", params=GenerationParams(max_tokens=100)))
        _, messages, _ = client.calls[-1]
        assert [m.role for m in messages] == ["system", "user"]
        assert messages[-1].content == "q2"
        assert steps[-1].dropped_turns == 1 and steps[1].dropped_turns == 1
        # Without max_tokens the reserve is 1024 tokens: more than the window, nothing but the
        # system prompt and the last turn is sent, and the count says how many turns went.
        steps = await collect(service.send(tid, "q3"))
        _, messages, _ = client.calls[-1]
        assert [m.text() for m in messages] == ["sys", "q3"]
        assert steps[-1].dropped_turns == 2

    arun(main())


def test_a_large_window_sends_everything(db: Database, arun) -> None:
    client = FakeClient([text("answer")])
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads, model="gpt-4o")
        await collect(service.send(tid, "q1"))
        final = (await collect(service.send(tid, "q2")))[-1]
        assert final.dropped_turns == 0
        assert [m.text() for m in client.calls[-1][1]] == ["q1", "answer", "q2"]

    arun(main())


# --- filters (Gemini safety / recitation) -----------------------------------------------------


def test_a_blocked_finish_without_text_is_an_error_not_output(db: Database, arun) -> None:
    client = FakeClient([ChatDelta(finish_reason="safety")])
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        final = (await collect(service.send(tid, "something risky")))[-1]
        assert final.done and final.status == "error"
        assert isinstance(final.error, ContentBlockedError)
        assert final.content == ""
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None
        assert (reply.status, reply.content, reply.finish_reason) == ("error", "", "safety")
        assert reply.error == str(content_blocked_error("safety"))
        assert "reason: safety" in reply.error

    arun(main())


def test_a_blocked_finish_after_text_keeps_it_complete(db: Database, arun) -> None:
    client = FakeClient([text("Partial poem"), ChatDelta(finish_reason="recitation")])
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        final = (await collect(service.send(tid, "a poem")))[-1]
        assert final.status == "complete" and final.error is None
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None
        assert (reply.status, reply.content, reply.finish_reason, reply.error) == (
            "complete",
            "Partial poem",
            "recitation",
            None,
        )

    arun(main())


# --- titles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text_in", "expected"),
    [
        ("How do I parse JSON in Rust?", "How do I parse JSON in"),
        ("## **Plan** a _trip_ to `Lisbon`\nwith kids", "Plan a trip to Lisbon"),
        ("\n\n- [Read this](https://x.example) please\n", "Read this please"),
        ("> quoted question here", "quoted question here"),
        ("```python\nprint(1)\n```", "print(1)"),
        ("", "New chat"),
        ("   \n  ", "New chat"),
        ("a" * 100, "a" * 59 + "…"),
        ("Supercalifragilistic " * 2 + "words that go on and on", "Supercalifragilistic Supercalifragilistic words that go on"),
    ],
)
def test_fallback_title(text_in: str, expected: str) -> None:
    title = fallback_title(text_in)
    assert title == expected
    assert len(title) <= 60


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('"Parsing JSON in Rust."', "Parsing JSON in Rust"),
        ("Title: Trip to Lisbon", "Trip to Lisbon"),
        ("**Title:** *Trip planning*", "Trip planning"),
        ("<think>hmm, a title</think>\n\n“Kitchen Renovation Ideas”\n", "Kitchen Renovation Ideas"),
        ("", ""),
    ],
)
def test_clean_model_title(answer: str, expected: str) -> None:
    assert clean_model_title(answer) == expected


def test_suggest_title_asks_the_model_briefly(arun) -> None:
    client = FakeClient([])
    client.chat_result = ChatResult(choices=[Choice(content="Title: “Lisbon with kids.”")])
    title = arun(suggest_title(client, "model-a", "Plan a trip to Lisbon", "Sure! Day 1..."))
    assert title == "Lisbon with kids"
    model, messages, params = client.chat_calls[0]
    assert model == "model-a"
    assert params == GenerationParams(temperature=0.2, max_tokens=20)
    assert messages[0].role == "system" and "title" in messages[0].text().lower()
    assert "Plan a trip to Lisbon" in messages[-1].text() and "Day 1" in messages[-1].text()


@pytest.mark.parametrize(
    "outcome",
    [RateLimitError(), ChatResult(choices=[Choice(content="  ")]), ChatResult(choices=[])],
)
def test_suggest_title_falls_back(outcome: Any, arun) -> None:
    client = FakeClient([])
    client.chat_result = outcome
    assert arun(suggest_title(client, "m", "How do I bake bread at home today?", "x")) == (
        "How do I bake bread at"
    )


def test_auto_title_renames_a_new_chat_after_its_first_reply(db: Database, arun) -> None:
    client = FakeClient([text("Sure, here is how.")])
    client.chat_result = ChatResult(choices=[Choice(content="Baking Bread")])
    service = ChatService(db, lambda _: client, clock=FakeClock())
    repo = service.threads

    async def main() -> None:
        asked = (await repo.create_thread(profile_id="prof", model="model-a")).id
        assert await service.auto_title(asked, ask_model=True) is None  # no reply yet
        await collect(service.send(asked, "How do I bake bread at home today?"))
        assert await service.auto_title(asked, ask_model=True) == "Baking Bread"
        assert (await repo.get_thread(asked)).title == "Baking Bread"  # type: ignore[union-attr]
        assert client.chat_calls[0][0] == "model-a"
        # Only "New chat" threads are renamed.
        assert await service.auto_title(asked, ask_model=True) is None

        local = (await repo.create_thread(profile_id="prof", model="model-a")).id
        await collect(service.send(local, "How do I bake bread at home today?"))
        assert await service.auto_title(local, ask_model=False) == "How do I bake bread at"
        assert len(client.chat_calls) == 1  # not asked

        named = (await repo.create_thread("My bread", profile_id="prof", model="model-a")).id
        await collect(service.send(named, "hello"))
        assert await service.auto_title(named, ask_model=True) is None
        assert (await repo.get_thread(named)).title == "My bread"  # type: ignore[union-attr]

    arun(main())


def test_auto_title_falls_back_when_no_client(db: Database, arun) -> None:
    calls = 0

    def client_for(_: str) -> FakeClient:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise KeychainError()
        return FakeClient([text("ok")])

    service = ChatService(db, client_for, clock=FakeClock())

    async def main() -> None:
        tid = (await service.threads.create_thread(profile_id="prof", model="model-a")).id
        await collect(service.send(tid, "Compare two databases for me"))
        assert await service.auto_title(tid, ask_model=True) == "Compare two databases for me"
        assert calls == 2

    arun(main())
