"""Video generation jobs: the provider's task id and state, so polling survives a restart."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from app.core.store.db import Database
from app.core.store.records import VideoRecord

__all__ = ["VideoRepository"]

_FIELDS = {"task_id", "dialect", "state", "progress", "video_url", "local_path", "error", "model"}


class VideoRepository:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    async def create(
        self,
        prompt: str,
        *,
        profile_id: str | None = None,
        model: str | None = None,
        dialect: str | None = None,
        task_id: str | None = None,
        state: str = "queued",
    ) -> VideoRecord:
        now = self._clock()

        def insert(conn: sqlite3.Connection) -> VideoRecord:
            cur = conn.execute(
                "INSERT INTO videos (profile_id, model, prompt, task_id, dialect, state,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (profile_id, model, prompt, task_id, dialect, state, now, now),
            )
            row = conn.execute("SELECT * FROM videos WHERE id = ?", (cur.lastrowid,)).fetchone()
            return VideoRecord.from_row(row)

        return await self.db.run(insert)

    async def update(self, video_id: int, **fields: Any) -> VideoRecord:
        """Set some of: task_id, dialect, state, progress, video_url, local_path, error, model."""
        unknown = set(fields) - _FIELDS
        if unknown:
            raise ValueError(f"unknown video fields: {sorted(unknown)}")
        cols = {k: (str(v) if k == "state" and v is not None else v) for k, v in fields.items()}
        cols["updated_at"] = self._clock()
        sql = "UPDATE videos SET " + ", ".join(f"{c} = ?" for c in cols) + " WHERE id = ?"

        def update(conn: sqlite3.Connection) -> VideoRecord:
            conn.execute(sql, (*cols.values(), video_id))
            row = conn.execute("SELECT * FROM videos WHERE id = ?", (video_id,)).fetchone()
            if row is None:
                raise KeyError(f"no video {video_id}")
            return VideoRecord.from_row(row)

        return await self.db.run(update)

    async def get(self, video_id: int) -> VideoRecord | None:
        def select(conn: sqlite3.Connection) -> VideoRecord | None:
            row = conn.execute("SELECT * FROM videos WHERE id = ?", (video_id,)).fetchone()
            return None if row is None else VideoRecord.from_row(row)

        return await self.db.run(select)

    async def list_all(self, *, unfinished_only: bool = False) -> list[VideoRecord]:
        """Newest first; `unfinished_only`: the jobs still to poll after a restart."""

        def select(conn: sqlite3.Connection) -> list[VideoRecord]:
            sql = "SELECT * FROM videos"
            if unfinished_only:
                sql += " WHERE state NOT IN ('completed', 'failed', 'cancelled')"
            rows = conn.execute(sql + " ORDER BY created_at DESC, id DESC")
            return [VideoRecord.from_row(r) for r in rows]

        return await self.db.run(select)

    async def delete(self, video_id: int) -> None:
        await self.db.run(lambda conn: conn.execute("DELETE FROM videos WHERE id = ?", (video_id,)))
