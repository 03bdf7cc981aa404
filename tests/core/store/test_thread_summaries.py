"""ThreadRepository.list_thread_summaries: the sidebar's light query, ordered like list_threads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.store.db import Database
from app.core.store.threads import ThreadRepository, ThreadSummary


def test_summaries_match_list_threads(tmp_path: Path, arun: Callable[..., Any]) -> None:
    db = Database.open(tmp_path / "s.db")
    ticks = iter(range(1, 1000))
    repo = ThreadRepository(db, clock=lambda: float(next(ticks)))
    try:
        async def scenario() -> tuple[list[Any], list[ThreadSummary], list[ThreadSummary]]:
            a = await repo.create_thread("a")
            b = await repo.create_thread("b")
            c = await repo.create_thread("c")
            gone = await repo.create_thread("gone")
            await repo.set_pinned(a.id, True)
            await repo.set_archived(b.id, True)
            await repo.soft_delete(gone.id)
            await repo.add_message(c.id, None, "user", "newest")
            return (
                await repo.list_threads(include_archived=True),
                await repo.list_thread_summaries(),
                await repo.list_thread_summaries(include_archived=False),
            )

        full, summaries, live = arun(scenario())
        assert [(t.id, t.title, t.pinned, t.archived, t.updated_at) for t in full] == [tuple(s) for s in summaries]
        assert [s.title for s in summaries] == ["a", "c", "b"]
        assert summaries[2].archived and summaries[0].pinned
        assert [s.title for s in live] == ["a", "c"]
    finally:
        db.close()
