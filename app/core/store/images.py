"""Generated images: metadata rows in SQLite, files beside the database named by content hash.

`ImageFiles` writes an image atomically (temp file + fsync + rename) to
`<images_dir>/<sha[:2]>/<sha><ext>`; the same bytes are stored once. `ImageRepository` holds the
rows: the gallery is keyset-paginated newest first over `(created_at, id)` (never OFFSET), and
every filter is served by a partial index on live rows (schema v4). Deleting is soft
(`deleted_at`) so it can be undone; `purge` removes rows for good and says which files are no
longer used by any row.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from app.core.errors import StorageError
from app.core.store.db import Database, transaction
from app.core.store.fts import fts_query
from app.core.store.records import ImageRecord

__all__ = ["ImageFiles", "ImageQuery", "ImageRepository", "ImageSummary"]


class ImageFiles:
    """Content-addressed image files under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def relative_path(self, sha256: str, ext: str) -> str:
        return f"{sha256[:2]}/{sha256}{ext}"

    def absolute(self, relative: str) -> Path:
        return self.root / relative

    def write(self, data: bytes, ext: str) -> tuple[str, str]:
        """Store `data` (blocking: call on a worker thread); returns (sha256, relative path).

        An existing file with that name already holds these bytes (the name is their hash), so
        it is kept. Failures (disk full, read-only) become StorageError.
        """
        sha = hashlib.sha256(data).hexdigest()
        relative = self.relative_path(sha, ext)
        target = self.root / relative
        if target.exists() and target.stat().st_size == len(data):
            return sha, relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".part-", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            _fsync_dir(target.parent)
        except OSError as exc:
            raise StorageError(
                "The image could not be saved to the data directory (is the disk full or "
                "read-only?). Free some space and retry the download.",
                detail=str(exc),
            ) from exc
        return sha, relative

    def remove(self, relative: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / relative).unlink()


def _fsync_dir(path: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class ImageSummary(NamedTuple):
    """What a grid or list of images shows of one (a page of the gallery reads only these
    columns: no JSON to decode, and the row is a tuple sqlite3 builds). The full record is
    `ImageRecord` (`ImageRepository.get`)."""

    id: int
    path: str  # relative to the images directory, as ImageRecord.path
    sha256: str
    prompt: str
    model: str | None
    profile_id: str | None
    size: str | None
    created_at: float
    starred: int  # 0 / 1 as stored
    job_id: int | None
    batch_index: int


_SUMMARY_COLUMNS = ", ".join(f"i.{name}" for name in ImageSummary._fields)


@dataclass
class ImageQuery:
    """A gallery query (the service's GalleryFilter, in column terms)."""

    text: str = ""
    profile_id: str | None = None
    model: str | None = None
    size: str | None = None
    since: float | None = None
    until: float | None = None
    starred: bool | None = None
    job_id: int | None = None
    deleted: bool = False


_NEW_COLUMNS = (
    "path, sha256, prompt, revised_prompt, model, profile_id, size, created_at, job_id,"
    " batch_index, provider, quality, style, seed, negative_prompt, params_json, width, height,"
    " mime, byte_size, raw_response_json"
)


class ImageRepository:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    # --- writing ------------------------------------------------------------------------------

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
        return await self.add_image(
            ImageRecord.new(
                path,
                sha256,
                prompt,
                revised_prompt=revised_prompt or "",
                model=model,
                profile_id=profile_id,
                size=size,
            )
        )

    async def add_image(self, image: ImageRecord) -> ImageRecord:
        """Insert one image (made with `ImageRecord.new`; its id, star and trash mark are not
        written) and return it as stored; for a generation's image (`job_id` set) the row already written
        for that place in the batch is returned instead (a resumed download saves once)."""
        if image.job_id is not None:
            job_id, index = image.job_id, image.batch_index
            existing = await self.db.run(
                lambda conn: conn.execute(
                    "SELECT * FROM images WHERE job_id = ? AND batch_index = ?", (job_id, index)
                ).fetchone()
            )
            if existing is not None:
                return ImageRecord.from_row(existing)
        return (await self.add_many([image]))[0]

    async def add_many(self, images: list[ImageRecord]) -> list[ImageRecord]:
        """Insert rows in one transaction (benchmarks and imports insert thousands)."""
        now = self._clock()

        def insert(conn: sqlite3.Connection) -> list[ImageRecord]:
            ids: list[int] = []
            with transaction(conn):
                for im in images:
                    cur = conn.execute(
                        f"INSERT INTO images ({_NEW_COLUMNS}) VALUES"
                        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            im.path, im.sha256, im.prompt, im.revised_prompt, im.model,
                            im.profile_id, im.size, im.created_at or now,
                            im.job_id, im.batch_index, im.provider, im.quality, im.style, im.seed,
                            im.negative_prompt, json.dumps(im.params), im.width, im.height,
                            im.mime, im.byte_size, json.dumps(im.raw_response),
                        ),
                    )
                    ids.append(int(cur.lastrowid or 0))
            if len(ids) > 500:
                return []  # bulk loads do not need the rows back
            return [_get(conn, i) for i in ids]  # type: ignore[misc]

        return await self.db.run(insert)

    async def set_starred(self, image_id: int, starred: bool) -> ImageRecord | None:
        return await self._set(image_id, "starred = ?", int(starred))

    async def soft_delete(self, image_id: int) -> ImageRecord | None:
        return await self._set(image_id, "deleted_at = ?", self._clock())

    async def restore(self, image_id: int) -> ImageRecord | None:
        return await self._set(image_id, "deleted_at = ?", None)

    async def _set(self, image_id: int, assignment: str, value: Any) -> ImageRecord | None:
        def write(conn: sqlite3.Connection) -> ImageRecord | None:
            conn.execute(f"UPDATE images SET {assignment} WHERE id = ?", (value, image_id))
            return _get(conn, image_id)

        return await self.db.run(write)

    async def purge(self, older_than: float | None = None) -> list[str]:
        """Delete trashed rows for good; the relative paths no row uses any more."""

        def purge(conn: sqlite3.Connection) -> list[str]:
            with transaction(conn):
                rows = conn.execute(
                    "SELECT id, path, sha256 FROM images WHERE deleted_at IS NOT NULL"
                    " AND deleted_at < ?",
                    (float("inf") if older_than is None else older_than,),
                ).fetchall()
                conn.executemany("DELETE FROM images WHERE id = ?", [(r["id"],) for r in rows])
                orphans = []
                for r in rows:
                    left = conn.execute(
                        "SELECT 1 FROM images WHERE sha256 = ? LIMIT 1", (r["sha256"],)
                    ).fetchone()
                    if left is None:
                        orphans.append(r["path"])
                return sorted(set(orphans))

        return await self.db.run(purge)

    async def delete(self, image_id: int) -> None:
        await self.db.run(lambda conn: conn.execute("DELETE FROM images WHERE id = ?", (image_id,)))

    # --- reading ------------------------------------------------------------------------------

    async def get(self, image_id: int) -> ImageRecord | None:
        return await self.db.run(_get, image_id)

    async def page(
        self, query: ImageQuery, after: tuple[float, int] | None, limit: int
    ) -> list[ImageRecord]:
        """Newest first, strictly after the `(created_at, id)` cursor."""
        sql, args = _page_sql("i.*", query, after)

        def select(conn: sqlite3.Connection) -> list[ImageRecord]:
            return [ImageRecord.from_row(r) for r in conn.execute(sql, (*args, limit))]

        return await self.db.run(select)

    async def summaries(
        self, query: ImageQuery, after: tuple[float, int] | None, limit: int
    ) -> list[ImageSummary]:
        """`page`, but only what a grid or list shows of each image (`ImageSummary`)."""
        sql, args = _page_sql(_SUMMARY_COLUMNS, query, after)

        def select(conn: sqlite3.Connection) -> list[ImageSummary]:
            cur = conn.cursor()
            cur.row_factory = None  # plain tuples, built by sqlite3 in C
            make = ImageSummary._make
            return [make(r) for r in cur.execute(sql, (*args, limit))]

        return await self.db.run(select)

    async def count(self, query: ImageQuery) -> int:
        where, args = _where(query)
        sql = f"SELECT count(*) FROM images i WHERE {' AND '.join(where)}"
        return await self.db.run(lambda conn: int(conn.execute(sql, args).fetchone()[0]))

    async def batch(self, job_id: int) -> list[ImageRecord]:
        def select(conn: sqlite3.Connection) -> list[ImageRecord]:
            rows = conn.execute(
                "SELECT * FROM images WHERE job_id = ? ORDER BY batch_index, id", (job_id,)
            )
            return [ImageRecord.from_row(r) for r in rows]

        return await self.db.run(select)

    async def facets(self) -> dict[str, list[str]]:
        def select(conn: sqlite3.Connection) -> dict[str, list[str]]:
            out: dict[str, list[str]] = {}
            for column in ("profile_id", "model", "size"):
                rows = conn.execute(
                    f"SELECT DISTINCT {column} FROM images WHERE deleted_at IS NULL"
                    f" AND {column} IS NOT NULL ORDER BY {column}"
                )
                out[column] = [r[0] for r in rows]
            return out

        return await self.db.run(select)

    async def list_all(self, limit: int | None = None, offset: int = 0) -> list[ImageRecord]:
        """Newest first (kept for exports; the gallery uses `page`)."""

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


