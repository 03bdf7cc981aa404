"""ChatService at its edges: one fold (ChatAccumulator), cut-off streams, client notices, and
write failures while a reply streams (a full disk, a value over SQLite's size limit).

The disk is filled for real: SQLite's `max_page_count` makes the database file refuse to grow,
which SQLite reports exactly as on a full disk ("database or disk is full"); the size limit is
the connection's own `SQLITE_LIMIT_LENGTH`, lowered. The client is the scripted FakeClient of
test_chat_service (the demo server produces neither a cut-off nor a notice yet).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import IncompleteReplyError, StorageError, StreamInterruptedError
from app.core.protocol import chat_accumulator as accumulator_module
from app.core.protocol.chat_accumulator import ChatAccumulator
from app.core.protocol.types import ChatDelta, StreamNotice, ToolCallDelta
from app.core.services.chat import TOO_BIG_SENTENCE, ChatService
from app.core.store.db import Database
from tests.core.helpers import FakeClient, FakeClock, collect, new_thread, text


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "chat.db")
    try:
        yield database
    finally:
        database.close()


# --- one fold -----------------------------------------------------------------------------------


def test_the_reply_is_folded_by_the_chat_accumulator(
    db: Database, arun: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every delta goes through ChatAccumulator, and what is stored is what it folded."""
    folded: list[ChatAccumulator] = []

    class Spy(ChatAccumulator):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[ChatDelta] = []
            folded.append(self)

        def add(self, delta: ChatDelta) -> None:
            self.seen.append(delta)
            super().add(delta)

    # The service imports the fold where a reply first needs it: patch it at its source.
    monkeypatch.setattr(accumulator_module, "ChatAccumulator", Spy)
    deltas = [
        text("Hel"),
        ChatDelta(reasoning="think"),
        ChatDelta(tool_calls=[ToolCallDelta(index=0, id="c1", name="f", arguments="{")]),
        ChatDelta(tool_calls=[ToolCallDelta(index=0, arguments="}")]),
        text("lo", finish_reason="stop"),
    ]
    client = FakeClient(list(deltas))
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        final = (await collect(service.send(tid, "hi")))[-1]
        assert len(folded) == 1 and folded[0].seen == deltas
        choice = folded[0].result().choices[0]
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None
        assert (reply.content, reply.reasoning, reply.finish_reason) == (
            choice.content,
            choice.reasoning,
            choice.finish_reason,
        ) == ("Hello", "think", "stop")
        assert reply.tool_calls == [
            {"index": 0, "id": "c1", "type": "function", "name": "f", "arguments": "{}"}
        ]

    arun(main())


def test_a_continue_seeds_the_fold_with_the_stored_reply(db: Database, arun: Any) -> None:
    client = FakeClient([text("Half"), IncompleteReplyError()]).then(
        [text(" and the rest"), text("", finish_reason="stop")]
    )
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        first = (await collect(service.send(tid, "hi")))[-1]
        steps = await collect(service.continue_reply(first.assistant_message_id))
        assert steps[0].content == "Half"  # the pending step already shows the earlier text
        assert steps[-1].content == "Half and the rest" and steps[-1].status == "complete"
        reply = await service.threads.get_message(first.assistant_message_id)
        assert reply is not None and (reply.content, reply.status) == ("Half and the rest", "complete")

    arun(main())


# --- cut-off streams ----------------------------------------------------------------------------


def test_a_cut_off_stream_is_stored_interrupted_with_its_text(db: Database, arun: Any) -> None:
    client = FakeClient([text("A river "), text("is"), IncompleteReplyError()])
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        final = (await collect(service.send(tid, "Rivers?")))[-1]
        assert final.done and final.status == "interrupted"
        assert isinstance(final.error, IncompleteReplyError) and final.saved
        assert final.content == "A river is"
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None
        assert (reply.content, reply.status) == ("A river is", "interrupted")
        assert reply.error == str(IncompleteReplyError())
        assert "connection ended before the reply finished" in reply.error
        assert client.closed

    arun(main())


def test_a_drop_after_output_keeps_its_text_as_an_error(db: Database, arun: Any) -> None:
    client = FakeClient([text("Partial"), StreamInterruptedError()])
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        final = (await collect(service.send(tid, "hi")))[-1]
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None and (reply.content, reply.status) == ("Partial", "error")

    arun(main())


# --- notices ------------------------------------------------------------------------------------


