"""Gallery queries (keyset pages, search, filters, batches, trash) and thumbnails."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from PIL import Image

from app.core.errors import MalformedResponseError
from app.core.services.images import (
    GalleryFilter,
    ImageService,
    _check_image,
)
from app.core.store.db import Database
from app.core.store.records import ImageRecord
from tests.core.images.conftest import image_service


def png(colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


async def fill(service: ImageService, count: int) -> list[int]:
    rows = []
    for i in range(count):
        data = png((i % 256, (i * 7) % 256, 90))
        sha, rel = await asyncio.to_thread(service.files.write, data, ".png")
        rows.append(
            ImageRecord.new(
                path=rel, sha256=sha,
                prompt=("a red fox" if i % 3 == 0 else "a blue whale") + f" number {i}",
                model="m-a" if i % 2 else "m-b", profile_id="p1" if i < count // 2 else "p2",
                size="64x48", created_at=1_000.0 + i, job_id=None, width=64, height=48,
            )
        )
    await service.repo.add_many(rows)
    return [im.id for im in (await service.page(limit=count)).items]


def test_pages_are_newest_first_keyset_and_complete(db: Database, tmp_path: Path, arun) -> None:
    async def scenario() -> None:
        async with image_service(db, [], tmp_path / "images") as service:
            await fill(service, 25)
            seen, after = [], None
            while True:
                page = await service.page(after=after, limit=10)
                seen.extend(im.created_at for im in page.items)
                if page.next is None:
                    break
                after = page.next
            assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 25

    arun(scenario())


def test_search_and_filters_combine(db: Database, tmp_path: Path, arun) -> None:
    async def scenario() -> None:
        async with image_service(db, [], tmp_path / "images") as service:
            await fill(service, 30)
            foxes = (await service.page(GalleryFilter(text="fox"))).items
            assert len(foxes) == 10 and all("fox" in im.prompt for im in foxes)
            assert len((await service.page(GalleryFilter(text="wha"))).items) == 20  # prefix
            both = (await service.page(GalleryFilter(text="fox", model="m-b", profile_id="p1"))).items
            assert both and all(im.model == "m-b" and im.profile_id == "p1" for im in both)
            ranged = (await service.page(GalleryFilter(since=1_010.0, until=1_015.0))).items
            assert sorted(im.created_at for im in ranged) == [1_010.0 + k for k in range(5)]
            assert await service.count(GalleryFilter(size="64*48")) == 30  # either notation
            assert await service.count(GalleryFilter(text='"unbalanced')) == 0
            assert (await service.facets())["model"] == ["m-a", "m-b"]

    arun(scenario())


def test_star_delete_restore_and_purge(db: Database, tmp_path: Path, arun) -> None:
    async def scenario() -> None:
        async with image_service(db, [], tmp_path / "images") as service:
            ids = await fill(service, 4)
            await service.star(ids[0], True)
            assert [im.id for im in (await service.page(GalleryFilter(starred=True))).items] == [ids[0]]
            target = await service.get(ids[1])
            assert target is not None
            await service.delete(ids[1])
            assert await service.count() == 3
            assert [im.id for im in (await service.page(GalleryFilter(deleted=True))).items] == [ids[1]]
            await service.restore(ids[1])
            assert await service.count() == 4
            await service.delete(ids[1])
            assert await service.purge_deleted() == 1
            assert not service.file_path(target).exists()
            assert await service.get(ids[1]) is None

    arun(scenario())


def test_thumbnails_are_small_webp_cached_and_merged(db: Database, tmp_path: Path, arun) -> None:
    async def scenario() -> None:
        async with image_service(db, [], tmp_path / "images", thumbnail_size=32) as service:
            data = png((10, 200, 30), (640, 480))
            sha, rel = await asyncio.to_thread(service.files.write, data, ".png")
            (record,) = await service.repo.add_many([ImageRecord.new(path=rel, sha256=sha, prompt="p")])
            paths = await asyncio.gather(*(service.thumbnail(record.id) for _ in range(5)))
            assert len(set(paths)) == 1
            with Image.open(paths[0]) as im:
                assert im.format == "WEBP" and max(im.size) == 32
            mtime = paths[0].stat().st_mtime_ns
            assert await service.thumbnail(record.id) == paths[0]
            assert paths[0].stat().st_mtime_ns == mtime  # served from the disk cache

    arun(scenario())


def test_image_checks_refuse_wrong_types_and_bombs(monkeypatch: pytest.MonkeyPatch) -> None:
    good = png((1, 2, 3))
    assert _check_image(good, "image/png") == ("image/png", 64, 48)
    with pytest.raises(MalformedResponseError, match="not a PNG"):
        _check_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")
    with pytest.raises(MalformedResponseError, match="not an allowed"):
        _check_image(good, "image/svg+xml")
    with pytest.raises(MalformedResponseError, match="damaged"):
        _check_image(good[:40], "image/png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(MalformedResponseError, match="decompression bomb"):
        _check_image(good, "image/png")


def test_plain_http_urls_are_refused_unless_on_loopback() -> None:
    ImageService._check_url("https://cdn.example.com/a.png", "https://api.example.com/v1")
    ImageService._check_url("http://127.0.0.1:9/a.png", "http://127.0.0.1:9/v1")
    with pytest.raises(MalformedResponseError, match="not HTTPS"):
        ImageService._check_url("http://cdn.example.com/a.png", "https://api.example.com/v1")
    # A local server or proxy (e.g. LiteLLM on loopback) may link to plain HTTP.
    ImageService._check_url("http://cdn.example.com/a.png", "http://127.0.0.1:9/v1")
    with pytest.raises(MalformedResponseError, match="not HTTPS"):
        ImageService._check_url("http://127.0.0.1:9/a.png", "https://api.example.com/v1")
    with pytest.raises(MalformedResponseError):
        ImageService._check_url("file:///etc/passwd", "http://127.0.0.1:9/v1")


def test_a_thumbnail_of_a_missing_file_is_a_known_error(db: Database, tmp_path: Path, arun) -> None:
    from app.core.errors import StorageError

    async def scenario() -> None:
        async with image_service(db, [], tmp_path / "images") as service:
            (record,) = await service.repo.add_many([ImageRecord.new(path="ab/ab.png", sha256="ab" * 32, prompt="p")])
            with pytest.raises(StorageError, match="missing or damaged"):
                await service.thumbnail(record.id)
            with pytest.raises(StorageError, match="no longer in the library"):
                await service.thumbnail(record.id + 100)

    arun(scenario())


def test_a_failed_thumbnail_does_not_reach_the_error_hook(db: Database, tmp_path: Path, arun) -> None:
    from app.core.errors import StorageError

    errors: list[BaseException] = []

    async def scenario() -> None:
        async with image_service(db, [], tmp_path / "images", on_error=errors.append) as service:
            (record,) = await service.repo.add_many([ImageRecord.new(path="cd/cd.png", sha256="cd" * 32, prompt="p")])
            results = await asyncio.gather(
                service.thumbnail(record.id), service.thumbnail(record.id), return_exceptions=True
            )
            assert all(isinstance(r, StorageError) for r in results)

    arun(scenario())
    assert errors == []


def test_a_generation_slot_is_saved_once(db: Database, tmp_path: Path, arun) -> None:
    from app.core.jobs import JobStore

    async def scenario() -> None:
        async with image_service(db, [], tmp_path / "images") as service:
            job = await JobStore(db).create("image.generate", {})
            new = ImageRecord.new(path="ab/x.png", sha256="x", prompt="p", job_id=job.id, batch_index=1)
            first = await service.repo.add_image(new)
            again = await service.repo.add_image(new)  # a resumed download after a crash
            assert again.id == first.id and len(await service.batch(job.id)) == 1

    arun(scenario())
