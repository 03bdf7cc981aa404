"""ChatService tree operations: edit and resend, regenerate, retry, continue, branch navigation.

Uses the scripted FakeClient of `test_chat_service` (each stream request plays the next script).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import ServerError, StreamInterruptedError
from app.core.protocol.types import (
    ChatDelta,
    ChatMessage,
    GenerationParams,
    ImagePart,
    Usage,
)
from app.core.services.chat import ChatService
from app.core.store.db import Database
from tests.core.helpers import FakeClient, FakeClock, collect, new_thread, text


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "tree.db")
    try:
        yield database
    finally:
        database.close()


def replies(*texts: str) -> FakeClient:
    """A client whose n-th stream answers texts[n] and finishes with `stop`."""
    client = FakeClient([text(texts[0]), text("", finish_reason="stop")])
    for t in texts[1:]:
        client.then([text(t), text("", finish_reason="stop")])
    return client


async def contents(service: ChatService, thread_id: int) -> list[str]:
    return [m.content for m in await service.threads.current_path(thread_id)]


# --- edit and resend --------------------------------------------------------------------------


def test_edit_and_resend_makes_a_new_branch(db: Database, arun) -> None:
    client = replies("a1", "a2", "a2 edited")
    service = ChatService(db, lambda _: client, clock=FakeClock())
    repo = service.threads

    async def main() -> None:
        tid = await new_thread(repo)
        first = (await collect(service.send(tid, "q1")))[-1]
        second = (await collect(service.send(tid, "q2")))[-1]
        steps = await collect(service.edit_and_resend(second.user_message.id, "q2 better"))
        edited = steps[-1]
        assert steps[0].content == "" and not steps[0].done  # pending first
        assert edited.status == "complete" and edited.content == "a2 edited"
        assert edited.user_message.parent_id == first.assistant_message_id
        assert [m.content for m in await repo.siblings(second.user_message.id)] == [
            "q2",
            "q2 better",
        ]
        assert await contents(service, tid) == ["q1", "a1", "q2 better", "a2 edited"]
        assert [m.text() for m in client.calls[-1][1]] == ["q1", "a1", "q2 better"]
        # the old branch is intact
        assert [m.content for m in await repo.path_to(second.assistant_message_id)] == [
            "q1",
            "a1",
            "q2",
            "a2",
        ]

    arun(main())


def test_editing_the_first_message_adds_a_root(db: Database, arun) -> None:
    client = replies("a", "b")
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads, system_prompt="sys")
        first = (await collect(service.send(tid, "hello")))[-1]
        edited = (await collect(service.edit_and_resend(first.user_message.id, "hi")))[-1]
        assert edited.user_message.parent_id is None
        roots = await service.threads.children(None, thread_id=tid)
        assert [m.content for m in roots] == ["hello", "hi"]
        assert await contents(service, tid) == ["hi", "b"]
        assert [m.text() for m in client.calls[-1][1]] == ["sys", "hi"]
        with pytest.raises(ValueError):
            await collect(service.edit_and_resend(first.assistant_message_id, "not a user"))

    arun(main())


def test_editing_text_keeps_the_attachments(db: Database, arun) -> None:
    client = replies("seen", "seen again")
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        image = ImagePart(mime="image/png", data=b"\x89PNG")
        first = (await collect(service.send(tid, ["what is this?", image])))[-1]  # type: ignore[list-item]
        edited = (await collect(service.edit_and_resend(first.user_message.id, "and this?")))[-1]
        assert edited.user_message.parts == first.user_message.parts != []
        sent = client.calls[-1][1][-1]
        assert isinstance(sent.content, list) and image in sent.content

    arun(main())


# --- regenerate and retry ---------------------------------------------------------------------


def test_regenerate_adds_a_selected_sibling_with_a_position(db: Database, arun) -> None:
    client = replies("one", "two", "three")
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        first = (await collect(service.send(tid, "q")))[-1]
        assert await service.sibling_position(first.assistant_message_id) == (0, 1)
        second = (await collect(service.regenerate(first.assistant_message_id)))[-1]
        third = (await collect(service.regenerate(second.assistant_message_id)))[-1]
        assert await contents(service, tid) == ["q", "three"]
        assert await service.sibling_position(first.assistant_message_id) == (0, 3)
        assert await service.sibling_position(third.assistant_message_id) == (2, 3)
        assert await service.sibling_position(first.user_message.id) == (0, 1)
        with pytest.raises(ValueError):
            await service.sibling_position(999)

    arun(main())


def test_retry_replaces_an_errored_reply_with_a_sibling(db: Database, arun) -> None:
    client = FakeClient([text("half"), ServerError(provider_message="boom")]).then(
        [text("whole answer"), text("", finish_reason="stop")]
    )
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        failed = (await collect(service.send(tid, "q")))[-1]
        assert failed.status == "error"
        retried = (await collect(service.retry(failed.assistant_message_id)))[-1]
        assert retried.status == "complete" and retried.content == "whole answer"
        siblings = await service.threads.siblings(failed.assistant_message_id)
        assert [(m.content, m.status) for m in siblings] == [
            ("half", "error"),
            ("whole answer", "complete"),
        ]
        # the failed partial text is not sent back to the model
        assert [m.text() for m in client.calls[-1][1]] == ["q"]
        assert await contents(service, tid) == ["q", "whole answer"]

    arun(main())


# --- branch navigation and deletion -----------------------------------------------------------


def test_select_sibling_shows_that_branch_down_to_its_leaf(db: Database, arun) -> None:
    client = replies("a1", "a2", "b1")
    service = ChatService(db, lambda _: client, clock=FakeClock())
    repo = service.threads

    async def main() -> None:
        tid = await new_thread(repo)
        first = (await collect(service.send(tid, "q1")))[-1]
        await collect(service.send(tid, "q2"))
        other = (await collect(service.regenerate(first.assistant_message_id)))[-1]
        assert await contents(service, tid) == ["q1", "b1"]
        leaf = await service.select_sibling(tid, first.assistant_message_id)
        assert leaf.content == "a2"
        assert await contents(service, tid) == ["q1", "a1", "q2", "a2"]
        assert (await repo.get_thread(tid)).selected_leaf_id == leaf.id  # type: ignore[union-attr]
        leaf = await service.select_sibling(tid, other.assistant_message_id)
        assert leaf.id == other.assistant_message_id
        assert await contents(service, tid) == ["q1", "b1"]
        other_thread = await new_thread(repo)
        with pytest.raises(ValueError):
            await service.select_sibling(other_thread, first.assistant_message_id)

    arun(main())


def test_delete_branch_falls_back_to_a_remaining_sibling(db: Database, arun) -> None:
    client = replies("a1", "a2", "b1")
    service = ChatService(db, lambda _: client, clock=FakeClock())
    repo = service.threads

    async def main() -> None:
        tid = await new_thread(repo)
        first = (await collect(service.send(tid, "q1")))[-1]
        await collect(service.send(tid, "q2"))
        await service.select_sibling(tid, first.assistant_message_id)
        # the shown branch: a1 -> q2 -> a2 (3 messages)
        assert await service.delete_branch(first.assistant_message_id) == 3
        assert await contents(service, tid) == ["q1"]
        other = (await collect(service.send(tid, "again")))[-1]
        assert await service.delete_branch(other.user_message.id) == 2
        assert await contents(service, tid) == ["q1"]
        assert await service.delete_branch(12345) == 0

    arun(main())


def test_a_streaming_branch_cannot_be_deleted(db: Database, arun) -> None:
    async def main() -> None:
        reached = asyncio.Event()
        release = asyncio.Event()

        async def pause() -> None:
            reached.set()
            await release.wait()

        client = FakeClient([text("x"), pause, text("y")])
        service = ChatService(db, lambda _: client, clock=FakeClock())
        tid = await new_thread(service.threads)
        task = asyncio.create_task(collect(service.send(tid, "q")))
        await reached.wait()
        leaf = await service.threads.default_leaf(tid)
        assert leaf is not None and service.is_streaming(leaf.id)
        with pytest.raises(ValueError):
            await service.delete_branch(leaf.parent_id)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await collect(service.continue_reply(leaf.id))
        release.set()
        assert (await task)[-1].content == "xy"
        assert not service.is_streaming(leaf.id)
        assert await service.delete_branch(leaf.parent_id) == 2  # type: ignore[arg-type]

    arun(main())


# --- continue ---------------------------------------------------------------------------------


def test_continue_appends_to_a_reply_cut_by_length(db: Database, arun) -> None:
    on_disk: list[str] = []

    async def main() -> None:
        reached = asyncio.Event()
        release = asyncio.Event()

        async def pause() -> None:
            reached.set()
            await release.wait()

        client = FakeClient(
            [
                text("The answer is"),
                text("", finish_reason="length"),
                ChatDelta(usage=Usage(prompt_tokens=10, completion_tokens=3, total_tokens=13)),
            ]
        ).then(
            [
                text(" forty"),
                pause,
                text("-two."),
                text("", finish_reason="stop"),
                ChatDelta(usage=Usage(prompt_tokens=14, completion_tokens=2, total_tokens=16)),
            ]
        )
        service = ChatService(db, lambda _: client, journal_interval=0.0, clock=FakeClock())
        repo = service.threads
        params = GenerationParams(max_tokens=3, n=2)
        tid = await new_thread(repo, system_prompt="sys", params=params)
        cut = (await collect(service.send(tid, "What is it?")))[-1]
        assert cut.finish_reason == "length" and cut.status == "complete"

        task = asyncio.create_task(collect(service.continue_reply(cut.assistant_message_id)))
        await reached.wait()
        row = await repo.get_message(cut.assistant_message_id)
        assert row is not None
        on_disk.append(f"{row.content}|{row.status}")
        release.set()
        steps = await task
        final = steps[-1]
        assert final.assistant_message_id == cut.assistant_message_id
        assert final.user_message.id == cut.user_message.id
        assert steps[0].content == "The answer is" and not steps[0].done
        assert [s.content_delta for s in steps[1:3]] == [" forty", "-two."]
        assert final.content == "The answer is forty-two." and final.status == "complete"

        # the request: the path with the partial reply as the last assistant message
        _, messages, sent_params = client.calls[-1]
        assert messages == [
            ChatMessage("system", "sys"),
            ChatMessage("user", "What is it?"),
            ChatMessage("assistant", "The answer is"),
        ]
        assert sent_params == GenerationParams(max_tokens=3)  # one choice only

        reply = await repo.get_message(cut.assistant_message_id)
        assert reply is not None
        assert (reply.content, reply.status, reply.finish_reason) == (
            "The answer is forty-two.",
            "complete",
            "stop",
        )
        assert reply.usage == Usage(prompt_tokens=14, completion_tokens=5, total_tokens=19)
        assert len(await repo.siblings(reply.id)) == 1  # no new message
        assert await contents(service, tid) == ["What is it?", "The answer is forty-two."]

    arun(main())
    assert on_disk == ["The answer is forty|streaming"]


@pytest.mark.parametrize("failure", ["error", "cancelled"])
def test_continue_a_stopped_reply(db: Database, arun, failure: str) -> None:
    async def main() -> None:
        first: list[Any] = [text("Partial")]
        if failure == "error":
            first.append(StreamInterruptedError())
        client = FakeClient(first).then([text(" and the rest.")])
        service = ChatService(db, lambda _: client, clock=FakeClock())
        tid = await new_thread(service.threads)
        if failure == "error":
            stopped = (await collect(service.send(tid, "q")))[-1]
            reply_id = stopped.assistant_message_id
        else:
            async with aclosing(service.send(tid, "q")) as progress:
                async for step in progress:
                    if step.content:
                        reply_id = step.assistant_message_id
                        break
        row = await service.threads.get_message(reply_id)
        assert row is not None and (row.content, row.status) == ("Partial", failure)
        final = (await collect(service.continue_reply(reply_id)))[-1]
        assert final.content == "Partial and the rest."
        row = await service.threads.get_message(reply_id)
        assert row is not None
        assert (row.content, row.status, row.error) == ("Partial and the rest.", "complete", None)

    arun(main())


def test_continue_refuses_a_finished_reply(db: Database, arun) -> None:
    client = replies("done")
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        done = (await collect(service.send(tid, "q")))[-1]
        with pytest.raises(ValueError):
            await collect(service.continue_reply(done.assistant_message_id))
        with pytest.raises(ValueError):
            await collect(service.continue_reply(done.user_message.id))

    arun(main())


def test_continue_cancelled_again_keeps_all_the_text(db: Database, arun) -> None:
    async def main() -> None:
        reached = asyncio.Event()
        never = asyncio.Event()

        async def hang() -> None:
            reached.set()
            await never.wait()

        client = FakeClient([text("one"), text("", finish_reason="length")]).then(
            [text(" two"), hang]
        )
        service = ChatService(db, lambda _: client, journal_interval=3600, clock=FakeClock())
        tid = await new_thread(service.threads)
        cut = (await collect(service.send(tid, "count")))[-1]
        task = asyncio.create_task(collect(service.continue_reply(cut.assistant_message_id)))
        await reached.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        row = await service.threads.get_message(cut.assistant_message_id)
        assert row is not None and (row.content, row.status) == ("one two", "cancelled")

    arun(main())


def test_continue_in_a_completion_thread_reprompts_with_the_text_so_far(
    db: Database, arun
) -> None:
    client = FakeClient([text(" was a"), text("", finish_reason="length")]).then(
        [text(" king."), text("", finish_reason="stop")]
    )
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads, kind="completion")
        cut = (await collect(service.send(tid, "There")))[-1]
        final = (await collect(service.continue_reply(cut.assistant_message_id)))[-1]
        assert [p for _, p, _ in client.prompts] == ["There", "There was a"]
        assert final.content == " was a king." and final.finish_reason == "stop"
        assert await contents(service, tid) == ["There", " was a king."]

    arun(main())
