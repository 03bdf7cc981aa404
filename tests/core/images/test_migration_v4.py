"""Schema v4 (jobs + image library) from v3 with data: images keep their rows and stay searchable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.core.jobs import JobStore
from app.core.services.images import GalleryFilter
from app.core.store.db import Database
from app.core.store.images import ImageQuery, ImageRepository
from app.core.store.migrations import MIGRATIONS

V4 = 4  # the index of `_v4_jobs_and_image_library` + 1 (renumbered at merge if needed)


def build_v3_with_images(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for step in range(V4 - 1):
            conn.execute("BEGIN")
            MIGRATIONS[step](conn)
            conn.execute(f"PRAGMA user_version = {step + 1}")
            conn.execute("COMMIT")
        conn.execute(
            "INSERT INTO images (path, sha256, prompt, revised_prompt, model, profile_id, size,"
            " created_at) VALUES ('ab/ab.png', 'ab', 'an otter on a kayak', '', 'dall-e-3', 'p',"
            " '1024x1024', 5), ('cd/cd.png', 'cd', 'a lighthouse', 'a tall lighthouse', NULL, NULL,"
            " NULL, 6)"
        )
    finally:
        conn.close()


def test_v3_images_survive_and_are_searchable_and_jobs_work(tmp_path: Path, arun) -> None:
    path = tmp_path / "old.db"
    build_v3_with_images(path)
    assert MIGRATIONS[V4 - 1].__name__ == "_v4_jobs_and_image_library"
    db = Database.open(path)
    try:
        assert db.version >= V4

        async def check() -> None:
            repo = ImageRepository(db)
            otters = await repo.page(ImageQuery(text="ott"), None, 10)  # prefix index
            assert [im.prompt for im in otters] == ["an otter on a kayak"]
            tall = await repo.page(ImageQuery(text="tall"), None, 10)  # revised prompt indexed
            assert [im.sha256 for im in tall] == ["cd"]
            old = otters[0]
            assert old.starred is False and old.deleted_at is None and old.params == {}
            assert old.job_id is None and old.model == "dall-e-3"
            assert len(await repo.page(ImageQuery(), None, 10)) == 2
            await repo.soft_delete(old.id)
            assert await repo.count(ImageQuery(**vars(GalleryFilter(text="otter")))) == 0
            job = await JobStore(db).create("image.generate", {"prompt": "x"})
            assert job.state == "submitting" and job.attempts == 1

        arun(check())
    finally:
        db.close()
