"""Exports (Markdown, HTML, lossless JSON), archive import and ChatGPT import."""

from __future__ import annotations

import base64
import dataclasses
import errno
import json
import os
import re
import sqlite3
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import (
    ConfigError,
    StorageError,
    forget_secret,
    redact,
    register_secret,
)
from app.core.protocol.types import GenerationParams, Usage
from app.core.services import export, importers
from app.core.services.export import (
    archive_to_json,
    export_archive,
    export_thread,
    render_markdown_safe,
    thread_to_html,
    thread_to_json,
    thread_to_markdown,
)
from app.core.services.importers import ImportReport, import_archive, import_chatgpt
from app.core.store.db import Database
from app.core.store.records import Message, Thread
from app.core.store.threads import ThreadRepository

CHATGPT = Path(__file__).resolve().parent.parent / "fixtures" / "chatgpt" / "conversations.json"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n fake image bytes").decode("ascii")
XSS = "<img src=x onerror=alert(1)> and <script>alert('x')</script>"
FAKE_KEY = "sk-test-9f8e7d6c5b4a39281706"


class StepClock:
    """Advances one second per reading, so every timestamp differs and is predictable."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def open_db(path: Path) -> Iterator[Database]:
    database = Database.open(path)
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    yield from open_db(tmp_path / "source.db")


@pytest.fixture
def db2(tmp_path: Path) -> Iterator[Database]:
    yield from open_db(tmp_path / "target.db")


@pytest.fixture
def repo(db: Database) -> ThreadRepository:
    return ThreadRepository(db, clock=StepClock())


@pytest.fixture
def repo2(db2: Database) -> ThreadRepository:
    return ThreadRepository(db2, clock=StepClock(1_800_000_000.0))


async def build_history(repo: ThreadRepository) -> dict[str, Any]:
    """Threads using every field: branches, attachments, reasoning, usage, errors, flags."""
    t1 = await repo.create_thread(
        "Trip <plans> & more",
        profile_id="openai-main",
        model="gpt-4o",
        system_prompt="Be brief.\nAnswer in English.",
        params=GenerationParams(temperature=0.3, stop=["END"], max_tokens=500, seed=7),
    )
    u1 = await repo.add_message(
        t1.id, None, "user", "Where should I go in May?",
        parts=[{"type": "image", "mime": "image/png", "data_b64": PNG}],
    )
    a1 = await repo.add_message(
        t1.id, u1.id, "assistant",
        "Try **Lisbon**.\n\n```python\nprint('<hi>')\n```",
        reasoning="The user wants a spring destination.",
        profile_id="openai-main", provider_name="OpenAI", model="gpt-4o",
        params=GenerationParams(temperature=0.3, top_p=0.9, logit_bias={"50256": -100.0}),
        usage=Usage(prompt_tokens=10, completion_tokens=20, total_tokens=30, reasoning_tokens=5),
        finish_reason="stop",
    )
    a1 = await repo.update_message(
        a1.id, ttft_ms=123.5, tokens_per_s=42.25,
        tool_calls=[{"index": 0, "id": "call_1", "type": "function", "name": "weather",
                     "arguments": "{\"city\": \"Lisbon\"}"}],
    )
    a1b = await repo.add_message(
        t1.id, u1.id, "assistant", "Maybe Porto.",
        profile_id="local", provider_name="Ollama", model="llama3.1:8b",
        status="error", error="The provider had an internal error.",
    )
    u2 = await repo.add_message(t1.id, a1.id, "user", XSS)
    a2 = await repo.add_message(
        t1.id, u2.id, "assistant", "Partial answ", model="gpt-4o", status="interrupted"
    )
    refused = await repo.add_message(t1.id, u2.id, "assistant", "", model="gpt-4o")
    refused = await repo.update_message(refused.id, refusal="I can't help with that.")
    u0 = await repo.add_message(t1.id, None, "user", "A second root: an edited first question")
    await repo.select_leaf(t1.id, a2.id)

    t2 = await repo.create_thread("Story", kind="completion", model="llama3.1:8b")
    s1 = await repo.add_message(t2.id, None, "user", "Once upon a time")
    s2 = await repo.add_message(t2.id, s1.id, "assistant", " there was", status="streaming")
    await repo.set_pinned(t2.id, True)
    await repo.set_archived(t2.id, True)

    t3 = await repo.create_thread("Empty chat")
    gone = await repo.create_thread("Deleted chat")
    await repo.add_message(gone.id, None, "user", "bye")
    await repo.soft_delete(gone.id)
    return {
        "threads": [t1.id, t2.id, t3.id], "deleted": gone.id, "a2": a2.id, "a1b": a1b.id,
        "u0": u0.id, "refused": refused.id, "s2": s2.id,
    }


async def snapshot(repo: ThreadRepository) -> list[tuple[Thread, list[Message]]]:
    threads = sorted(await repo.list_threads(include_archived=True), key=lambda t: t.id)
    return [(t, await repo.thread_messages(t.id)) for t in threads]


def assert_same_history(
    old: list[tuple[Thread, list[Message]]], new: list[tuple[Thread, list[Message]]]
) -> None:
    """Every field equal except ids; the same tree (parent links) and selected leaf."""
    assert len(new) == len(old)
    for (old_t, old_ms), (new_t, new_ms) in zip(old, new):
        assert len(new_ms) == len(old_ms)
        ids = {o.id: n.id for o, n in zip(old_ms, new_ms)}
        assert dataclasses.replace(new_t, id=0, selected_leaf_id=None) == dataclasses.replace(
            old_t, id=0, selected_leaf_id=None
        )
        expected_leaf = None if old_t.selected_leaf_id is None else ids[old_t.selected_leaf_id]
        assert new_t.selected_leaf_id == expected_leaf
        for o, n in zip(old_ms, new_ms):
            assert n.thread_id == new_t.id
            assert dataclasses.replace(n, id=0, thread_id=0, parent_id=None) == dataclasses.replace(
                o, id=0, thread_id=0, parent_id=None
            )
        old_shape = {ids[o.id]: (None if o.parent_id is None else ids[o.parent_id]) for o in old_ms}
        new_shape = {n.id: n.parent_id for n in new_ms}
        assert new_shape == old_shape


async def count_rows(db: Database) -> tuple[int, int]:
    def count(conn: sqlite3.Connection) -> tuple[int, int]:
        threads = conn.execute("SELECT count(*) FROM threads").fetchone()[0]
        messages = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        return int(threads), int(messages)

    return await db.run(count)


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_safe_html(document: str) -> None:
    parser = TagCollector()
    parser.feed(document)
    parser.close()
    assert parser.tags, "no markup parsed"
    for tag, attrs in parser.tags:
        assert tag not in ("script", "iframe", "object", "embed", "link", "base", "form"), tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            if name in ("src", "srcset", "poster", "background"):
                assert (value or "").startswith("data:image/"), (tag, name, value)
            if name == "href":
                assert re.match(r"^(https?:|mailto:|#)", value or ""), (tag, value)
    assert "<script" not in document.lower()


# --- Markdown and HTML ------------------------------------------------------------------------


def test_markdown_has_title_models_reasoning_and_code(repo: ThreadRepository, arun) -> None:
    async def main() -> None:
        ids = await build_history(repo)
        thread = await repo.get_thread(ids["threads"][0])
        assert thread is not None
        path = await repo.current_path(thread.id)
        assert path[-1].id == ids["a2"]
        text = thread_to_markdown(thread, path)
        assert text.startswith("# Trip <plans> & more\n")
        assert "> Be brief.\n> Answer in English." in text
        assert "## You\n\n*[image attachment]*\n\nWhere should I go in May?" in text
        assert "## Assistant · gpt-4o" in text
        reasoning = "<details><summary>Reasoning</summary>\n\nThe user wants a spring destination."
        assert reasoning in text
        assert "```python\nprint('<hi>')\n```" in text
        assert '*Called `weather`:*\n\n```json\n{"city": "Lisbon"}\n```' in text
        assert XSS in text  # Markdown is text: the user's words are kept as typed
        assert "Partial answ\n\n*The reply is incomplete (interrupted).*" in text
        assert "Maybe Porto" not in text  # another branch

    arun(main())


def test_html_is_standalone_escaped_and_script_free(repo: ThreadRepository, arun) -> None:
    async def main() -> None:
        ids = await build_history(repo)
        thread = await repo.get_thread(ids["threads"][0])
        assert thread is not None
        path = await repo.path_to(ids["refused"])
        document = thread_to_html(thread, path)
        assert_safe_html(document)
        assert document.startswith("<!DOCTYPE html>")
        assert "<title>Trip &lt;plans&gt; &amp; more</title>" in document
        assert "&lt;img src=x onerror=alert(1)&gt; and &lt;script&gt;" in document
        assert "<img src=x" not in document
        assert "Where should I go in May?" in document
        assert "<strong>Lisbon</strong>" in document
        assert "&lt;hi&gt;" in document  # code block, escaped and highlighted
        assert "codehilite" in document
        assert "The user wants a spring destination." in document
        assert "<details><summary>Reasoning</summary>" in document
        assert "Refused: I can&#x27;t help with that." in document
        assert f'src="data:image/png;base64,{PNG}"' in document
        assert "Content-Security-Policy" in document and "default-src 'none'" in document
        assert "gpt-4o" in document

    arun(main())


def test_html_neutralises_markdown_links_and_remote_images() -> None:
    thread = Thread(id=1, title="<script>alert(1)</script>")
    reply = Message(
        id=2, thread_id=1, parent_id=None, role="assistant", model="m<b>",
        content=(
            "[click](javascript:alert(1)) [enc](&#106;avascript:alert(1)) "
            "[ok](https://example.org/page) ![pixel](https://tracker.example/p.png)\n\n"
            "<div onclick=\"steal()\">raw</div>\n\n<iframe src=\"https://evil.example\"></iframe>"
        ),
        parts=[{"type": "image", "mime": "text/html", "data_b64": "PHNjcmlwdD4="},
               {"type": "image", "mime": "image/png", "url": "javascript:alert(1)"}],
    )
    document = thread_to_html(thread, [reply])
    assert_safe_html(document)
    assert "javascript:" not in document
    assert "tracker.example" not in document
    assert "[image: pixel]" in document
    link = '<a href="https://example.org/page" rel="noopener noreferrer nofollow">ok</a>'
    assert link in document
    assert "&lt;div onclick=\"steal()\"&gt;raw&lt;/div&gt;" in document
    assert "&lt;iframe" in document
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>" in document
    assert "m&lt;b&gt;" in document
    assert "data:text/html" not in document


def test_render_markdown_safe_keeps_ordinary_markdown() -> None:
    rendered = render_markdown_safe("# Hi\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- x\n- y\n\n`a<b`")
    assert "<h1>Hi</h1>" in rendered
    assert "<table>" in rendered and "<td>1</td>" in rendered
    assert "<li>x</li>" in rendered
    assert "<code>a&lt;b</code>" in rendered


# --- JSON -------------------------------------------------------------------------------------


def test_thread_json_is_lossless_and_has_a_header(repo: ThreadRepository, arun) -> None:
    async def main() -> None:
        ids = await build_history(repo)
        thread = await repo.get_thread(ids["threads"][0])
        assert thread is not None
        messages = await repo.thread_messages(thread.id)
        doc = thread_to_json(thread, messages)
        assert (doc["format"], doc["version"]) == ("switchboard-thread", 1)
        assert doc["thread"]["title"] == "Trip <plans> & more"
        assert doc["thread"]["params"] == {"temperature": 0.3, "max_tokens": 500, "stop": ["END"],
                                           "seed": 7}
        assert doc["thread"]["selected_leaf_id"] == ids["a2"]
        assert [m["id"] for m in doc["messages"]] == sorted(m.id for m in messages)
        by_id = {m["id"]: m for m in doc["messages"]}
        a1 = next(m for m in doc["messages"] if m["content"].startswith("Try"))
        assert a1["usage"] == {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30,
                               "reasoning_tokens": 5}
        assert a1["params"] == {"temperature": 0.3, "top_p": 0.9, "logit_bias": {"50256": -100.0}}
        assert (a1["ttft_ms"], a1["tokens_per_s"], a1["finish_reason"]) == (123.5, 42.25, "stop")
        assert a1["tool_calls"][0]["name"] == "weather"
        assert a1["reasoning"] == "The user wants a spring destination."
        assert by_id[ids["a1b"]]["status"] == "error"
        assert by_id[ids["a1b"]]["provider_name"] == "Ollama"
        assert by_id[ids["refused"]]["refusal"] == "I can't help with that."
        assert set(a1) >= {"id", "parent_id", "role", "content", "parts", "reasoning",
                           "profile_id", "provider_name", "model", "params", "usage",
                           "finish_reason", "status", "error", "ttft_ms", "tokens_per_s",
                           "created_at", "updated_at"}
        json.dumps(doc)  # plain JSON values only

    arun(main())


def test_exports_contain_no_key_like_strings(repo: ThreadRepository, tmp_path: Path, arun) -> None:
    register_secret(FAKE_KEY)  # as if the profile's key had been used this session
    try:
        async def main() -> None:
            ids = await build_history(repo)
            assert await export_archive(repo, tmp_path / "all.json") == 3
            await export_thread(repo, ids["threads"][0], tmp_path / "t.md")
            await export_thread(repo, ids["threads"][0], tmp_path / "t.html")

        arun(main())
        for name in ("all.json", "t.md", "t.html"):
            text = (tmp_path / name).read_text(encoding="utf-8")
            assert FAKE_KEY not in text
            assert redact(text) == text, name  # nothing shaped like a key
            assert "api_key" not in text.lower()
        archive = json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))
        assert "openai-main" in json.dumps(archive)  # profiles are referenced by id only
    finally:
        forget_secret(FAKE_KEY)


# --- round trip -------------------------------------------------------------------------------


def test_archive_round_trip_recreates_every_field_and_the_tree(
    repo: ThreadRepository, repo2: ThreadRepository, db2: Database, tmp_path: Path, arun
) -> None:
    async def main() -> None:
        ids = await build_history(repo)
        dest = tmp_path / "exports" / "archive.json"
        dest.parent.mkdir()
        assert await export_archive(repo.db, dest) == 3
        doc = json.loads(dest.read_text(encoding="utf-8"))
        assert (doc["format"], doc["version"]) == ("switchboard-archive", 1)
        assert [t["thread"]["title"] for t in doc["threads"]] == [
            "Trip <plans> & more", "Story", "Empty chat",
        ]
        # An unrelated thread already in the target keeps its place.
        await repo2.create_thread("Already here")
        report = await import_archive(db2, dest)
        assert (report.threads, report.messages) == (3, 9)
        assert len(report.thread_ids) == 3
        old = await snapshot(repo)
        new = [item for item in await snapshot(repo2) if item[0].title != "Already here"]
        assert [t.id for t, _ in new] == list(report.thread_ids)
        assert_same_history(old, new)
        # The imported tree behaves like the original one.
        new_t1 = new[0][0]
        path = await repo2.current_path(new_t1.id)
        assert [m.content for m in path] == ["Where should I go in May?",
                                            "Try **Lisbon**.\n\n```python\nprint('<hi>')\n```",
                                            XSS, "Partial answ"]
        assert len(await repo2.search("Lisbon")) == 1  # the search index was fed
        assert ids["deleted"] not in [t.id for t, _ in old]

    arun(main())


def test_dict_round_trip_and_single_thread_document(
    repo: ThreadRepository, repo2: ThreadRepository, db2: Database, tmp_path: Path, arun
) -> None:
    async def main() -> None:
        ids = await build_history(repo)
        history = await snapshot(repo)
        report = await import_archive(repo2, archive_to_json(history))
        assert (report.threads, report.messages) == (3, 9)
        assert_same_history(history, await snapshot(repo2))

        dest = tmp_path / "one.json"
        assert await export_thread(repo, ids["threads"][1], dest) == dest
        report = await import_archive(db2, dest)
        assert (report.threads, report.messages) == (1, 2)
        copy = await repo2.thread_messages(report.thread_ids[0])
        assert [m.status for m in copy] == ["complete", "streaming"]

    arun(main())


def test_import_keeps_input_order_when_parents_come_later(repo2: ThreadRepository, arun) -> None:
    doc = {
        "format": "switchboard-thread", "version": 1,
        "thread": {"title": "Shuffled", "selected_leaf_id": "c"},
        "messages": [
            {"id": "c", "parent_id": "b", "role": "user", "content": "third"},
            {"id": "a", "parent_id": None, "role": "user", "content": "first"},
            {"id": "b", "parent_id": "a", "role": "assistant", "content": "second"},
        ],
    }

    async def main() -> None:
        report = await import_archive(repo2, doc)
        assert report == ImportReport(1, 3, report.thread_ids)
        path = await repo2.current_path(report.thread_ids[0])
        assert [m.content for m in path] == ["first", "second", "third"]

    arun(main())


# --- malformed archives -------------------------------------------------------------------------


def valid_entry(title: str = "ok") -> dict[str, Any]:
    return {
        "thread": {"title": title, "created_at": 1.0, "updated_at": 2.0},
        "messages": [
            {"id": 1, "parent_id": None, "role": "user", "content": "hi"},
            {"id": 2, "parent_id": 1, "role": "assistant", "content": "hello"},
        ],
    }


def archive(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"format": "switchboard-archive", "version": 1, "threads": list(entries)}


def broken(change: str) -> dict[str, Any]:
    entry = valid_entry("bad")
    messages = entry["messages"]
    if change == "dangling parent":
        messages[1]["parent_id"] = 99
    elif change == "loop":
        messages[0]["parent_id"] = 2
    elif change == "duplicate id":
        messages[1]["id"] = 1
    elif change == "bad status":
        messages[1]["status"] = "finished"
    elif change == "bad role":
        messages[1]["role"] = ""
    elif change == "content not text":
        messages[1]["content"] = {"text": "x"}
    elif change == "bad kind":
        entry["thread"]["kind"] = "video"
    elif change == "bad time":
        messages[0]["created_at"] = "yesterday"
    elif change == "messages not a list":
        entry["messages"] = "nope"
    return archive(valid_entry("first"), entry)


@pytest.mark.parametrize(
    "data",
    [
        [1, 2, 3],
        "text",
        {"format": "something-else", "version": 1, "threads": []},
        {"version": 1, "threads": []},
        {"format": "switchboard-archive", "version": 2, "threads": []},
        {"format": "switchboard-archive", "version": "1", "threads": []},
        {"format": "switchboard-archive", "version": True, "threads": []},
        {"format": "switchboard-archive", "version": 1},
        {"format": "switchboard-archive", "version": 1, "threads": [{"no": "thread"}]},
        *(broken(c) for c in ("dangling parent", "duplicate id", "bad status",
                              "bad role", "content not text", "bad kind", "bad time",
                              "messages not a list")),
    ],
)
def test_malformed_archive_raises_config_error_and_writes_nothing(
    db2: Database, data: Any, arun
) -> None:
    async def main() -> None:
        with pytest.raises(ConfigError) as info:
            await import_archive(db2, data)
        assert info.value.user_message.endswith(".")
        assert len(info.value.user_message.split()) > 5  # a sentence, not a code
        assert await count_rows(db2) == (0, 0)

    arun(main())


def test_unreadable_or_invalid_json_file(db2: Database, tmp_path: Path, arun) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00\x81")

    async def main() -> None:
        with pytest.raises(ConfigError, match="not valid JSON"):
            await import_archive(db2, bad)
        with pytest.raises(ConfigError, match="not a text file"):
            await import_archive(db2, binary)
        with pytest.raises(StorageError, match="could not be read"):
            await import_archive(db2, tmp_path / "missing.json")
        with pytest.raises(ConfigError, match="not valid JSON"):
            await import_chatgpt(db2, bad)
        assert await count_rows(db2) == (0, 0)

    arun(main())


def test_failure_while_writing_rolls_the_whole_import_back(
    db2: Database, monkeypatch: pytest.MonkeyPatch, arun
) -> None:
    real_insert = importers._insert_message_row
    calls = 0

    def failing_insert(conn: sqlite3.Connection, *args: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 3:  # the second thread's first message
            raise sqlite3.OperationalError("database or disk is full")
        return real_insert(conn, *args)

    monkeypatch.setattr(importers, "_insert_message_row", failing_insert)

    async def main() -> None:
        with pytest.raises(StorageError, match="disk is full"):
            await import_archive(db2, archive(valid_entry("one"), valid_entry("two")))
        assert calls == 3
        assert await count_rows(db2) == (0, 0)
        monkeypatch.setattr(importers, "_insert_message_row", real_insert)
        report = await import_archive(db2, archive(valid_entry("one"), valid_entry("two")))
        assert (report.threads, report.messages) == (2, 4)
        assert await count_rows(db2) == (2, 4)

    arun(main())


# --- writing files ----------------------------------------------------------------------------


def test_export_into_a_missing_folder_raises_storage_error(
    repo: ThreadRepository, tmp_path: Path, arun
) -> None:
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x", encoding="utf-8")

    async def main() -> None:
        await build_history(repo)
        with pytest.raises(StorageError) as info:
            await export_archive(repo, not_a_folder / "archive.json")
        assert "does not exist" in info.value.user_message
        with pytest.raises(StorageError):
            await export_archive(repo, tmp_path / "nope" / "archive.json")
        folder = tmp_path / "a-folder.json"
        folder.mkdir()
        with pytest.raises(StorageError, match="is a folder"):
            await export_archive(repo, folder)

    arun(main())
    assert not_a_folder.read_text(encoding="utf-8") == "x"


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_export_leaves_the_old_file_untouched(
    repo: ThreadRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str, arun
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    dest = folder / "archive.json"
    dest.write_text("old export", encoding="utf-8")

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    async def main() -> None:
        ids = await build_history(repo)
        monkeypatch.setattr(export.os, failing, disk_full)
        with pytest.raises(StorageError) as info:
            await export_archive(repo, dest)
        assert "disk is full" in info.value.user_message
        with pytest.raises(StorageError):
            await export_thread(repo, ids["threads"][0], dest, fmt="html")
        monkeypatch.undo()

    arun(main())
    assert dest.read_text(encoding="utf-8") == "old export"
    assert sorted(os.listdir(folder)) == ["archive.json"]  # no temporary file left behind


def test_export_replaces_an_old_file(repo: ThreadRepository, tmp_path: Path, arun) -> None:
    dest = tmp_path / "chat.md"
    dest.write_text("old", encoding="utf-8")

    async def main() -> None:
        ids = await build_history(repo)
        await export_thread(repo, ids["threads"][0], dest)
        with pytest.raises(KeyError):
            await export_thread(repo, 9999, tmp_path / "x.json")

    arun(main())
    assert dest.read_text(encoding="utf-8").startswith("# Trip <plans> & more")
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []


# --- ChatGPT ----------------------------------------------------------------------------------


def test_chatgpt_import_of_the_fixture(repo2: ThreadRepository, db2: Database, arun) -> None:
    async def main() -> None:
        report = await import_chatgpt(db2, CHATGPT)
        assert (report.threads, report.messages) == (2, 9)
        first, second = [await repo2.get_thread(i) for i in report.thread_ids]
        assert first is not None and second is not None

        # Conversation 1: hidden system nodes skipped, a regenerated reply, tool traffic folded.
        assert first.title == "Squaring numbers in Python"
        assert (first.created_at, first.updated_at) == (1717000000.125, 1717000460.5)
        assert first.system_prompt == "" and first.model == "gpt-4o"
        assert first.profile_id is None
        messages = await repo2.thread_messages(first.id)
        by_content = {m.content.split("\n")[0]: m for m in messages}
        u1 = by_content["How do I square every number in a list?"]
        assert u1.parent_id is None and u1.role == "user" and u1.created_at == 1717000001.5
        replies = await repo2.children(u1.id)
        assert [m.role for m in replies] == ["assistant", "assistant"]  # the branch
        assert [m.model for m in replies] == ["gpt-4o", "gpt-4o-mini"]
        assert [m.finish_reason for m in replies] == ["stop", "length"]
        assert {m.provider_name for m in replies} == {"ChatGPT"}
        assert replies[0].content.endswith("```python\nsquares = [n * n for n in numbers]\n```")
        path = await repo2.current_path(first.id)
        assert [m.role for m in path] == ["user", "assistant", "user", "assistant"]
        assert path[2].content == (
            "[image omitted]\n\nWhat is the mean of the values in this chart?"
        )
        assert path[3].content == (
            "> **Tool call (python):**\n> ```\n> values = [3, 5, 10]\n"
            "> sum(values) / len(values)\n> ```\n\n"
            "> **Tool output (python):**\n> ```\n> 6.0\n> ```\n\n"
            "The mean of the values is **6**."
        )
        assert path[3].model == "gpt-4o" and path[3].created_at == 1717000110.0
        assert first.selected_leaf_id == path[3].id
        assert all(m.role != "system" and m.role != "tool" for m in messages)
        assert len(messages) == 5

        # Conversation 2: a visible system prompt, a branch at the first user message.
        assert second.title == "Autumn haiku"
        assert second.system_prompt == "You are a poet who answers only in haiku."
        roots = await repo2.children(None, thread_id=second.id)
        assert [m.content for m in roots] == [
            "Write about autumn.", "Write about autumn rain <img src=x onerror=alert(1)>.",
        ]
        path = await repo2.current_path(second.id)
        assert [m.role for m in path] == ["user", "assistant"]
        assert path[1].content.startswith("Grey rain on the roof")
        assert path[1].model == "gpt-4o"  # no model_slug: the conversation's default
        assert path[1].created_at == 1717100100.0  # no create_time: the parent's
        other = await repo2.children(roots[0].id)
        assert [(m.model, m.content.split("\n")[0]) for m in other] == [
            ("gpt-4", "Red leaves drift and fall"),
        ]

        # The user's markup stays text in the HTML export of the imported chat.
        document = thread_to_html(second, path)
        assert_safe_html(document)
        assert "rain &lt;img src=x onerror=alert(1)&gt;." in document

    arun(main())


def conversation(mapping: dict[str, Any], current: str, **extra: Any) -> dict[str, Any]:
    return {"title": "T", "create_time": 10.0, "update_time": 20.0, "mapping": mapping,
            "current_node": current, **extra}


def node(node_id: str, parent: str | None, children: list[str], role: str | None,
         text: str = "", **message: Any) -> dict[str, Any]:
    msg = None
    if role is not None:
        msg = {"id": node_id, "author": {"role": role, "name": message.pop("name", None)},
               "content": {"content_type": "text", "parts": [text]}, "create_time": None,
               "metadata": message.pop("metadata", {}), **message}
    return {"id": node_id, "message": msg, "parent": parent, "children": children}


def test_chatgpt_tool_output_without_a_reply_becomes_its_own_message(
    repo2: ThreadRepository, arun
) -> None:
    data = [conversation({
        "r": node("r", None, ["u"], None),
        "u": node("u", "r", ["t"], "user", "search the web"),
        "t": node("t", "u", [], "tool", "3 results", name="browser"),
    }, "t")]

    async def main() -> None:
        report = await import_chatgpt(repo2, data)
        assert (report.threads, report.messages) == (1, 2)
        path = await repo2.current_path(report.thread_ids[0])
        assert [m.role for m in path] == ["user", "assistant"]
        assert path[1].content == "> **Tool output (browser):**\n> 3 results"
        assert path[1].created_at == 10.0  # no times anywhere: the conversation's

    arun(main())


def test_chatgpt_reasoning_and_interrupted_reply(repo2: ThreadRepository, arun) -> None:
    thoughts = node("th", "u", ["a"], "assistant")
    thoughts["message"]["content"] = {"content_type": "thoughts",
                                      "thoughts": [{"summary": "Plan", "content": "Add them."}]}
    data = [conversation({
        "u": node("u", None, ["th"], "user", "1+1?"),
        "th": thoughts,
        "a": node("a", "th", [], "assistant", "2", metadata={
            "model_slug": "o3", "finish_details": {"type": "interrupted"}}),
    }, "a")]

    async def main() -> None:
        report = await import_chatgpt(repo2, data)
        path = await repo2.current_path(report.thread_ids[0])
        assert [(m.role, m.content) for m in path] == [("user", "1+1?"), ("assistant", "2")]
        assert path[1].reasoning == "Plan\n\nAdd them."
        assert (path[1].model, path[1].status) == ("o3", "interrupted")

    arun(main())


@pytest.mark.parametrize(
    "data",
    [
        {"conversations": []},
        "nope",
        [{"title": "no mapping"}],
        [conversation({"u": node("u", None, [], "user", "fine")}, "u"), {"title": "broken"}],
        [conversation({"u": "not a node"}, "u")],
    ],
)
def test_malformed_chatgpt_export_writes_nothing(db2: Database, data: Any, arun) -> None:
    async def main() -> None:
        with pytest.raises(ConfigError) as info:
            await import_chatgpt(db2, data)
        assert "ChatGPT" in info.value.user_message or "Nothing was imported" in (
            info.value.user_message
        )
        assert await count_rows(db2) == (0, 0)

    arun(main())


# --- a 100,000-message thread -------------------------------------------------------------------


def test_export_and_reimport_of_a_100k_message_thread(
    db: Database, db2: Database, tmp_path: Path, arun
) -> None:
    """No tree walk in export or import recurses with the thread's length."""
    from tests.core.store.helpers import deep_chain

    thread_id, ids = deep_chain(db, 100_000)

    async def main() -> None:
        dest = tmp_path / "deep.json"
        await export_thread(db, thread_id, dest)
        doc = json.loads(dest.read_text(encoding="utf-8"))
        assert len(doc["messages"]) == 100_000
        assert doc["messages"][-1]["parent_id"] == ids[-2]
        md = tmp_path / "deep.md"
        await export_thread(db, thread_id, md)
        text = md.read_text(encoding="utf-8")
        assert text.count("\n## ") == 100_000 and "tide 99999" in text
        assert await export_archive(db, tmp_path / "all.json") == 1
        report = await import_archive(db2, dest)
        assert (report.threads, report.messages) == (1, 100_000)
        path = await ThreadRepository(db2).current_path(report.thread_ids[0])
        assert len(path) == 100_000 and path[-1].content == "tide 99999"

    arun(main(), timeout=300)
