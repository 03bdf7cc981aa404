"""ThreadRepository.list_thread_summaries: the sidebar's light query, ordered like list_threads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.store.db import Database
from app.core.store.threads import ThreadRepository, ThreadSummary, sidebar_key


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


def test_sidebar_pages_follow_the_listing_across_page_boundaries(tmp_path: Path, arun: Callable[..., Any]) -> None:
    db = Database.open(tmp_path / "p.db")
    repo = ThreadRepository(db, clock=lambda: 5.0)  # equal times: the id breaks the ties

    def insert(conn: Any) -> None:
        rows = [
            (f"t{i}", int(i % 7 == 0), int(i % 11 == 0), float(i // 3), float(i // 3))
            for i in range(1, 301)
        ]
        with conn:
            conn.executemany(
                "INSERT INTO threads (title, pinned, archived, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    try:
        async def scenario() -> tuple[list[Any], list[Any], list[Any], list[Any], Any, Any]:
            await db.run(insert)
            full = await repo.list_thread_summaries()
            pages: dict[bool, list[Any]] = {}
            for archived in (False, True):
                got: list[Any] = []
                while True:
                    after = sidebar_key(got[-1]) if got else None
                    page = await repo.sidebar_page(archived=archived, after=after, limit=16)
                    assert len(page) <= 16
                    got.extend(page)
                    if len(page) < 16:
                        break
                pages[archived] = got
            first = await repo.sidebar_first_pages(16)
            target = [s for s in full if not s.archived][200]
            through = await repo.sidebar_page(
                archived=False, after=sidebar_key(first.live[-1]), through=sidebar_key(target)
            )
            return full, pages[False], pages[True], list(through), first, target

        full, live, archived, through, first, target = arun(scenario())
        assert live == [s for s in full if not s.archived]
        assert archived == [s for s in full if s.archived]
        assert list(first.live) == live[:16] and list(first.archived) == archived[:16]
        assert first.archived_count == len(archived) == 300 // 11
        # "Load down to a thread": every row after the first page up to and including it.
        assert through[-1] == target and list(first.live) + through == live[: live.index(target) + 1]
        assert arun(repo.thread_summary(target.id)) == target
    finally:
        db.close()
