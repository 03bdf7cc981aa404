"""Video generation jobs.

`VideoJobRepository` (issue 11) reads the durable video jobs for the queue panel: one query over
the `jobs` table (kind "video.generate", `owner_key` = the profile id; what was asked is
`params_json`, what was achieved `result_json`), with the panel's filters (states, profile,
prompt text), newest first, so the Videos tab never scans rows in Python.

`VideoRepository` is the older `videos` table of the seed schema (kept for its tests; the video
service no longer writes it: a video job's every step is in `jobs`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.core.store.db import Database
from app.core.store.records import VideoRecord

if TYPE_CHECKING:
    from app.core.jobs.records import JobRecord

__all__ = ["VideoJobQuery", "VideoJobRepository", "VideoRepository"]

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


@dataclass
class VideoJobQuery:
    states: Collection[str] | None = None
    profile_id: str | None = None
    text: str = ""
    limit: int = 2000


class VideoJobRepository:
    def __init__(self, db: Database, kind: str) -> None:
        self.db = db
        self.kind = kind

    async def list(self, query: VideoJobQuery) -> list[JobRecord]:
        where = ["kind = ?"]
        args: list[object] = [self.kind]
        if query.states is not None:
            states = list(query.states)
            if not states:
                return []
            where.append(f"state IN ({', '.join('?' for _ in states)})")
            args.extend(states)
        if query.profile_id is not None:
            where.append("owner_key = ?")
            args.append(query.profile_id)
        if query.text.strip():
            escaped = query.text.strip().lower().replace("\\", "\\\\").replace("%", "\\%")
            escaped = escaped.replace("_", "\\_")
            where.append("lower(json_extract(params_json, '$.prompt')) LIKE ? ESCAPE '\\'")
            args.append(f"%{escaped}%")
        sql = f"SELECT * FROM jobs WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?"
        args.append(max(0, query.limit))

        # Imported here: app.core.jobs imports the store package (a cycle at import time); the
        # records module only, since the engine sits above the store (import-linter layers).
        from app.core.jobs.records import JobRecord

        def select(conn: sqlite3.Connection) -> list[JobRecord]:
            return [JobRecord.from_row(r) for r in conn.execute(sql, args)]

        return await self.db.run(select)

    async def linked(self, job_id: int) -> list[JobRecord]:
        """Jobs that retry or remix `job_id`, oldest first."""
        from app.core.jobs.records import JobRecord

        def select(conn: sqlite3.Connection) -> list[JobRecord]:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE kind = ? AND (json_extract(params_json, '$.retry_of') = ?"
                " OR json_extract(params_json, '$.remix_of') = ?) ORDER BY id",
                (self.kind, job_id, job_id),
            )
            return [JobRecord.from_row(r) for r in rows]

        return await self.db.run(select)
