"""Notes in SQLite: app notes, note sources and files, structured chunks, per-model vectors.

SQLite is the source of truth; the in-memory vector index (`app.core.notes.vectors`) is a copy
rebuilt from `note_vectors`. Vectors are little-endian float16, normalised, keyed by
(index, SHA-256 of the chunk's embedded text): `pack_vector`/`unpack_vector` convert.
Heading paths are stored joined by U+001F (`HEADING_SEP`).

Every method is one call on the database thread (`Database.run`); writes that belong together
(a file's row and all its chunks) are one transaction, so a kill leaves a file either as it was
or fully replaced.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from app.core.store.db import Database, transaction
from app.core.store.fts import fts_query
from app.core.store.records import Note

__all__ = [
    "HEADING_SEP",
    "ChunkRow",
    "FileRow",
    "IndexRow",
    "NewChunk",
    "NoteRepository",
    "NotesIndexStore",
    "SourceRow",
    "keyword_query",
    "pack_vector",
    "unpack_vector",
]

HEADING_SEP = "\x1f"


def pack_vector(vector: Sequence[float]) -> bytes:
    """float16 little-endian bytes (numpy-free for small callers; the service packs arrays)."""
    import numpy as np

    return np.asarray(vector, dtype="<f2").tobytes()


def unpack_vector(blob: bytes) -> list[float]:
    import numpy as np

    return np.frombuffer(blob, dtype="<f2").astype(float).tolist()


_SUFFIX = re.compile(r"(?:ing|ed|es|s)$")
_STOP = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "how", "i", "in", "is", "it", "of", "on", "or", "that", "the", "this", "to", "was", "were", "what", "when", "where", "which", "who", "why", "will", "with", "my", "me", "do", "did", "does"]
)


def keyword_query(text: str) -> str | None:
    """An FTS5 expression matching ANY of the words, ranked by bm25: a question in plain words
    rarely has every word in the note it is about. Common function words are dropped (they
    match every note), and a longer word is searched by its crude stem as a prefix
    ("restarting" -> restart*), since the unicode61 tokenizer does not stem. Quoted as in
    `fts_query`, so FTS5 operators in the text are plain words."""
    parts: list[str] = []
    for word in text.split():
        if word.lower() in _STOP:
            continue
        quoted = fts_query(word, prefix_last=False)
        if quoted is None:
            continue
        stem = _SUFFIX.sub("", word.lower()) if len(word) >= 6 and word.isalpha() else ""
        parts.append(f'"{stem}"*' if len(stem) >= 4 else quoted)
    return " OR ".join(parts) if parts else None


def _record(cls: Any, row: sqlite3.Row) -> Any:
    keys = row.keys()
    return cls(**{f.name: row[f.name] for f in fields(cls) if f.name in keys})


@dataclass
class SourceRow:
    id: int
    kind: str
    path: str
    excludes_json: str
    max_file_size: int
    watching: int
    created_at: float
    last_indexed_at: float | None
    files: int = 0
    skipped: int = 0
    chunks: int = 0


@dataclass
class FileRow:
    id: int
    source_id: int
    rel_path: str
    note_id: int | None
    format: str
    title: str
    size: int
    mtime_ns: int
    sha256: str
    status: str
    error: str | None
    indexed_at: float


@dataclass
class IndexRow:
    id: int
    profile_id: str
    model: str
    dim: int
    actual_dim: int | None
    active: int
    created_at: float
    vectors: int = 0
    generation: int = 0  # bumped by every change to the index's vectors


@dataclass
class NewChunk:
    ord: int
    sha256: str
    heading: str  # joined by HEADING_SEP
    line_start: int
    line_end: int
    page: int | None
    tokens: int
    text: str


@dataclass
class ChunkRow:
    id: int
    file_id: int
    ord: int
    sha256: str
    heading: str
    line_start: int
    line_end: int
    page: int | None
    tokens: int
    text: str
    source_id: int = 0
    rel_path: str = ""
    note_id: int | None = None
    format: str = ""
    title: str = ""
    source_path: str = ""
    snippet: str = ""
    rank: float = 0.0


class NoteRepository:
    """Notes written in the app (soft-deleted ones are hidden from lists and search)."""

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

    async def deleted_at(self, note_id: int) -> float | None:
        row = await self.db.run(
            lambda conn: conn.execute("SELECT deleted_at FROM notes WHERE id = ?", (note_id,)).fetchone()
        )
        return None if row is None else row[0]

    async def list_all(self) -> list[Note]:
        """Live notes, most recently updated first."""

        def select(conn: sqlite3.Connection) -> list[Note]:
            rows = conn.execute(
                "SELECT * FROM notes WHERE deleted_at IS NULL ORDER BY updated_at DESC, id DESC"
            )
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

    async def set_deleted(self, note_id: int, deleted: bool) -> None:
        when = self._clock() if deleted else None
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE notes SET deleted_at = ? WHERE id = ?", (when, note_id)
            )
        )

    async def delete(self, note_id: int) -> None:
        """Delete for good (its file row and chunks go with it)."""
        await self.db.run(lambda conn: conn.execute("DELETE FROM notes WHERE id = ?", (note_id,)))

    async def search(self, query: str, limit: int = 50) -> list[Note]:
        match = fts_query(query)
        if match is None:
            return []

        def select(conn: sqlite3.Connection) -> list[Note]:
            rows = conn.execute(
                "SELECT n.* FROM notes_fts JOIN notes n ON n.id = notes_fts.rowid"
                " WHERE notes_fts MATCH ? AND n.deleted_at IS NULL"
                " ORDER BY bm25(notes_fts), n.id DESC LIMIT ?",
                (match, limit),
            )
            return [Note.from_row(r) for r in rows]

        return await self.db.run(select)


_CHUNK_COLS = (
    "c.id, c.file_id, c.ord, c.sha256, c.heading, c.line_start, c.line_end, c.page, c.tokens,"
    " c.text, f.source_id, f.rel_path, f.note_id, f.format, f.title, s.path AS source_path"
)
_CHUNK_JOIN = (
    "note_chunks c JOIN note_files f ON f.id = c.file_id JOIN note_sources s ON s.id = f.source_id"
)


class NotesIndexStore:
    """Sources, files, chunks, indexes and vectors (see the module docstring)."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    # --- sources ------------------------------------------------------------------------------

    async def add_source(self, path: str, excludes: Sequence[str], max_file_size: int) -> SourceRow:
        now = self._clock()

        def insert(conn: sqlite3.Connection) -> SourceRow:
            cur = conn.execute(
                "INSERT INTO note_sources (kind, path, excludes_json, max_file_size, created_at)"
                " VALUES ('folder', ?, ?, ?, ?)",
                (path, json.dumps(list(excludes)), max_file_size, now),
            )
            return self._source(conn, int(cur.lastrowid or 0))  # type: ignore[return-value]

        return await self.db.run(insert)

    @staticmethod
    def _source(conn: sqlite3.Connection, source_id: int) -> SourceRow | None:
        row = conn.execute(
            "SELECT s.*,"
            " (SELECT COUNT(*) FROM note_files f WHERE f.source_id = s.id AND f.status = 'ok') AS files,"
            " (SELECT COUNT(*) FROM note_files f WHERE f.source_id = s.id AND f.status != 'ok') AS skipped,"
            " (SELECT COUNT(*) FROM note_chunks c JOIN note_files f ON f.id = c.file_id"
            "   WHERE f.source_id = s.id) AS chunks"
            " FROM note_sources s WHERE s.id = ?",
            (source_id,),
        ).fetchone()
        return None if row is None else _record(SourceRow, row)

    async def get_source(self, source_id: int) -> SourceRow | None:
        return await self.db.run(lambda conn: self._source(conn, source_id))

    async def list_sources(self) -> list[SourceRow]:
        def select(conn: sqlite3.Connection) -> list[SourceRow]:
            ids = [r[0] for r in conn.execute("SELECT id FROM note_sources ORDER BY id")]
            return [s for s in (self._source(conn, i) for i in ids) if s is not None]

        return await self.db.run(select)

    async def update_source(self, source_id: int, **values: Any) -> None:
        allowed = {"excludes_json", "max_file_size", "watching", "last_indexed_at"}
        assert set(values) <= allowed, values
        sets = ", ".join(f"{k} = ?" for k in values)
        await self.db.run(
            lambda conn: conn.execute(
                f"UPDATE note_sources SET {sets} WHERE id = ?", (*values.values(), source_id)
            )
        )

    async def remove_source(self, source_id: int) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                conn.execute("DELETE FROM note_sources WHERE id = ? AND kind = 'folder'", (source_id,))

        await self.db.run(delete)

    # --- files and chunks ---------------------------------------------------------------------

    async def files(self, source_id: int) -> dict[str, FileRow]:
        def select(conn: sqlite3.Connection) -> dict[str, FileRow]:
            rows = conn.execute("SELECT * FROM note_files WHERE source_id = ?", (source_id,))
            return {r["rel_path"]: _record(FileRow, r) for r in rows}

        return await self.db.run(select)

    async def get_file(self, file_id: int) -> FileRow | None:
        def select(conn: sqlite3.Connection) -> FileRow | None:
            row = conn.execute("SELECT * FROM note_files WHERE id = ?", (file_id,)).fetchone()
            return None if row is None else _record(FileRow, row)

        return await self.db.run(select)

    async def write_files(self, items: Sequence[tuple[dict[str, Any], Sequence[NewChunk] | None]]) -> None:
        """Upsert file rows; for each one with chunks (not None) replace its chunks — all in one
        transaction. A file dict has source_id, rel_path, note_id, format, title, size, mtime_ns,
        sha256, status, error."""
        now = self._clock()

        def write(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                for meta, chunks in items:
                    row = conn.execute(
                        "INSERT INTO note_files (source_id, rel_path, note_id, format, title, size,"
                        " mtime_ns, sha256, status, error, indexed_at)"
                        " VALUES (:source_id, :rel_path, :note_id, :format, :title, :size, :mtime_ns,"
                        " :sha256, :status, :error, :now)"
                        " ON CONFLICT (source_id, rel_path) DO UPDATE SET note_id = excluded.note_id,"
                        " format = excluded.format, title = excluded.title, size = excluded.size,"
                        " mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256,"
                        " status = excluded.status, error = excluded.error,"
                        " indexed_at = excluded.indexed_at RETURNING id",
                        {**meta, "now": now},
                    ).fetchone()
                    if chunks is None:
                        continue
                    file_id = row[0]
                    conn.execute("DELETE FROM note_chunks WHERE file_id = ?", (file_id,))
                    conn.executemany(
                        "INSERT INTO note_chunks (file_id, ord, sha256, heading, line_start, line_end,"
                        " page, tokens, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            (file_id, c.ord, c.sha256, c.heading, c.line_start, c.line_end, c.page,
                             c.tokens, c.text)
                            for c in chunks
                        ],
                    )

        await self.db.run(write)

    async def touch_files(self, items: Sequence[tuple[int, int, int]]) -> None:
        """(file_id, size, mtime_ns): the content hash matched, only the stat changed."""
        await self.db.run(
            lambda conn: conn.executemany(
                "UPDATE note_files SET size = ?, mtime_ns = ? WHERE id = ?",
                [(s, m, i) for i, s, m in items],
            )
        )

    async def delete_files(self, file_ids: Iterable[int]) -> None:
        ids = [(i,) for i in file_ids]

        def delete(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                conn.executemany("DELETE FROM note_files WHERE id = ?", ids)

        if ids:
            await self.db.run(delete)

    async def chunks_of(self, file_id: int) -> list[ChunkRow]:
        def select(conn: sqlite3.Connection) -> list[ChunkRow]:
            rows = conn.execute(
                f"SELECT {_CHUNK_COLS} FROM {_CHUNK_JOIN} WHERE c.file_id = ? ORDER BY c.ord",
                (file_id,),
            )
            return [_record(ChunkRow, r) for r in rows]

        return await self.db.run(select)

    async def chunks_by_sha(self, shas: Sequence[str]) -> dict[str, ChunkRow]:
        """One chunk row (the lowest id) per text hash."""
        def select(conn: sqlite3.Connection) -> dict[str, ChunkRow]:
            out: dict[str, ChunkRow] = {}
            for start in range(0, len(shas), 500):
                part = list(shas[start : start + 500])
                marks = ",".join("?" * len(part))
                rows = conn.execute(
                    f"SELECT {_CHUNK_COLS} FROM {_CHUNK_JOIN} WHERE c.sha256 IN ({marks})"
                    " ORDER BY c.id",
                    part,
                )
                for r in rows:
                    out.setdefault(r["sha256"], _record(ChunkRow, r))
            return out

        return await self.db.run(select)

    async def keyword(self, match: str, limit: int) -> list[ChunkRow]:
        """FTS5 hits best first (bm25, headings weigh double), with highlighted snippets."""
        def select(conn: sqlite3.Connection) -> list[ChunkRow]:
            rows = conn.execute(
                f"SELECT {_CHUNK_COLS}, snippet(note_chunks_fts, 1, char(2), char(3), '…', 24)"
                " AS snippet, bm25(note_chunks_fts, 2.0, 1.0) AS rank"
                " FROM note_chunks_fts JOIN note_chunks c ON c.id = note_chunks_fts.rowid"
            " JOIN note_files f ON f.id = c.file_id JOIN note_sources s ON s.id = f.source_id"
                " WHERE note_chunks_fts MATCH ? ORDER BY rank LIMIT ?",
                (match, limit),
            )
            return [_record(ChunkRow, r) for r in rows]

        return await self.db.run(select)

    async def pending(self, index_id: int, source_ids: Sequence[int] | None) -> list[tuple[str, int]]:
        """(text hash, a chunk id) of chunks with no vector in the index, in chunk order."""
        def select(conn: sqlite3.Connection) -> list[tuple[str, int]]:
            where = ""
            args: list[Any] = [index_id]
            if source_ids is not None:
                where = f" AND f.source_id IN ({','.join('?' * len(source_ids))})"
                args += list(source_ids)
            rows = conn.execute(
                "SELECT c.sha256, MIN(c.id) FROM note_chunks c JOIN note_files f ON f.id = c.file_id"
                " WHERE NOT EXISTS (SELECT 1 FROM note_vectors v WHERE v.index_id = ?"
                f" AND v.sha256 = c.sha256){where} GROUP BY c.sha256 ORDER BY MIN(c.id)",
                args,
            )
            return [(r[0], r[1]) for r in rows]

        return await self.db.run(select)

    async def pending_count(self, index_id: int | None) -> dict[int, tuple[int, int]]:
        """Per source: (chunks lacking a vector in the index, their tokens)."""
        def select(conn: sqlite3.Connection) -> dict[int, tuple[int, int]]:
            rows = conn.execute(
                "SELECT f.source_id, COUNT(*), COALESCE(SUM(c.tokens), 0)"
                " FROM note_chunks c JOIN note_files f ON f.id = c.file_id"
                " WHERE NOT EXISTS (SELECT 1 FROM note_vectors v WHERE v.index_id = ?"
                " AND v.sha256 = c.sha256) GROUP BY f.source_id",
                (index_id if index_id is not None else -1,),
            )
            return {r[0]: (r[1], r[2]) for r in rows}

        return await self.db.run(select)

    async def texts_to_embed(
        self, index_id: int, shas: Sequence[str]
    ) -> tuple[dict[str, tuple[str, str]], set[str]]:
        """For a batch of text hashes, in one call: hash -> (heading, text) of a chunk that
        still has it (a hash whose chunks are gone is missing), and the hashes that already
        have a vector in the index."""
        def select(conn: sqlite3.Connection) -> tuple[dict[str, tuple[str, str]], set[str]]:
            marks = ",".join("?" * len(shas))
            texts = {
                r[0]: (r[1], r[2])
                for r in conn.execute(
                    f"SELECT sha256, heading, text FROM note_chunks WHERE sha256 IN ({marks})"
                    " GROUP BY sha256",  # one row per hash: the same hash is the same text
                    list(shas),
                )
            }
            known = {
                r[0]
                for r in conn.execute(
                    f"SELECT sha256 FROM note_vectors WHERE index_id = ? AND sha256 IN ({marks})",
                    [index_id, *shas],
                )
            }
            return texts, known

        return await self.db.run(select) if shas else ({}, set())

    # --- indexes and vectors ------------------------------------------------------------------

    async def indexes(self, *, counts: bool = True) -> list[IndexRow]:
        """Every index; `counts=False` leaves `vectors` at 0 (counting reads every vector: a
        search does not need it)."""
        count = "(SELECT COUNT(*) FROM note_vectors v WHERE v.index_id = i.id)" if counts else "0"

        def select(conn: sqlite3.Connection) -> list[IndexRow]:
            rows = conn.execute(
                f"SELECT i.*, {count} AS vectors FROM note_indexes i ORDER BY i.id"
            )
            return [_record(IndexRow, r) for r in rows]

        return await self.db.run(select)

    async def activate_index(self, profile_id: str, model: str, dim: int) -> int:
        now = self._clock()

        def write(conn: sqlite3.Connection) -> int:
            with transaction(conn):
                conn.execute(
                    "INSERT INTO note_indexes (profile_id, model, dim, created_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (profile_id, model, dim) DO NOTHING",
                    (profile_id, model, dim, now),
                )
                index_id = conn.execute(
                    "SELECT id FROM note_indexes WHERE profile_id = ? AND model = ? AND dim = ?",
                    (profile_id, model, dim),
                ).fetchone()[0]
                conn.execute("UPDATE note_indexes SET active = (id = ?)", (index_id,))
                return int(index_id)

        return await self.db.run(write)

    async def set_actual_dim(self, index_id: int, dim: int) -> None:
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE note_indexes SET actual_dim = ? WHERE id = ? AND actual_dim IS NULL",
                (dim, index_id),
            )
        )

    async def drop_index(self, index_id: int) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                conn.execute("DELETE FROM note_vectors WHERE index_id = ?", (index_id,))
                conn.execute("DELETE FROM note_indexes WHERE id = ?", (index_id,))

        await self.db.run(delete)

    @staticmethod
    def _bump(conn: sqlite3.Connection, index_id: int) -> int:
        conn.execute("UPDATE note_indexes SET generation = generation + 1 WHERE id = ?", (index_id,))
        row = conn.execute("SELECT generation FROM note_indexes WHERE id = ?", (index_id,)).fetchone()
        return int(row[0]) if row else 0

    async def put_vectors(self, index_id: int, items: Sequence[tuple[str, bytes]]) -> int:
        """Store vectors at once (one transaction): a kill after this never re-sends them.
        Returns the index's generation after the write."""
        def write(conn: sqlite3.Connection) -> int:
            with transaction(conn):
                conn.executemany(
                    "INSERT OR IGNORE INTO note_vectors (index_id, sha256, vector) VALUES (?, ?, ?)",
                    [(index_id, sha, blob) for sha, blob in items],
                )
                return self._bump(conn, index_id)

        return await self.db.run(write)

    async def vector_state(self, index_id: int) -> tuple[int, int]:
        """(vectors stored, generation) of an index."""
        def select(conn: sqlite3.Connection) -> tuple[int, int]:
            count = conn.execute(
                "SELECT COUNT(*) FROM note_vectors WHERE index_id = ?", (index_id,)
            ).fetchone()[0]
            row = conn.execute("SELECT generation FROM note_indexes WHERE id = ?", (index_id,)).fetchone()
            return int(count), int(row[0]) if row else 0

        return await self.db.run(select)

    async def vector_page(
        self, index_id: int, after: str, limit: int
    ) -> list[tuple[str, bytes]]:
        """Up to `limit` (hash, vector) in hash order after `after` ("" for the first page):
        all vectors, a page at a time, never all in memory at once."""
        return await self.db.run(
            lambda conn: conn.execute(
                "SELECT sha256, vector FROM note_vectors WHERE index_id = ? AND sha256 > ?"
                " ORDER BY sha256 LIMIT ?",
                (index_id, after, limit),
            ).fetchall()
        )

    async def vectors_by_prefix(
        self, index_id: int, prefixes: Sequence[str]
    ) -> list[tuple[str, bytes]]:
        """(hash, vector) of every hash that starts with one of `prefixes` (lowercase hex)."""
        def select(conn: sqlite3.Connection) -> list[tuple[str, bytes]]:
            out: list[tuple[str, bytes]] = []
            for p in dict.fromkeys(prefixes):
                out += conn.execute(
                    "SELECT sha256, vector FROM note_vectors WHERE index_id = ? AND sha256 >= ?"
                    " AND sha256 < ?",
                    (index_id, p, p + "g"),  # 'g' sorts after every hex digit
                ).fetchall()
            return out

        return await self.db.run(select) if prefixes else []

    async def vectors(self, index_id: int, shas: Sequence[str] | None = None) -> list[tuple[str, bytes]]:
        def select(conn: sqlite3.Connection) -> list[tuple[str, bytes]]:
            if shas is None:
                return conn.execute(
                    "SELECT sha256, vector FROM note_vectors WHERE index_id = ?", (index_id,)
                ).fetchall()
            out: list[tuple[str, bytes]] = []
            for start in range(0, len(shas), 500):
                part = list(shas[start : start + 500])
                out += conn.execute(
                    "SELECT sha256, vector FROM note_vectors WHERE index_id = ? AND sha256 IN"
                    f" ({','.join('?' * len(part))})",
                    [index_id, *part],
                ).fetchall()
            return out

        return await self.db.run(select)

    async def orphan_vectors(self, index_id: int) -> list[str]:
        """Hashes with a vector but no chunk any more (deleted or edited text)."""
        return await self.db.run(
            lambda conn: [
                r[0]
                for r in conn.execute(
                    "SELECT v.sha256 FROM note_vectors v WHERE v.index_id = ? AND NOT EXISTS"
                    " (SELECT 1 FROM note_chunks c WHERE c.sha256 = v.sha256)",
                    (index_id,),
                )
            ]
        )

    async def delete_vectors(self, index_id: int, shas: Sequence[str]) -> int | None:
        """Returns the index's generation after the delete (None: nothing to delete)."""
        def delete(conn: sqlite3.Connection) -> int:
            with transaction(conn):
                conn.executemany(
                    "DELETE FROM note_vectors WHERE index_id = ? AND sha256 = ?",
                    [(index_id, s) for s in shas],
                )
                return self._bump(conn, index_id)

        return await self.db.run(delete) if shas else None

    # --- chat messages (read only) ------------------------------------------------------------

    async def message_text(self, message_id: int) -> tuple[str, str] | None:
        """A chat message's content and its thread's title ("Save as note")."""
        def select(conn: sqlite3.Connection) -> tuple[str, str] | None:
            row = conn.execute(
                "SELECT m.content, t.title FROM messages m JOIN threads t ON t.id = m.thread_id"
                " WHERE m.id = ?",
                (message_id,),
            ).fetchone()
            return None if row is None else (row[0], row[1])

        return await self.db.run(select)
