"""Windows of a thread's visible path, read by keyset (parent links), never by OFFSET."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.store.db import Database
from app.core.store.threads import ThreadRepository


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "window.db")
    try:
        yield database
    finally:
        database.close()


async def _chain(repo: ThreadRepository, n: int) -> tuple[int, list[int], int]:
    """A thread of `n` messages in a chain, plus a branch off message 4 that is not shown."""
    thread = await repo.create_thread("t")
    parent = None
    ids = []
    for i in range(n):
        m = await repo.add_message(thread.id, parent, "user" if i % 2 == 0 else "assistant", f"message {i}")
        ids.append(m.id)
        parent = m.id
    branch = await repo.add_message(thread.id, ids[3], "assistant", "other branch", select=False)
    await repo.select_leaf(thread.id, ids[-1])
    return thread.id, ids, branch.id


def test_the_tail_and_the_rows_above_it(db: Database, arun: Any) -> None:
    repo = ThreadRepository(db)

    async def scenario() -> None:
        thread_id, ids, branch = await _chain(repo, 12)
        window = await repo.path_tail(thread_id, 5)
        assert [m.id for m in window.messages] == ids[-5:]
        assert window.messages[0].content == "message 7"
        assert window.leaf_id == ids[-1] and window.has_older and not window.has_newer
        # Older rows, a batch at a time, keyed by the first row shown.
        above = await repo.path_above(ids[-5], 4)
        assert [m.id for m in above] == ids[3:7]
        assert [m.id for m in await repo.path_above(ids[3], 10)] == ids[:3]
        assert await repo.path_above(ids[0], 10) == []
        whole = await repo.path_tail(thread_id, 100)
        assert [m.id for m in whole.messages] == ids and not whole.has_older
        empty = await repo.create_thread("empty")
        assert (await repo.path_tail(empty.id, 5)).messages == []
        assert branch not in [m.id for m in whole.messages]

    arun(scenario())


def test_a_window_around_an_old_message_and_the_rows_below_it(db: Database, arun: Any) -> None:
    repo = ThreadRepository(db)

    async def scenario() -> None:
        thread_id, ids, branch = await _chain(repo, 12)
        window = await repo.path_around(thread_id, ids[4], 2, 3)
        assert window is not None
        assert [m.id for m in window.messages] == ids[2:8]
        assert window.has_older and window.has_newer and window.leaf_id == ids[-1]
        below = await repo.path_below(ids[-1], ids[7], 3)
        assert [m.id for m in below] == ids[8:11]
        assert [m.id for m in await repo.path_below(ids[-1], ids[10], 3)] == ids[11:]
        assert await repo.path_below(ids[-1], ids[-1], 3) == []
        assert await repo.path_below(ids[-1], branch, 3) == []  # not on the path
        near_end = await repo.path_around(thread_id, ids[10], 1, 5)
        assert near_end is not None and [m.id for m in near_end.messages] == ids[9:]
        assert not near_end.has_newer
        assert await repo.path_around(thread_id, branch, 2, 2) is None
        assert await repo.path_around(thread_id, 10**6, 2, 2) is None

    arun(scenario())
