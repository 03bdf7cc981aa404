"""ThreadRepository: threads, the message tree, journaling, recovery and search."""

from __future__ import annotations

import pytest

from app.core.protocol.types import GenerationParams, Usage
from app.core.store.db import Database
from app.core.store.records import HIGHLIGHT_END, HIGHLIGHT_START, highlight_html
from app.core.store.threads import ThreadRepository


def test_create_and_get_thread(repo: ThreadRepository, arun) -> None:
    async def main() -> None:
        params = GenerationParams(temperature=0.2, stop=["END"])
        thread = await repo.create_thread(
            "Plans",
            kind="completion",
            profile_id="p1",
            model="m1",
            system_prompt="Be brief.",
            params=params,
        )
        again = await repo.get_thread(thread.id)
        assert again == thread
        assert (again.title, again.kind, again.profile_id, again.model) == (
            "Plans",
            "completion",
            "p1",
            "m1",
        )
        assert again.system_prompt == "Be brief."
        assert again.params == params
        assert not again.pinned and not again.archived and not again.deleted
        assert await repo.get_thread(9999) is None

    arun(main())


def test_list_threads_orders_pinned_first_then_recent(repo: ThreadRepository, arun) -> None:
    async def main() -> None:
        a = await repo.create_thread("a")
        b = await repo.create_thread("b")
        c = await repo.create_thread("c")
        assert [t.title for t in await repo.list_threads()] == ["c", "b", "a"]
        await repo.add_message(a.id, None, "user", "bump a")  # touches updated_at
        assert [t.title for t in await repo.list_threads()] == ["a", "c", "b"]
        await repo.set_pinned(b.id, True)
        assert [t.title for t in await repo.list_threads()] == ["b", "a", "c"]
        assert [t.title for t in await repo.list_threads(limit=2)] == ["b", "a"]
        await repo.set_archived(c.id, True)
        assert [t.title for t in await repo.list_threads()] == ["b", "a"]
        assert [t.title for t in await repo.list_threads(include_archived=True)] == ["b", "a", "c"]
        await repo.set_archived(c.id, False)
        await repo.set_pinned(b.id, False)
        assert [t.title for t in await repo.list_threads()] == ["a", "c", "b"]

    arun(main())


def test_rename_and_settings(repo: ThreadRepository, arun) -> None:
    async def main() -> None:
        t = await repo.create_thread("old", profile_id="p", model="m", system_prompt="s")
        await repo.rename(t.id, "new")
        await repo.update_thread_settings(t.id, model="m2", params=GenerationParams(top_p=0.9))
        got = await repo.get_thread(t.id)
        assert got is not None
        assert (got.title, got.profile_id, got.model, got.system_prompt) == ("new", "p", "m2", "s")
        assert got.params == GenerationParams(top_p=0.9)
        await repo.update_thread_settings(t.id, profile_id=None, system_prompt="")
        got = await repo.get_thread(t.id)
        assert got is not None and got.profile_id is None and got.system_prompt == ""
        assert got.model == "m2"

    arun(main())


def test_soft_delete_restore_and_purge(repo: ThreadRepository, arun) -> None:
    async def main() -> None:
        keep = await repo.create_thread("keep")
        gone = await repo.create_thread("gone")
        m = await repo.add_message(gone.id, None, "user", "searchable platypus")
        await repo.soft_delete(gone.id)
        assert [t.title for t in await repo.list_threads(include_archived=True)] == ["keep"]
        assert [t.title for t in await repo.list_deleted_threads()] == ["gone"]
        assert (await repo.get_thread(gone.id)).deleted  # type: ignore[union-attr]
        assert await repo.get_thread(gone.id, include_deleted=False) is None
        assert await repo.search("platypus") == []

        await repo.restore(gone.id)
        assert {t.title for t in await repo.list_threads()} == {"keep", "gone"}
        assert [h.message_id for h in await repo.search("platypus")] == [m.id]

        await repo.soft_delete(gone.id)
        assert await repo.purge_deleted() == 1
        assert await repo.get_thread(gone.id) is None
        assert await repo.get_message(m.id) is None  # cascaded
        assert await repo.get_thread(keep.id) is not None
        await repo.restore(gone.id)  # restoring a purged thread is a no-op
        assert await repo.list_deleted_threads() == []
        # the FTS index forgot the purged message too
        count = await repo.db.run(
            lambda conn: conn.execute(
                "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'platypus'"
            ).fetchone()[0]
        )
        assert count == 0

    arun(main())


