"""Deleting, purging and exporting threads whose message tree is very deep.

`messages.parent_id` cascades on delete, and SQLite runs each cascade level as a nested trigger:
a purge that let the cascade walk a chain of 1,000 messages stopped with "too many levels of
trigger recursion" at every start. These tests build chains straight into SQLite (fast) and go
through the repository to delete them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.store.db import Database
from app.core.store.threads import ThreadRepository
from tests.core.store.helpers import check_integrity, count_rows, deep_chain


@pytest.mark.parametrize("length", [1_000, 5_000, 100_000])
def test_deep_thread_deleted_then_purged_then_reopened_twice(
    db_path: Path, arun, length: int
) -> None:
    db = Database.open(db_path)
    try:
        keep_id, _ = deep_chain(db, 3, word="harbour")
        deep_id, _ = deep_chain(db, length)
        repo = ThreadRepository(db)

        async def main() -> int:
            await repo.soft_delete(deep_id)
            return await repo.purge_deleted()

        assert arun(main(), timeout=120) == 1
        check_integrity(db)
        assert count_rows(db, "SELECT count(*) FROM messages WHERE thread_id = ?", deep_id) == 0
        assert count_rows(db, "SELECT count(*) FROM threads WHERE id = ?", deep_id) == 0
        assert arun(repo.search("tide")) == []
        assert [h.thread_id for h in arun(repo.search("harbour"))] == [keep_id] * 3
    finally:
        db.close()
    for _ in range(2):
        again = Database.open(db_path)
        try:
            check_integrity(again)
            assert arun(ThreadRepository(again).purge_deleted()) == 0
            path = arun(ThreadRepository(again).current_path(keep_id))
            assert [m.content for m in path] == ["harbour 0", "harbour 1", "harbour 2"]
        finally:
            again.close()


def test_purge_is_resumable_after_stopping_between_batches(db: Database, arun) -> None:
    deep_id, _ = deep_chain(db, 5_000)
    other_id, _ = deep_chain(db, 2_500)
    repo = ThreadRepository(db)
    batches = 0

    class Killed(Exception):
        pass

    async def stop_after_two() -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise Killed  # as if the process died here: the batches done so far are committed

    async def main() -> None:
        await repo.soft_delete(deep_id)
        await repo.soft_delete(other_id)
        with pytest.raises(Killed):
            await repo.purge_deleted(batch=1_000, between_batches=stop_after_two)

    arun(main())
    check_integrity(db)
    left = count_rows(db, "SELECT count(*) FROM messages WHERE thread_id = ?", deep_id)
    assert left == 3_000  # two batches of 1,000 went, each whole
    thread = arun(repo.get_thread(deep_id))
    assert thread is not None and thread.deleted
    assert arun(repo.list_threads()) == []  # still out of sight
    assert arun(repo.purge_deleted(batch=1_000)) == 2
    check_integrity(db)
    assert count_rows(db, "SELECT count(*) FROM messages") == 0


def test_purge_yields_between_batches(db: Database, arun) -> None:
    deep_id, _ = deep_chain(db, 4_500)
    repo = ThreadRepository(db)
    seen: list[int] = []

    async def record() -> None:
        seen.append(count_rows(db, "SELECT count(*) FROM messages WHERE thread_id = ?", deep_id))

    async def main() -> int:
        await repo.soft_delete(deep_id)
        return await repo.purge_deleted(batch=2_000, between_batches=record)

    assert arun(main()) == 1
    assert seen == [2_500, 500]


def test_purge_skips_a_thread_restored_before_its_turn(db: Database, arun) -> None:
    first_id, _ = deep_chain(db, 3_000)
    second_id, _ = deep_chain(db, 10)
    repo = ThreadRepository(db)

    async def restore_second() -> None:
        await repo.restore(second_id)

    async def main() -> int:
        await repo.soft_delete(first_id)
        await repo.soft_delete(second_id)
        return await repo.purge_deleted(batch=1_000, between_batches=restore_second)

    assert arun(main()) == 1
    assert [m.content for m in arun(repo.current_path(second_id))][-1] == "tide 9"
    check_integrity(db)


def test_purge_respects_older_than(db: Database, arun) -> None:
    deep_id, _ = deep_chain(db, 1_500)
    repo = ThreadRepository(db, clock=lambda: 100.0)
    arun(repo.soft_delete(deep_id))
    assert arun(repo.purge_deleted(older_than=50.0)) == 0
    assert count_rows(db, "SELECT count(*) FROM messages") == 1_500
    assert arun(repo.purge_deleted(older_than=150.0)) == 1
    assert count_rows(db, "SELECT count(*) FROM messages") == 0


@pytest.mark.parametrize("length", [5_000, 100_000])
def test_delete_subtree_of_a_deep_branch(db: Database, arun, length: int) -> None:
    tid, ids = deep_chain(db, length)
    repo = ThreadRepository(db)
    # A second branch under the first message, which must survive.
    side = arun(repo.add_message(tid, ids[0], "assistant", "side branch", select=False))
    assert arun(repo.delete_subtree(ids[1]), timeout=120) == length - 1
    check_integrity(db)
    assert count_rows(db, "SELECT count(*) FROM messages WHERE thread_id = ?", tid) == 2
    thread = arun(repo.get_thread(tid))
    assert thread is not None and thread.selected_leaf_id == ids[0]
    assert [m.id for m in arun(repo.children(ids[0]))] == [side.id]
