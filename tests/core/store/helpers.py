"""Helpers shared by the tests of tests/core/store (never a test module itself)."""

from __future__ import annotations

import sqlite3

from app.core.store.db import Database


def deep_chain(db: Database, length: int, *, word: str = "tide") -> tuple[int, list[int]]:
    """A thread holding one chain of `length` messages (each replying to the one before)."""

    def build(conn: sqlite3.Connection) -> tuple[int, list[int]]:
        conn.execute("BEGIN IMMEDIATE")
        tid = conn.execute(
            "INSERT INTO threads (title, created_at, updated_at) VALUES ('deep', 1, 1)"
        ).lastrowid
        first = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0]) + 1
        ids = list(range(first, first + length))
        conn.executemany(
            "INSERT INTO messages (id, thread_id, parent_id, role, content, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, 1, 1)",
            [
                (i, tid, i - 1 if i > first else None, "user" if n % 2 == 0 else "assistant",
                 f"{word} {n}")
                for n, i in enumerate(ids)
            ],
        )
        conn.execute("UPDATE threads SET selected_leaf_id = ? WHERE id = ?", (ids[-1], tid))
        conn.execute("COMMIT")
        return int(tid or 0), ids

    return db.run_sync(build)


def check_integrity(db: Database) -> None:
    """The database and its full-text index are consistent."""

    def check(conn: sqlite3.Connection) -> None:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # FTS5 compares its index with the external content table (raises if they differ).
        conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")

    db.run_sync(check)


def count_rows(db: Database, sql: str, *args: object) -> int:
    return int(db.run_sync(lambda conn: conn.execute(sql, args).fetchone()[0]))
