"""ChatService: streaming a reply into SQLite with journaling, errors, cancellation, recovery.

The provider client is a scripted test double: its `chat_stream` is an async generator that
yields the ChatDelta items of a script, runs the script's callables (to move the fake clock or
wait on a gate) and raises the script's exceptions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import ConfigError, KeychainError, StreamInterruptedError
from app.core.protocol.types import (
    ChatDelta,
    ChatMessage,
    GenerationParams,
    ImagePart,
    TextPart,
    ToolCallDelta,
    Usage,
)
from app.core.services.chat import ChatService, ReplyProgress
from app.core.store.db import Database
from app.core.store.threads import ThreadRepository


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def at(self, t: float) -> Callable[[], Awaitable[None]]:
        async def move() -> None:
            self.now = t

        return move


@dataclass
class Profile:
    name: str


class FakeClient:
    """A stand-in for ProviderClient whose stream plays a script."""

    def __init__(self, script: list[Any], name: str = "Fake provider") -> None:
        self.script = script
        self.profile = Profile(name)
        self.calls: list[tuple[str, list[ChatMessage], GenerationParams]] = []
        self.closed = False

    async def chat_stream(
        self, model: str, messages: list[ChatMessage], params: GenerationParams
    ) -> AsyncIterator[ChatDelta]:
        self.calls.append((model, messages, params))
        try:
            for item in self.script:
                if isinstance(item, ChatDelta):
                    yield item
                elif isinstance(item, BaseException):
                    raise item
                else:
                    await item()
        finally:
            self.closed = True


def text(s: str, **kw: Any) -> ChatDelta:
    return ChatDelta(content=s, **kw)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "chat.db")
    try:
        yield database
    finally:
        database.close()


async def collect(stream: AsyncIterator[ReplyProgress]) -> list[ReplyProgress]:
    async with aclosing(stream) as progress:
        return [p async for p in progress]


async def new_thread(repo: ThreadRepository, **kw: Any) -> int:
    kw.setdefault("profile_id", "prof")
    kw.setdefault("model", "model-a")
    return (await repo.create_thread("chat", **kw)).id


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
            ChatDelta(index=1, content="other choice is ignored"),
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
        assert [s.content_delta for s in steps[:2]] == ["Hel", ""]
        assert steps[1].reasoning == "hmm"
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
        assert len(steps) == 1 and isinstance(steps[0].error, KeychainError)
        reply = await service.threads.get_message(steps[0].assistant_message_id)
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
