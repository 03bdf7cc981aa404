"""Personas, settings, images, notes (with chunks) and videos repositories."""

from __future__ import annotations

import pytest

from app.core.protocol.types import VideoState
from app.core.store.db import Database
from app.core.store.images import ImageRepository
from app.core.store.notes import NoteRepository, pack_vector, unpack_vector
from app.core.store.personas import PersonaRepository
from app.core.store.settings import SettingsRepository
from app.core.store.videos import VideoRepository

from .conftest import StepClock


def test_personas(db: Database, arun) -> None:
    repo = PersonaRepository(db, clock=StepClock())

    async def main() -> None:
        b = await repo.create("bard", "Speak in verse.")
        a = await repo.create("Analyst", "Be precise.")
        assert [p.name for p in await repo.list_all()] == ["Analyst", "bard"]
        assert await repo.get(b.id) == b
        await repo.update(b.id, name="Bard", system_prompt="Rhyme.")
        assert (await repo.get(b.id)).system_prompt == "Rhyme."  # type: ignore[union-attr]
        await repo.delete(a.id)
        assert [p.name for p in await repo.list_all()] == ["Bard"]
        assert await repo.get(a.id) is None

    arun(main())


def test_settings(db: Database, arun) -> None:
    repo = SettingsRepository(db)

    async def main() -> None:
        assert await repo.get("theme", "light") == "light"
        await repo.set("theme", "dark")
        await repo.set("sizes", {"font": 12, "list": [1, 2]})
        await repo.set("theme", "sepia")
        assert await repo.get("theme") == "sepia"
        assert await repo.all() == {"sizes": {"font": 12, "list": [1, 2]}, "theme": "sepia"}
        await repo.delete("theme")
        assert await repo.get("theme") is None

    arun(main())


def test_images(db: Database, arun) -> None:
    repo = ImageRepository(db, clock=StepClock())

    async def main() -> None:
        cat = await repo.add(
            "ab/abcd.png",
            "abcd",
            "a cat on a mat",
            revised_prompt="a tabby cat",
            model="img-1",
            profile_id="p",
            size="1024x1024",
        )
        dog = await repo.add("ef/efgh.png", "efgh", "a dog in fog")
        copy = await repo.add("ab/abcd.png", "abcd", "the same cat again")
        assert [i.id for i in await repo.list_all()] == [copy.id, dog.id, cat.id]
        assert [i.id for i in await repo.list_all(limit=1, offset=1)] == [dog.id]
        assert await repo.get(cat.id) == cat
        assert (cat.model, cat.size, cat.revised_prompt) == ("img-1", "1024x1024", "a tabby cat")
        assert {i.id for i in await repo.search("tabby")} == {cat.id}
        assert {i.id for i in await repo.search("cat")} == {cat.id, copy.id}
        assert await repo.search('"(*') == []
        assert await repo.count_with_sha256("abcd") == 2
        await repo.delete(cat.id)
        assert await repo.count_with_sha256("abcd") == 1
        assert await repo.search("tabby") == []

    arun(main())


def test_notes_soft_delete(db: Database, arun) -> None:
    repo = NoteRepository(db, clock=StepClock())

    async def main() -> None:
        a = await repo.create("Garden", "tomatoes need sun")
        b = await repo.create("Kitchen", "bread needs time")
        assert [n.id for n in await repo.list_all()] == [b.id, a.id]
        await repo.update(a.id, title="Garden", body="peppers need sun")
        assert [n.id for n in await repo.list_all()] == [a.id, b.id]
        assert [n.id for n in await repo.search("peppers")] == [a.id]
        assert await repo.search("tomatoes") == []
        assert [n.id for n in await repo.search("kitch")] == [b.id]

        await repo.set_deleted(b.id, True)  # soft delete hides it from lists and search
        assert [n.id for n in await repo.list_all()] == [a.id]
        assert await repo.search("bread") == []
        await repo.set_deleted(b.id, False)
        assert [n.id for n in await repo.search("bread")] == [b.id]
        await repo.delete(a.id)
        assert await repo.get(a.id) is None
        assert (await repo.get(b.id)).title == "Kitchen"  # type: ignore[union-attr]

    arun(main())


def test_pack_vector_is_little_endian_float16() -> None:
    assert pack_vector([1.0, -2.0]) == b"\x00\x3c\x00\xc0"
    assert unpack_vector(pack_vector([0.5, -1.0])) == [0.5, -1.0]


def test_videos(db: Database, arun) -> None:
    repo = VideoRepository(db, clock=StepClock())

    async def main() -> None:
        v = await repo.create("a wave", profile_id="p", model="vid", dialect="tasks")
        assert v.state == "queued" and v.task_id is None
        v2 = await repo.update(v.id, task_id="t-1", state=VideoState.RUNNING, progress=40.0)
        assert (v2.task_id, v2.state, v2.progress) == ("t-1", "running", 40.0)
        assert v2.updated_at > v.updated_at
        done = await repo.create("done", state="completed")
        assert [x.id for x in await repo.list_all()] == [done.id, v.id]
        assert [x.id for x in await repo.list_all(unfinished_only=True)] == [v.id]
        with pytest.raises(ValueError):
            await repo.update(v.id, colour="blue")
        await repo.delete(v.id)
        assert await repo.get(v.id) is None
        assert await repo.get(done.id) == done

    arun(main())
