"""Imports validate before they write: poisoned archives and ChatGPT exports.

Each poisoned input is refused with a sentence naming the thread, the message and the field (and
nothing is written), or repaired with a note (parent loops, self-replies, damaged images); after
each, a normal open and send of an imported thread still works. Importing the same thing twice
says so instead of duplicating.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import ConfigError
from app.core.protocol.types import ImagePart, TextPart
from app.core.services.chat import ChatService
from app.core.services.importers import MAX_DEPTH, import_archive, import_chatgpt
from app.core.store.db import Database
from app.core.store.threads import ThreadRepository
from tests.core.helpers import PNG, FakeClient, archive, entry, text


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "import.db")
    try:
        yield database
    finally:
        database.close()






def count_rows(db: Database) -> tuple[int, int]:
    return db.run_sync(
        lambda conn: (
            conn.execute("SELECT count(*) FROM threads").fetchone()[0],
            conn.execute("SELECT count(*) FROM messages").fetchone()[0],
        )
    )


async def open_and_send(db: Database, thread_id: int) -> FakeClient:
    """Open the thread as the chat tab does, then send a message and let the reply finish."""
    repo = ThreadRepository(db)
    outline, tail = await repo.open_path(thread_id, 50)
    assert outline and len(tail) == len(outline)
    for m in tail:  # every stored field reads back as its type
        assert isinstance(m.content, str) and isinstance(m.parts, list)
        if m.usage is not None:
            assert all(v is None or isinstance(v, int) for v in vars(m.usage).values())
    client = FakeClient([text("fine "), text("thanks")])
    service = ChatService(repo, lambda _pid: client)
    steps = [step async for step in service.send(thread_id, "and now?")]
    assert steps[-1].error is None, steps[-1].error
    path = await repo.current_path(thread_id)
    assert [path[-2].content, path[-1].content] == ["and now?", "fine thanks"]
    assert path[-1].status == "complete"
    return client


POISON: dict[str, tuple[Any, str]] = {}


def poison(name: str, where: str) -> Callable[[Any], Any]:
    def register(fn: Any) -> Any:
        doc = archive(entry("first"), entry("Bad one"))
        fn(doc["threads"][1])
        POISON[name] = (doc, where)
        return fn

    return register


@poison("temperature is text", "message 2 (id 2): “params.temperature” must be a number")
def _(e: dict[str, Any]) -> None:
    e["messages"][1]["params"]["temperature"] = "hot"


@poison("thread params", "“params.max_tokens” must be a whole number")
def _(e: dict[str, Any]) -> None:
    e["thread"]["params"] = {"max_tokens": 1.5}


@poison("stop of numbers", "message 2 (id 2): “params.stop” must be text or a list of texts")
def _(e: dict[str, Any]) -> None:
    e["messages"][1]["params"]["stop"] = [1, 2]


@poison("usage is text", "message 2 (id 2): “usage.prompt_tokens” must be a whole number")
def _(e: dict[str, Any]) -> None:
    e["messages"][1]["usage"]["prompt_tokens"] = "many"


@poison("usage negative", "“usage.total_tokens” must be a whole number of tokens")
def _(e: dict[str, Any]) -> None:
    e["messages"][1]["usage"]["total_tokens"] = -4


@poison("wrong role", "message 3 (id 3): “role” must be system, user or assistant")
def _(e: dict[str, Any]) -> None:
    e["messages"][2]["role"] = "robot"


@poison("wrong status", "message 2 (id 2): unknown message status “finished”")
def _(e: dict[str, Any]) -> None:
    e["messages"][1]["status"] = "finished"


@poison("content not text", "message 1 (id 1): “content” must be text")
def _(e: dict[str, Any]) -> None:
    e["messages"][0]["content"] = ["a", "list"]


@poison("tool call name", "message 2 (id 2): tool call 1: “name” must be text")
def _(e: dict[str, Any]) -> None:
    e["messages"][1]["tool_calls"][0]["name"] = {"x": 1}


@poison("parts not objects", "message 1 (id 1): “parts” must be a list of objects")
def _(e: dict[str, Any]) -> None:
    e["messages"][0]["parts"] = ["image.png"]


@poison("image mime", "message 1 (id 1): attachment 1: “mime” must be text")
def _(e: dict[str, Any]) -> None:
    e["messages"][0]["parts"][0]["mime"] = 7


@poison("lone surrogate", "thread 2 › message 3 › “content”")
def _(e: dict[str, Any]) -> None:
    e["messages"][2]["content"] = "broken \ud800 text"


@poison("surrogate in a title", "thread 2 › “thread” › “title”")
def _(e: dict[str, Any]) -> None:
    e["thread"]["title"] = "\udfff"


@pytest.mark.parametrize("name", sorted(POISON))
def test_poisoned_archive_is_refused_naming_the_place_then_the_app_works(
    db: Database, arun, name: str
) -> None:
    doc, where = POISON[name]

    async def main() -> None:
        with pytest.raises(ConfigError) as info:
            await import_archive(db, copy.deepcopy(doc))
        message = info.value.user_message
        assert where in message, message
        assert "thread 2" in message and "imported" in message
        assert count_rows(db) == (0, 0)  # all or nothing
        report = await import_archive(db, archive(entry("first")))
        await open_and_send(db, report.thread_ids[0])

    arun(main())


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


def test_huge_nesting_is_refused_from_a_file_and_from_a_document(
    db: Database, tmp_path: Path, arun
) -> None:
    deep_file = tmp_path / "deep.json"
    deep_file.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    deep_doc = archive(entry())
    deep_doc["threads"][0]["messages"][0]["parts"][0]["extra"] = _nested(200_000)

    async def main() -> None:
        for what in (import_archive, import_chatgpt):
            with pytest.raises(ConfigError, match="nested far too deeply"):
                await what(db, deep_file)
        with pytest.raises(ConfigError, match=f"more than {MAX_DEPTH} levels") as info:
            await import_archive(db, deep_doc)
        assert "thread 1 › message 1" in info.value.user_message
        with pytest.raises(ConfigError, match=f"more than {MAX_DEPTH} levels"):
            await import_chatgpt(db, [{"mapping": {}, "title": _nested(200_000)}])
        assert count_rows(db) == (0, 0)

    arun(main(), timeout=60)


def test_lone_surrogate_in_a_chatgpt_export_is_refused(db: Database, arun) -> None:
    conv = {"title": "T", "mapping": {"u": {"id": "u", "parent": None, "children": [],
            "message": {"author": {"role": "user"},
                        "content": {"content_type": "text", "parts": ["a \udc80 b"]}}}}}

    async def main() -> None:
        with pytest.raises(ConfigError, match="lone UTF-16 surrogate") as info:
            await import_chatgpt(db, [conv])
        assert "conversation 1 › “mapping” › “u”" in info.value.user_message or (
            "node 'u'" in info.value.user_message
        )
        assert count_rows(db) == (0, 0)

    arun(main())


def test_parent_loop_and_self_reply_are_kept_as_roots_with_notes(db: Database, arun) -> None:
    doc = archive(entry("Loops"))
    messages = doc["threads"][0]["messages"]
    messages[0]["parent_id"] = 3  # 1 -> 3 -> 2 -> 1: a loop
    messages.append({"id": 4, "parent_id": 4, "role": "user", "content": "me again"})

    async def main() -> None:
        report = await import_archive(db, doc)
        assert (report.threads, report.messages) == (1, 4)  # nothing dropped
        notes = " ".join(report.notes)
        assert "In “Loops”, message 1 (id 1): " not in notes  # loops are not per-field notes
        assert "message 1 was part of a loop of replies" in notes
        assert "message 4 replied to itself" in notes
        assert "kept as the start of a branch" in notes
        repo = ThreadRepository(db)
        tree = await repo.thread_tree(report.thread_ids[0])
        roots = sorted(m for m, p in tree if p is None)
        assert len(roots) == 2
        by_content = {m.content: m for m in await repo.thread_messages(report.thread_ids[0])}
        assert by_content["hi"].parent_id is None and by_content["me again"].parent_id is None
        assert by_content["more"].parent_id == by_content["hello"].id
        await open_and_send(db, report.thread_ids[0])

    arun(main())


def test_chatgpt_loops_and_self_parents_are_kept(db: Database, arun) -> None:
    def msg(role: str, body: str) -> dict[str, Any]:
        return {"author": {"role": role}, "content": {"content_type": "text", "parts": [body]}}

    conv = {
        "title": "Looping", "create_time": 5.0,
        "mapping": {
            "root": {"parent": None, "children": ["a"], "message": None},
            "a": {"parent": "root", "children": [], "message": msg("user", "reachable")},
            "x": {"parent": "y", "children": ["y"], "message": msg("user", "loop one")},
            "y": {"parent": "x", "children": ["x"], "message": msg("assistant", "loop two")},
            "s": {"parent": "s", "children": ["s"], "message": msg("user", "self")},
        },
    }

    async def main() -> None:
        report = await import_chatgpt(db, [conv])
        assert report.messages == 4
        notes = " ".join(report.notes)
        assert "In conversation 1 (“Looping”), node 'x' was part of a loop" in notes
        assert "node 's' was its own parent" in notes
        repo = ThreadRepository(db)
        contents = {m.content: m for m in await repo.thread_messages(report.thread_ids[0])}
        assert set(contents) == {"reachable", "loop one", "loop two", "self"}
        assert contents["loop two"].parent_id == contents["loop one"].id
        assert contents["self"].parent_id is None

    arun(main())


def test_damaged_image_data_is_left_out_with_a_note(db: Database, arun) -> None:
    doc = archive(entry("Pictures"))
    parts = doc["threads"][0]["messages"][0]["parts"]
    parts.append({"type": "image", "mime": "image/png", "data_b64": "not*base64!"})
    parts.append({"type": "image", "mime": "image/png", "data_b64": PNG[:-3]})  # bad padding

    async def main() -> None:
        report = await import_archive(db, doc)
        notes = " ".join(report.notes)
        assert "In “Pictures”, message 1 (id 1): attachment 2 (an image whose data is damaged)" in (
            notes
        )
        assert "attachment 3" in notes
        repo = ThreadRepository(db)
        first = (await repo.thread_messages(report.thread_ids[0]))[0]
        assert first.parts == [{"type": "image", "mime": "image/png", "data_b64": PNG}]
        client = await open_and_send(db, report.thread_ids[0])
        sent = client.calls[-1][1][0].content  # the first message, with its image
        assert isinstance(sent, list)
        assert [type(p) for p in sent] == [TextPart, ImagePart]

    arun(main())


def test_importing_the_same_file_twice_says_so(db: Database, tmp_path: Path, arun) -> None:
    path = tmp_path / "archive.json"
    path.write_text(json.dumps(archive(entry("One"), entry("Two"))), encoding="utf-8")

    async def main() -> None:
        first = await import_archive(db, path)
        assert first.threads == 2 and first.skipped == 0
        with pytest.raises(ConfigError, match="already imported") as info:
            await import_archive(db, path)
        assert "“One”, “Two”" in info.value.user_message
        assert count_rows(db) == (2, 6)
        # Reordered keys are the same content; a new thread beside them goes in alone.
        again = json.loads(path.read_text(encoding="utf-8"))
        again["threads"][0] = json.loads(json.dumps(again["threads"][0], sort_keys=True))
        again["threads"].append(entry("Three"))
        report = await import_archive(db, again)
        assert (report.threads, report.skipped) == (1, 2)
        assert "2 threads were already imported" in report.notes[0]
        # Once the imported copy is deleted, the file can be imported again.
        repo = ThreadRepository(db)
        await repo.soft_delete(first.thread_ids[0])
        report = await import_archive(db, path)
        assert (report.threads, report.skipped) == (1, 1)

    arun(main())


def test_importing_the_same_chatgpt_conversation_twice_says_so(db: Database, arun) -> None:
    conv = {"title": "Once", "mapping": {"u": {"parent": None, "children": [], "message": {
        "author": {"role": "user"}, "content": {"content_type": "text", "parts": ["hey"]}}}}}

    async def main() -> None:
        assert (await import_chatgpt(db, [conv])).threads == 1
        with pytest.raises(ConfigError, match="already imported"):
            await import_chatgpt(db, [copy.deepcopy(conv)])
        assert count_rows(db) == (1, 1)

    arun(main())