def test_purge_deleted_older_than(repo: ThreadRepository, arun) -> None:
    async def main() -> None:
        a = await repo.create_thread("a")
        await repo.soft_delete(a.id)
        deleted_at = (await repo.get_thread(a.id)).deleted_at  # type: ignore[union-attr]
        assert await repo.purge_deleted(older_than=deleted_at) == 0
        assert await repo.purge_deleted(older_than=deleted_at + 1) == 1

    arun(main())


async def _branched(repo: ThreadRepository) -> tuple[int, dict[str, int]]:
    """u1 -> a1 -> u2 -> a2 ; u1 -> a1b (a regenerated sibling of a1) -> u3"""
    t = await repo.create_thread("tree")
    ids: dict[str, int] = {}
    ids["u1"] = (await repo.add_message(t.id, None, "user", "first question")).id
    ids["a1"] = (await repo.add_message(t.id, ids["u1"], "assistant", "first answer")).id
    ids["u2"] = (await repo.add_message(t.id, ids["a1"], "user", "follow up")).id
    ids["a2"] = (await repo.add_message(t.id, ids["u2"], "assistant", "second answer")).id
    ids["a1b"] = (await repo.add_message(t.id, ids["u1"], "assistant", "other answer")).id
    ids["u3"] = (await repo.add_message(t.id, ids["a1b"], "user", "other follow up")).id
    return t.id, ids


def test_tree_navigation(repo: ThreadRepository, arun) -> None:
    async def main() -> None:
        tid, ids = await _branched(repo)
        path = await repo.path_to(ids["a2"])
        assert [m.id for m in path] == [ids["u1"], ids["a1"], ids["u2"], ids["a2"]]
        assert [m.id for m in await repo.path_to(ids["u3"])] == [ids["u1"], ids["a1b"], ids["u3"]]
        assert [m.id for m in await repo.children(ids["u1"])] == [ids["a1"], ids["a1b"]]
        assert [m.id for m in await repo.children(None, thread_id=tid)] == [ids["u1"]]
        assert [m.id for m in await repo.siblings(ids["a1b"])] == [ids["a1"], ids["a1b"]]
        assert [m.id for m in await repo.siblings(ids["u1"])] == [ids["u1"]]

        # the last message added is selected
        assert (await repo.default_leaf(tid)).id == ids["u3"]  # type: ignore[union-attr]
        # selecting an inner node follows the latest child down to a leaf
        await repo.select_leaf(tid, ids["a1"])
        assert (await repo.default_leaf(tid)).id == ids["a2"]  # type: ignore[union-attr]
        assert [m.id for m in await repo.current_path(tid)] == [
            ids["u1"],
            ids["a1"],
            ids["u2"],
            ids["a2"],
        ]
        # with no selection: the latest root, then latest children
        await repo.select_leaf(tid, None)
        assert (await repo.default_leaf(tid)).id == ids["u3"]  # type: ignore[union-attr]
        # adding without select keeps the selection
        await repo.select_leaf(tid, ids["a2"])
        await repo.add_message(tid, ids["u1"], "assistant", "third", select=False)
        assert (await repo.default_leaf(tid)).id == ids["a2"]  # type: ignore[union-attr]

        empty = await repo.create_thread("empty")
        assert await repo.default_leaf(empty.id) is None
        assert await repo.current_path(empty.id) == []

    arun(main())


def test_delete_subtree(repo: ThreadRepository, arun) -> None:
    async def main() -> None:
        tid, ids = await _branched(repo)
        await repo.select_leaf(tid, ids["a2"])
        assert await repo.delete_subtree(ids["a1"]) == 3  # a1, u2, a2
        remaining = {m.id for m in await repo.thread_messages(tid)}
        assert remaining == {ids["u1"], ids["a1b"], ids["u3"]}
        # the selection moved to the deleted node's parent, so the other branch shows
        assert (await repo.get_thread(tid)).selected_leaf_id == ids["u1"]  # type: ignore[union-attr]
        assert (await repo.default_leaf(tid)).id == ids["u3"]  # type: ignore[union-attr]
        assert await repo.search("second") == []
        assert await repo.delete_subtree(ids["a1"]) == 0
        assert await repo.delete_subtree(ids["u1"]) == 3
        assert await repo.thread_messages(tid) == []
        assert await repo.default_leaf(tid) is None

    arun(main())


