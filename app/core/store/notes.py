"""Notes and their embedded chunks (for retrieval): rows, full-text search, vectors as blobs.

A chunk's `vector` is little-endian float32 × `dim`; `pack_vector`/`unpack_vector` convert.
"""

from __future__ import annotations

import sqlite3
import struct
import time
from collections.abc import Callable, Sequence

from app.core.store.db import Database, transaction
from app.core.store.fts import fts_query
from app.core.store.records import Note, NoteChunk

__all__ = ["NoteRepository", "pack_vector", "unpack_vector"]


def pack_vector(vector: Sequence[float]) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


def unpack_vector(blob: bytes) -> list[float]:
    return list(struct.unpack(f"<{len(blob) // 4}f", blob))


class NoteRepository:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    async def create(self, title: str, body: str = "") -> Note:
        now = self._clock()

        def insert(conn: sqlite3.Connection) -> Note:
            cur = conn.execute(
                "INSERT INTO notes (title, body, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (title, body, now, now),
            )
            return Note(int(cur.lastrowid or 0), title, body, now, now)

        return await self.db.run(insert)

    async def get(self, note_id: int) -> Note | None:
        def select(conn: sqlite3.Connection) -> Note | None:
            row = conn.execute("SELECT * FROM notes WHERE id = ?", (note_id,)).fetchone()
            return None if row is None else Note.from_row(row)

        return await self.db.run(select)

    async def list_all(self) -> list[Note]:
        """Most recently updated first."""

        def select(conn: sqlite3.Connection) -> list[Note]:
            rows = conn.execute("SELECT * FROM notes ORDER BY updated_at DESC, id DESC")
            return [Note.from_row(r) for r in rows]

        return await self.db.run(select)

    async def update(self, note_id: int, *, title: str, body: str) -> None:
        now = self._clock()
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE notes SET title = ?, body = ?, updated_at = ? WHERE id = ?",
                (title, body, now, note_id),
            )
        )

    async def delete(self, note_id: int) -> None:
        await self.db.run(lambda conn: conn.execute("DELETE FROM notes WHERE id = ?", (note_id,)))

    async def search(self, query: str, limit: int = 50) -> list[Note]:
        match = fts_query(query)
        if match is None:
            return []

        def select(conn: sqlite3.Connection) -> list[Note]:
            rows = conn.execute(
                "SELECT n.* FROM notes_fts JOIN notes n ON n.id = notes_fts.rowid"
                " WHERE notes_fts MATCH ? ORDER BY bm25(notes_fts), n.id DESC LIMIT ?",
                (match, limit),
            )
            return [Note.from_row(r) for r in rows]

        return await self.db.run(select)

    async def replace_chunks(
        self,
        note_id: int,
        chunks: Sequence[tuple[str, Sequence[float] | None]],
        *,
        model: str | None = None,
    ) -> None:
        """Replace a note's chunks with `(text, vector or None)` items, in order."""
        rows = [
            (
                note_id,
                i,
                text,
                model,
                None if v is None else len(v),
                None if v is None else pack_vector(v),
            )
            for i, (text, v) in enumerate(chunks)
        ]

        def write(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                conn.execute("DELETE FROM note_chunks WHERE note_id = ?", (note_id,))
                conn.executemany(
                    "INSERT INTO note_chunks (note_id, ord, text, model, dim, vector)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )

        await self.db.run(write)

    async def chunks(self, note_id: int | None = None) -> list[NoteChunk]:
        """The chunks of one note (or of every note), in order."""

        def select(conn: sqlite3.Connection) -> list[NoteChunk]:
            if note_id is None:
                rows = conn.execute("SELECT * FROM note_chunks ORDER BY note_id, ord")
            else:
                rows = conn.execute(
                    "SELECT * FROM note_chunks WHERE note_id = ? ORDER BY ord", (note_id,)
                )
            return [NoteChunk.from_row(r) for r in rows]

        return await self.db.run(select)
