"""Opening a long path: its outline and tail in one trip, the rest read later by id."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.store.db import Database
from app.core.store.threads import PathEntry, ThreadRepository


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "outline.db")
    try:
        yield database
    finally:
        database.close()


def test_open_path_gives_the_outline_and_the_tail(db: Database, arun: Any) -> None:
    repo = ThreadRepository(db)

    async def scenario() -> None:
        thread = await repo.create_thread("t")
        parent = None
        ids = []
        for i in range(10):
            content = f"message {i}\nline two é" if i % 2 else f"message {i}"
            m = await repo.add_message(thread.id, parent, "user" if i % 2 == 0 else "assistant", content)
            ids.append(m.id)
            parent = m.id
        # A branch off message 4 that is not on the visible path.
        await repo.add_message(thread.id, ids[3], "assistant", "other branch")
        await repo.select_leaf(thread.id, ids[-1])

        outline, tail = await repo.open_path(thread.id, 3)
        assert [e.id for e in outline] == ids
        assert outline[1] == PathEntry(ids[1], ids[0], "assistant", len("message 1\nline two é".encode()), 1)
        assert outline[0].breaks == 0 and outline[0].parent_id is None
        assert [m.id for m in tail] == ids[-3:]
        assert tail[-1].content == "message 9\nline two é"

        earlier = await repo.messages_by_ids([ids[2], ids[0], 10**6, ids[1]])
        assert [m.id for m in earlier] == [ids[2], ids[0], ids[1]]  # in the order asked
        assert earlier[1].content == "message 0"

        empty = await repo.create_thread("empty")
        assert await repo.open_path(empty.id, 3) == ([], [])

    arun(scenario())
