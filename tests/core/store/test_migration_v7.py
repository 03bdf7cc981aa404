"""Schema v7 (the sidebar's covering index) from a real v6 database with threads in every state:
the rows keep their data and order, and the sidebar's query walks the index (no sort, no table)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.store.db import Database, backup_path_for
from app.core.store.migrations import MIGRATIONS
from app.core.store.threads import OrderedSummaries, ThreadRepository

V7 = 7  # the index of `_v7_sidebar_index` + 1 (renumbered at merge if needed)

# (id, title, pinned, archived, updated_at, deleted_at)
THREADS = [
    (1, "Old pinned", 1, 0, 10.0, None),
    (2, "Recent", 0, 0, 50.0, None),
    (3, "Archived", 0, 1, 40.0, None),
    (4, "Deleted", 0, 0, 60.0, 55.0),
    (5, "Same time, newer id", 0, 0, 30.0, None),
    (6, "Same time, older id", 0, 0, 30.0, None),
    (7, "Pinned too", 1, 0, 5.0, None),
]


def build_v6_with_threads(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for step in range(V7 - 1):
            conn.execute("BEGIN")
            MIGRATIONS[step](conn)
            conn.execute(f"PRAGMA user_version = {step + 1}")
            conn.execute("COMMIT")
        conn.executemany(
            "INSERT INTO threads (id, title, pinned, archived, created_at, updated_at, deleted_at,"
            " params_json) VALUES (?, ?, ?, ?, 1, ?, ?, '{\"temperature\": 0.25}')",
            THREADS,
        )
    finally:
        conn.close()


def test_v6_threads_survive_in_the_sidebar_order_read_from_the_index(
    tmp_path: Path, arun: Callable[..., Any]
) -> None:
    path = tmp_path / "old.db"
    build_v6_with_threads(path)
    assert MIGRATIONS[V7 - 1].__name__ == "_v7_sidebar_index"
    db = Database.open(path)
    try:
        assert db.version >= V7
        assert backup_path_for(path, V7 - 1).exists()  # a copy taken before migrating
        repo = ThreadRepository(db)
        summaries = arun(repo.list_thread_summaries())
        live = arun(repo.list_thread_summaries(include_archived=False))
        full = arun(repo.list_threads(include_archived=True))
    finally:
        db.close()
    assert isinstance(summaries, OrderedSummaries)
    # Pinned first (most recent first), then by activity, ties by the newest id; deleted left out.
    assert [s.id for s in summaries] == [1, 7, 2, 3, 6, 5]
    assert [s.id for s in live] == [1, 7, 2, 6, 5]
    assert [tuple(s) for s in summaries] == [
        (t.id, t.title, t.pinned, t.archived, t.updated_at) for t in full
    ]
    assert summaries[3] == (3, "Archived", 0, 1, 40.0)
    assert all(t.params.temperature == 0.25 for t in full)

    conn = sqlite3.connect(path)
    try:
        for archived in ("", " AND archived = 0"):
            plan = " ".join(
                row[3]
                for row in conn.execute(
                    "EXPLAIN QUERY PLAN SELECT id, title, pinned != 0, archived != 0,"
                    " CAST(COALESCE(updated_at, 0) AS REAL) FROM threads WHERE deleted_at IS NULL"
                    f"{archived} ORDER BY pinned DESC, updated_at DESC, id DESC"
                )
            )
            assert "USING COVERING INDEX threads_sidebar" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
    finally:
        conn.close()