def test_add_message_fields_and_update(repo: ThreadRepository, arun) -> None:
    async def main() -> None:
        t = await repo.create_thread("t")
        before = (await repo.get_thread(t.id)).updated_at  # type: ignore[union-attr]
        parts = [{"type": "image", "mime": "image/png", "data_b64": "AAAA"}]
        m = await repo.add_message(
            t.id,
            None,
            "user",
            "look",
            parts=parts,
            profile_id="p",
            provider_name="Local",
            model="m",
            params=GenerationParams(seed=3),
            status="complete",
        )
        assert (await repo.get_thread(t.id)).updated_at > before  # type: ignore[union-attr]
        got = await repo.get_message(m.id)
        assert got == m
        assert got.parts == parts and got.params == GenerationParams(seed=3)
        assert (got.profile_id, got.provider_name, got.model) == ("p", "Local", "m")

        updated = await repo.update_message(
            m.id,
            content="look again",
            usage=Usage(prompt_tokens=3, completion_tokens=5),
            finish_reason="stop",
            ttft_ms=12.5,
            tokens_per_s=40.0,
            refusal="no",
            tool_calls=[{"index": 0, "name": "f", "arguments": "{}"}],
            error=None,
        )
        assert updated.content == "look again"
        assert updated.usage == Usage(prompt_tokens=3, completion_tokens=5)
        assert (updated.finish_reason, updated.ttft_ms, updated.tokens_per_s) == (
            "stop",
            12.5,
            40.0,
        )
        assert updated.refusal == "no" and updated.tool_calls[0]["name"] == "f"
        assert updated.updated_at > m.updated_at
        assert await repo.get_message(m.id) == updated

        with pytest.raises(ValueError, match="unknown message fields"):
            await repo.update_message(m.id, colour="red")
        with pytest.raises(ValueError, match="status"):
            await repo.update_message(m.id, status="done")
        with pytest.raises(ValueError, match="status"):
            await repo.add_message(t.id, None, "user", "x", status="weird")
        with pytest.raises(KeyError):
            await repo.update_message(424242, content="x")
        assert await repo.get_message(424242) is None

    arun(main())


def test_journal_stream_and_interrupted_recovery(db_path, arun) -> None:
    async def write() -> int:
        db = Database.open(db_path)
        try:
            repo = ThreadRepository(db)
            t = await repo.create_thread("t")
            m = await repo.add_message(t.id, None, "assistant", "", status="streaming")
            await repo.journal_stream(m.id, "partial reply about wombats", "thinking")
            done = await repo.add_message(t.id, None, "assistant", "done", status="complete")
            got = await repo.get_message(m.id)
            assert got is not None
            assert (got.content, got.reasoning, got.status) == (
                "partial reply about wombats",
                "thinking",
                "streaming",
            )
            # streaming rows stay out of the index until they end
            assert await repo.search("wombats") == []
            assert done.status == "complete"
            return m.id
        finally:
            db.close()  # as if the app was killed mid-stream

    message_id = arun(write())

    async def reopen() -> None:
        db = Database.open(db_path)
        try:
            repo = ThreadRepository(db)
            assert await repo.mark_streaming_interrupted() == 1
            assert await repo.mark_streaming_interrupted() == 0
            got = await repo.get_message(message_id)
            assert got is not None
            assert got.status == "interrupted"
            assert got.content == "partial reply about wombats"
            assert [h.message_id for h in await repo.search("wombats")] == [message_id]
        finally:
            db.close()

    arun(reopen())


def test_fts_follows_content_updates(repo: ThreadRepository, arun) -> None:
    async def main() -> None:
        t = await repo.create_thread("t")
        m = await repo.add_message(t.id, None, "user", "apples")
        await repo.update_message(m.id, content="pears")
        assert await repo.search("apples") == []
        assert [h.message_id for h in await repo.search("pears")] == [m.id]
        s = await repo.add_message(t.id, None, "assistant", "", status="streaming")
        await repo.journal_stream(s.id, "bananas", "")
        await repo.update_message(s.id, status="cancelled")
        assert [h.message_id for h in await repo.search("bananas")] == [s.id]
        await repo.update_message(s.id, content="cherries")
        assert await repo.search("bananas") == []
        assert [h.message_id for h in await repo.search("cherries")] == [s.id]

    arun(main())


def test_search_ranks_snippets_and_diacritics(repo: ThreadRepository, arun) -> None:
    async def main() -> None:
        t = await repo.create_thread("Cooking")
        once = await repo.add_message(
            t.id, None, "user", "a crème brûlée recipe, with lots of other words"
        )
        twice = await repo.add_message(t.id, once.id, "assistant", "creme brulee: creme brulee")
        await repo.add_message(t.id, twice.id, "user", "unrelated text")
        hits = await repo.search("creme brulee")
        assert [h.message_id for h in hits] == [twice.id, once.id]
        assert hits[0].rank <= hits[1].rank
        assert hits[0].thread_id == t.id and hits[0].thread_title == "Cooking"
        assert hits[0].role == "assistant"
        assert f"{HIGHLIGHT_START}creme{HIGHLIGHT_END}" in hits[0].snippet
        assert f"{HIGHLIGHT_START}crème{HIGHLIGHT_END}" in hits[1].snippet
        # the last word is a prefix: results while typing
        assert {h.message_id for h in await repo.search("crem")} == {once.id, twice.id}
        assert len(await repo.search("creme", limit=1)) == 1

    arun(main())