def test_notices_reach_the_progress_until_text_arrives(db: Database, arun: Any) -> None:
    retrying = StreamNotice("retrying", attempt=2, max_attempts=3, delay_s=1.5, reason="rate limited")
    unstreamed = StreamNotice("unstreamed")
    client = FakeClient(
        [
            ChatDelta(notice=retrying),
            ChatDelta(notice=unstreamed),
            text("The whole reply"),
            text("", finish_reason="stop"),
        ]
    )
    service = ChatService(db, lambda _: client, clock=FakeClock())

    async def main() -> None:
        tid = await new_thread(service.threads)
        steps = await collect(service.send(tid, "hi"))
        assert [s.notice for s in steps] == [None, retrying, unstreamed, None, None, None]
        assert steps[1].content == "" and not steps[1].done
        final = steps[-1]
        assert final.status == "complete" and final.alternatives == {}
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None and reply.content == "The whole reply"
        assert len(await service.threads.thread_messages(tid)) == 2  # a notice makes no row

    arun(main())


# --- write failures while streaming -------------------------------------------------------------


def _fill_disk(db: Database, spare_pages: int) -> None:
    """Let the database file grow by `spare_pages` pages only: past them SQLite answers as on a
    full disk."""

    def cap(conn: sqlite3.Connection) -> None:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + spare_pages}")

    db.run_sync(cap)


def _free_disk(db: Database) -> None:
    db.run_sync(lambda conn: conn.execute("PRAGMA max_page_count = 1073741823"))


def test_a_full_disk_mid_stream_ends_the_reply_as_error_with_its_text(
    db: Database, arun: Any
) -> None:
    clock = FakeClock()
    big = "b" * 400_000
    client = FakeClient(
        [clock.at(1.0), text("a" * 10), clock.at(2.0), text(big), clock.at(3.0), text("c")]
    ).then([text("Fine again", finish_reason="stop")])
    service = ChatService(db, lambda _: client, clock=clock)

    async def main() -> None:
        tid = await new_thread(service.threads)
        _fill_disk(db, spare_pages=8)
        steps = await collect(service.send(tid, "hi"))  # does not raise
        final = steps[-1]
        assert final.done and final.status == "error" and not final.saved
        assert isinstance(final.error, StorageError) and "disk is full" in str(final.error)
        assert final.content == "a" * 10 + big  # the whole text, in memory, for the view
        assert client.closed
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None
        # Never left `streaming`: the status and the sentence fit, the text as far as journaled.
        assert reply.status == "error" and reply.error == str(final.error)
        assert reply.content == "a" * 10

        _free_disk(db)  # space was freed: the next reply is recorded normally
        again = (await collect(service.send(tid, "again")))[-1]
        assert again.status == "complete" and again.saved

    arun(main())


def test_a_value_over_the_size_limit_ends_the_reply_as_error(db: Database, arun: Any) -> None:
    clock = FakeClock()
    client = FakeClient(
        [clock.at(1.0), text("x" * 1000), clock.at(2.0), text("y" * 30_000), text("z")]
    )
    service = ChatService(db, lambda _: client, clock=clock)

    async def main() -> None:
        tid = await new_thread(service.threads)
        db.run_sync(lambda conn: conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 20_000))
        final = (await collect(service.send(tid, "hi")))[-1]  # no sqlite3.DataError escapes
        assert final.done and final.status == "error" and not final.saved
        assert isinstance(final.error, StorageError)
        assert final.error.user_message == TOO_BIG_SENTENCE
        assert final.content == "x" * 1000 + "y" * 30_000  # the failed write ended the stream
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None
        assert (reply.status, reply.content) == ("error", "x" * 1000)
        assert reply.error is not None and reply.error.startswith(TOO_BIG_SENTENCE)

    arun(main())


def test_a_final_write_over_the_size_limit_is_an_error_not_complete(
    db: Database, arun: Any
) -> None:
    """No journal happened (long interval): the final record itself is too large."""
    client = FakeClient([text("w" * 30_000), text("", finish_reason="stop")])
    service = ChatService(db, lambda _: client, clock=FakeClock(), journal_interval=60.0)

    async def main() -> None:
        tid = await new_thread(service.threads)
        db.run_sync(lambda conn: conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 20_000))
        final = (await collect(service.send(tid, "hi")))[-1]
        assert (final.status, final.saved, final.content) == ("error", False, "w" * 30_000)
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None and (reply.status, reply.content) == ("error", "")

    arun(main())


class FailingDatabase(Database):
    """A database whose every call fails as on a full disk while `full` is set."""

    full = False

    async def run(self, fn: Any, *args: Any) -> Any:
        if self.full:
            raise StorageError(
                "The disk is full, so the database could not be written. Free some disk "
                "space and try again; nothing already saved was lost."
            )
        return await super().run(fn, *args)


