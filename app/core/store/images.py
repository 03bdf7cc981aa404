"""Generated images: metadata rows (the image files live beside the database, named by hash)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from app.core.store.db import Database
from app.core.store.fts import fts_query
from app.core.store.records import ImageRecord

__all__ = ["ImageRepository"]


class ImageRepository:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    async def add(
        self,
        path: str,
        sha256: str,
        prompt: str,
        *,
        revised_prompt: str | None = None,
        model: str | None = None,
        profile_id: str | None = None,
        size: str | None = None,
    ) -> ImageRecord:
        now = self._clock()

        def insert(conn: sqlite3.Connection) -> ImageRecord:
            cur = conn.execute(
                "INSERT INTO images (path, sha256, prompt, revised_prompt, model, profile_id, size,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (path, sha256, prompt, revised_prompt or "", model, profile_id, size, now),
            )
            row = conn.execute("SELECT * FROM images WHERE id = ?", (cur.lastrowid,)).fetchone()
            return ImageRecord.from_row(row)

        return await self.db.run(insert)

    async def get(self, image_id: int) -> ImageRecord | None:
        def select(conn: sqlite3.Connection) -> ImageRecord | None:
            row = conn.execute("SELECT * FROM images WHERE id = ?", (image_id,)).fetchone()
            return None if row is None else ImageRecord.from_row(row)

        return await self.db.run(select)

    async def list_all(self, limit: int | None = None, offset: int = 0) -> list[ImageRecord]:
        """Newest first."""

        def select(conn: sqlite3.Connection) -> list[ImageRecord]:
            rows = conn.execute(
                "SELECT * FROM images ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                (-1 if limit is None else limit, offset),
            )
            return [ImageRecord.from_row(r) for r in rows]

        return await self.db.run(select)

    async def search(self, query: str, limit: int = 100) -> list[ImageRecord]:
        """Images whose prompt or revised prompt matches `query` (any text), best first."""
        match = fts_query(query)
        if match is None:
            return []

        def select(conn: sqlite3.Connection) -> list[ImageRecord]:
            rows = conn.execute(
                "SELECT i.* FROM images_fts JOIN images i ON i.id = images_fts.rowid"
                " WHERE images_fts MATCH ? ORDER BY bm25(images_fts), i.id DESC LIMIT ?",
                (match, limit),
            )
            return [ImageRecord.from_row(r) for r in rows]

        return await self.db.run(select)

    async def count_with_sha256(self, sha256: str) -> int:
        """How many rows use this file (delete the file only when the last goes)."""
        return await self.db.run(
            lambda conn: conn.execute(
                "SELECT count(*) FROM images WHERE sha256 = ?", (sha256,)
            ).fetchone()[0]
        )

    async def delete(self, image_id: int) -> None:
        await self.db.run(lambda conn: conn.execute("DELETE FROM images WHERE id = ?", (image_id,)))