HOSTILE = [
    '"',
    '""',
    '"unbalanced',
    "*",
    "**",
    "AND",
    "OR",
    "NOT",
    "a AND",
    "AND b",
    "NEAR(a b)",
    "-",
    "-x",
    "x-y",
    "(",
    ")",
    "((a)",
    "^",
    "col:umn",
    "content:x",
    "a'b",
    "\\",
    ";",
    "'; DROP TABLE messages; --",
    "",
    "   ",
    "\x00",
    "🙂",
    'a"b*c',
    "+",
    "{a b}",
    "a OR",
    "NOT NOT",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_search_never_raises_on_hostile_input(repo: ThreadRepository, arun, query: str) -> None:
    async def main() -> None:
        t = await repo.create_thread("t")
        await repo.add_message(t.id, None, "user", 'x-y and "quoted" a\'b AND col:umn NOT ^ 🙂')
        hits = await repo.search(query)
        assert isinstance(hits, list)
        assert all(h.thread_id == t.id for h in hits)

    arun(main())


def test_operator_words_are_searched_as_words(repo: ThreadRepository, arun) -> None:
    async def main() -> None:
        t = await repo.create_thread("t")
        plain = await repo.add_message(t.id, None, "user", "cats and dogs")
        other = await repo.add_message(t.id, None, "user", "cats or birds")
        assert [h.message_id for h in await repo.search("cats AND")] == [plain.id]
        assert [h.message_id for h in await repo.search("cats OR")] == [other.id]
        assert [h.message_id for h in await repo.search('"dogs')] == [plain.id]
        assert [h.message_id for h in await repo.search("dogs*")] == [plain.id]

    arun(main())


def test_highlight_html_escapes_then_marks() -> None:
    snippet = f"<b>{HIGHLIGHT_START}x{HIGHLIGHT_END}</b> & more"
    assert highlight_html(snippet) == "&lt;b&gt;<mark>x</mark>&lt;/b&gt; &amp; more"


def test_search_skips_deleted_threads_even_when_they_hold_the_best_matches(repo, arun) -> None:
    """The ranked window is filled by a deleted thread's messages: the fallback still finds the
    live thread's hits, best first."""
    gone = arun(repo.create_thread("gone"))
    for i in range(230):
        arun(repo.add_message(gone.id, None, "user", f"walrus walrus walrus {i}"))
    arun(repo.soft_delete(gone.id))
    live = arun(repo.create_thread("live"))
    weak = arun(repo.add_message(live.id, None, "user", "a long sentence that mentions a walrus once among many other words"))
    strong = arun(repo.add_message(live.id, None, "user", "walrus walrus"))
    hits = arun(repo.search("walrus", limit=50))
    assert [h.message_id for h in hits] == [strong.id, weak.id]
    assert all(h.thread_id == live.id for h in hits)


def test_search_ranks_common_terms_among_the_newest_matches(repo, arun, monkeypatch) -> None:
    """Past RANK_WINDOW matches, relevance is ranked among the newest ones only (bm25 over every
    match of a very common term is what made short prefixes slow)."""
    import app.core.store.threads as threads_module

    monkeypatch.setattr(threads_module, "RANK_WINDOW", 4)
    t = arun(repo.create_thread("t"))
    old_strong = arun(repo.add_message(t.id, None, "user", "otter otter otter otter"))
    for i in range(6):
        arun(repo.add_message(t.id, None, "user", f"one otter among words number {i} here"))
    new_strong = arun(repo.add_message(t.id, None, "user", "otter otter"))
    hits = arun(repo.search("otter", limit=3))
    ids = [h.message_id for h in hits]
    assert ids[0] == new_strong.id  # the best match within the newest four
    assert old_strong.id not in ids  # outside the window
    assert len(ids) == 3
    monkeypatch.setattr(threads_module, "RANK_WINDOW", 1000)
    assert arun(repo.search("otter", limit=1))[0].message_id == old_strong.id


def test_thread_tree_gives_the_shape_without_text(repo, arun) -> None:
    t = arun(repo.create_thread("t"))
    root = arun(repo.add_message(t.id, None, "user", "q"))
    a = arun(repo.add_message(t.id, root.id, "assistant", "a1"))
    b = arun(repo.add_message(t.id, root.id, "assistant", "a2"))
    links = arun(repo.thread_tree(t.id))
    assert [(l.id, l.parent_id) for l in links] == [(root.id, None), (a.id, root.id), (b.id, root.id)]