def _get(conn: sqlite3.Connection, image_id: int) -> ImageRecord | None:
    row = conn.execute("SELECT * FROM images WHERE id = ?", (image_id,)).fetchone()
    return None if row is None else ImageRecord.from_row(row)


def _page_sql(
    columns: str, query: ImageQuery, after: tuple[float, int] | None
) -> tuple[str, list[Any]]:
    where, args = _where(query)
    if after is not None:
        where.append("(i.created_at, i.id) < (?, ?)")
        args.extend(after)
    sql = (
        f"SELECT {columns} FROM images i WHERE {' AND '.join(where)}"
        " ORDER BY i.created_at DESC, i.id DESC LIMIT ?"
    )
    return sql, args


def _where(q: ImageQuery) -> tuple[list[str], list[Any]]:
    # The literal `deleted_at IS NULL` (and `starred = 1`) lets SQLite pick the partial indexes.
    where: list[str] = ["i.deleted_at IS NOT NULL" if q.deleted else "i.deleted_at IS NULL"]
    args: list[Any] = []
    for column in ("profile_id", "model", "size", "job_id"):
        value = getattr(q, column)
        if value is not None:
            where.append(f"i.{column} = ?")
            args.append(value)
    if q.starred:
        where.append("i.starred = 1")
    elif q.starred is False:
        where.append("i.starred = 0")
    if q.since is not None:
        where.append("i.created_at >= ?")
        args.append(q.since)
    if q.until is not None:
        where.append("i.created_at < ?")
        args.append(q.until)
    if q.text.strip():
        match = fts_query(q.text)
        if match is None:
            where.append("0")
        else:
            # Unary `+`: walk the (created_at, id) index newest first and test each row against
            # the match set, instead of fetching every match and sorting them all; the first
            # page of a common word then stops after a few hundred rows (80 ms -> a few ms).
            where.append("+i.id IN (SELECT rowid FROM images_fts WHERE images_fts MATCH ?)")
            args.append(match)
    return where, args
