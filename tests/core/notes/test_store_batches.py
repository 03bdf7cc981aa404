"""The read before each embeddings batch: texts by hash, and the hashes that have a vector."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.core.store.db import Database
from app.core.store.notes import NewChunk, NotesIndexStore


def _meta(source_id: int) -> dict[str, object]:
    return {
        "source_id": source_id, "rel_path": "a.md", "note_id": None, "format": "markdown",
        "title": "a", "size": 1, "mtime_ns": 1, "sha256": "f", "status": "ok", "error": None,
    }


def test_texts_are_found_by_hash_after_a_file_is_rechunked(db: Database, tmp_path: Path) -> None:
    store = NotesIndexStore(db)

    async def main() -> None:
        source = await store.add_source(str(tmp_path), [], 1_000_000)
        index_id = await store.activate_index("p", "m", 0)
        kept = NewChunk(0, "aa" * 32, "a", 1, 1, None, 1, "kept text")
        dropped = NewChunk(1, "bb" * 32, "a", 3, 3, None, 1, "old text")
        await store.write_files([(_meta(source.id), [kept, dropped])])
        # The file is edited: its chunks are written again (new ids), one text is gone.
        await store.write_files([(_meta(source.id), [kept])])
        await store.put_vectors(index_id, [("cc" * 32, b"\x00\x00")])
        texts, known = await store.texts_to_embed(index_id, ["aa" * 32, "bb" * 32, "cc" * 32])
        assert texts == {"aa" * 32: ("a", "kept text")}
        assert known == {"cc" * 32}
        assert await store.texts_to_embed(index_id, []) == ({}, set())

    asyncio.run(main())