def test_a_database_that_refuses_every_write_still_ends_the_stream(
    tmp_path: Path, arun: Any
) -> None:
    clock = FakeClock()
    database = FailingDatabase.open(tmp_path / "full.db")

    async def fill_the_disk() -> None:
        database.full = True

    client = FakeClient(
        [clock.at(1.0), text("kept "), fill_the_disk, clock.at(2.0), text("in memory")]
    )
    try:
        service = ChatService(database, lambda _: client, clock=clock)

        async def main() -> None:
            tid = await new_thread(service.threads)
            final = (await collect(service.send(tid, "hi")))[-1]
            assert final.done and final.status == "error" and not final.saved
            assert final.content == "kept in memory" and client.closed
            assert isinstance(final.error, StorageError)
            assert not service.is_streaming(final.assistant_message_id)
            database.full = False
            # What the next start does with a row nothing could update.
            assert await service.recover_interrupted() == 1
            reply = await service.threads.get_message(final.assistant_message_id)
            assert reply is not None and (reply.status, reply.content) == ("interrupted", "kept ")

        arun(main())
    finally:
        database.close()


# --- the same, end to end: the real client against the demo server on loopback ------------------

KEY = "sk-failures-e2e-secret"


@pytest.fixture
def demo() -> Iterator[Any]:
    from app.core.demo import DemoServer

    with DemoServer(api_key=KEY, token_rate=0) as server:
        yield server


async def _with_demo_client(demo: Any, db: Database, scenario: Any) -> None:
    import dataclasses

    from app.core.client import ProviderClient

    openai = next(p for p in demo.profiles() if p.id == "demo-openai")
    profile = dataclasses.replace(openai, max_retries=0)
    async with ProviderClient(profile, KEY) as client:
        service = ChatService(db, lambda _: client, journal_interval=0.0)
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        await scenario(service, thread.id)


@pytest.mark.e2e
def test_a_full_disk_while_a_real_stream_arrives(demo: Any, db: Database, arun: Any) -> None:
    async def scenario(service: ChatService, tid: int) -> None:
        _fill_disk(db, spare_pages=8)
        final = (await collect(service.send(tid, "Write 20000 tokens about rivers")))[-1]
        assert final.done and final.status == "error" and not final.saved
        assert isinstance(final.error, StorageError) and "disk is full" in str(final.error)
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None and reply.status == "error"
        assert final.content.startswith(reply.content) and len(final.content) > len(reply.content)

    arun(_with_demo_client(demo, db, scenario), timeout=30)


@pytest.mark.e2e
def test_a_real_reply_over_the_size_limit(demo: Any, db: Database, arun: Any) -> None:
    async def scenario(service: ChatService, tid: int) -> None:
        db.run_sync(lambda conn: conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 20_000))
        final = (await collect(service.send(tid, "Write 5000 tokens about harbours")))[-1]
        assert (final.status, final.saved) == ("error", False)
        assert isinstance(final.error, StorageError)
        assert final.error.user_message == TOO_BIG_SENTENCE
        # (The limit applies to a whole row's record, so the text stops a little short of it.)
        assert len(final.content) > 15_000
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None and reply.status == "error"  # not left "streaming"
        assert final.content.startswith(reply.content) and len(reply.content) < len(final.content)

    arun(_with_demo_client(demo, db, scenario), timeout=30)


def test_the_accumulator_gives_one_choice_so_far() -> None:
    acc = ChatAccumulator()
    assert acc.choice(0).content == "" and acc.choice(3).index == 3  # nothing yet
    acc.add(text("Hel"))
    acc.add(text("lo", index=1))
    assert acc.choice(0).content == "Hel"
    acc.add(text("lo"))
    assert (acc.choice(0).content, acc.choice(1).content) == ("Hello", "lo")
    assert acc.choice(0).content == "Hello"  # asking again changes nothing
    acc.add(text("!", finish_reason="stop"))
    assert acc.result().choices[0].content == "Hello!" and acc.choice(0).finish_reason == "stop"


def test_a_reply_stopped_on_a_full_disk_is_still_marked_cancelled(db: Database, arun: Any) -> None:
    """Stop while the disk is full: the text does not fit, the status still does."""
    clock = FakeClock()
    gate = asyncio.Event()

    async def hold() -> None:
        await gate.wait()

    client = FakeClient([clock.at(1.0), text("x" * 100), text("y" * 200_000), hold])
    service = ChatService(db, lambda _: client, clock=clock, journal_interval=60.0)

    async def main() -> None:
        tid = await new_thread(service.threads)
        steps: list[Any] = []

        async def consume() -> None:
            async with aclosing(service.send(tid, "hi")) as progress:
                async for step in progress:
                    steps.append(step)
                    if step.content.endswith("y"):
                        started.set()

        started = asyncio.Event()
        task = asyncio.ensure_future(consume())
        await started.wait()
        _fill_disk(db, spare_pages=0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        reply = await service.threads.get_message(steps[0].assistant_message_id)
        assert reply is not None and reply.status == "cancelled"  # not left "streaming"

    arun(main())
