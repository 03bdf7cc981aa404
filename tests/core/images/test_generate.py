"""Generations against the real loopback demo server, in each seed's image dialect."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from PIL import Image

from app.core.demo.faults import FaultRule
from app.core.demo.server import DemoServer
from app.core.providers import ProviderProfile
from app.core.services.images import GalleryFilter, ImageEvent, ImageGenerationRequest
from app.core.store.db import Database
from tests.core.images.conftest import KEY, image_service

pytestmark = pytest.mark.e2e


def check_saved(service, record) -> None:  # type: ignore[no-untyped-def]
    path = service.file_path(record)
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == record.sha256
    assert path.name == f"{record.sha256}.png" and path.parent.name == record.sha256[:2]
    with Image.open(path) as im:
        assert im.size == (record.width, record.height)


@pytest.mark.parametrize(
    ("profile_id", "size", "expected_format"),
    [
        ("demo-openai", "256x256", "url"),
        ("demo-openai", "256x256", "b64_json"),
        ("demo-siliconlike", "256x256", "b64_json"),  # sent as 256*256, answered in base64 only
        ("demo-melancholy", "128x128", "url"),  # trailing slashes + required User-Agent
        ("demo-gateway", "64x64", "url"),  # seed 001: /api/v1 with rate-limit headers
        ("demo-mollyra", "64x64", "url"),  # seed 000
    ],
)
def test_each_dialect_saves_every_image_with_its_metadata(
    server: DemoServer,
    profiles: list[ProviderProfile],
    db: Database,
    tmp_path: Path,
    arun,
    profile_id: str,
    size: str,
    expected_format: str,
) -> None:
    async def scenario() -> None:
        async with image_service(db, profiles, tmp_path / "images") as service:
            events: list[ImageEvent] = []
            service.on_event(events.append)
            fmt = expected_format if profile_id == "demo-openai" else None
            job_id = await service.generate(
                ImageGenerationRequest(
                    profile_id, "a red fox in the snow", n=2, size=size, response_format=fmt,
                    seed=42, quality="hd",
                )
            )
            job = await service.wait(job_id)
            assert job is not None and job.state == "completed", job.error
            images = await service.batch(job_id)
            assert [im.batch_index for im in images] == [0, 1]
            for im in images:
                check_saved(service, im)
                assert im.prompt == "a red fox in the snow"
                assert im.revised_prompt == "A demo rendering of: a red fox in the snow"
                assert im.profile_id == profile_id and im.model == "demo-image"
                assert im.size == size and im.seed == 42 and im.quality == "hd"
                assert im.params["n"] == 2 and im.mime == "image/png"
                assert "omitted" in str(im.raw_response) or "url" in str(im.raw_response)
                assert len(str(im.raw_response)) < 2000  # no image bytes kept in the row
            assert images[0].sha256 != images[1].sha256
            saved = [e.image.id for e in events if e.what == "image" and e.image]
            assert saved == [im.id for im in images]
            body = [r for r in server.requests.find("images/generations", method="POST")][-1].json
            if profile_id == "demo-siliconlike":
                assert body["size"] == "256*256"
            else:
                assert body["size"] == size
            assert body["seed"] == 42
            page = await service.page(GalleryFilter(profile_id=profile_id))
            assert {im.id for im in page.items} == {im.id for im in images}

    arun(scenario())


def test_gemini_inline_image_parts_are_saved(
    profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun, server: DemoServer
) -> None:
    async def scenario() -> None:
        async with image_service(db, profiles, tmp_path / "images") as service:
            job_id = await service.generate(
                ImageGenerationRequest("demo-gemini", "a blue lake", model="gemini-2.5-flash-image")
            )
            job = await service.wait(job_id)
            assert job is not None and job.state == "completed", job.error
            (image,) = await service.batch(job_id)
            check_saved(service, image)
            assert image.width == 256 and image.model == "gemini-2.5-flash-image"
            body = server.requests.find("generateContent", method="POST")[-1].json
            assert body["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]

    arun(scenario())


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        (FaultRule(path_contains="images/generations", status=429, retry_after=30), "rate"),
        (
            FaultRule(
                path_contains="images/generations",
                status=400,
                body={"error": {"message": "Your request was rejected by the safety system.",
                                "type": "invalid_request_error", "code": "content_policy_violation"}},
            ),
            "rejected by the safety system",
        ),
    ],
)
def test_provider_failures_fail_the_job_with_the_providers_message(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun,
    rule: FaultRule, words: str,
) -> None:
    server.faults.add(rule)

    async def scenario() -> None:
        async with image_service(db, profiles, tmp_path / "images") as service:
            job_id = await service.generate(ImageGenerationRequest("demo-openai", "a cat"))
            job = await service.wait(job_id)
            assert job is not None and job.state == "failed"
            assert words in (job.error or "").lower() or words in (job.error or "")
            assert KEY not in (job.error or "")
            assert await service.batch(job_id) == []

    arun(scenario())


def test_a_bad_size_is_the_servers_own_message(
    profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    async def scenario() -> None:
        async with image_service(db, profiles, tmp_path / "images") as service:
            job_id = await service.generate(ImageGenerationRequest("demo-openai", "x", size="5x5"))
            job = await service.wait(job_id)
            assert job is not None and job.state == "failed"
            assert "Invalid size '5x5'" in (job.error or "")

    arun(scenario())


def test_a_failed_download_keeps_the_job_and_retry_fetches_the_rest(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    # The second image's URL fails once (an expired/faulty CDN); the first is kept.
    async def scenario() -> None:
        async with image_service(db, profiles, tmp_path / "images") as service:
            server.faults.add(FaultRule(path_contains="/files/", method="GET", times=1, status=404))
            job_id = await service.generate(
                ImageGenerationRequest("demo-openai", "two green hills", n=2, response_format="url")
            )
            job = await service.wait(job_id)
            assert job is not None and job.state == "failed"
            assert "1 of 2 images were saved" in (job.error or "")
            assert "probably expired" in (job.error or "")
            assert len(await service.batch(job_id)) == 1
            assert service.can_retry_download(job)
            requests_before = len(server.requests.find("images/generations", method="POST"))
            await service.retry_download(job_id)
            job = await service.wait(job_id)
            assert job is not None and job.state == "completed", job.error
            assert len(await service.batch(job_id)) == 2
            # Retrying a download never generates (and pays) again.
            assert len(server.requests.find("images/generations", method="POST")) == requests_before

    arun(scenario())


def test_downloads_refuse_non_images_and_keep_the_key_from_other_hosts(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    server.faults.add(
        FaultRule(path_contains="/files/", method="GET", status=200, body="<html>hi</html>",
                  content_type="text/html")
    )

    async def scenario() -> None:
        async with image_service(db, profiles, tmp_path / "images") as service:
            job_id = await service.generate(
                ImageGenerationRequest("demo-openai", "a boat", response_format="url")
            )
            job = await service.wait(job_id)
            assert job is not None and job.state == "failed"
            assert "not an image" in (job.error or "")
            assert not any((tmp_path / "images").rglob("*.png"))

    arun(scenario())


def test_cancel_stops_a_generation_in_flight(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    server.faults.add(FaultRule(path_contains="images/generations", delay_s=5, times=1))

    async def scenario() -> None:
        async with image_service(db, profiles, tmp_path / "images") as service:
            sent = asyncio.Event()
            service.on_event(
                lambda e: sent.set() if e.job is not None and e.job.may_have_reached_provider else None
            )
            job_id = await service.generate(ImageGenerationRequest("demo-openai", "a slow owl"))
            await sent.wait()
            await service.cancel(job_id)
            job = await service.job(job_id)
            assert job is not None and job.state == "cancelled"
            assert await service.batch(job_id) == []

    arun(scenario())


def test_rerun_keeps_the_old_batch_and_links_the_new_one(
    profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    async def scenario() -> None:
        async with image_service(db, profiles, tmp_path / "images") as service:
            first = await service.generate(ImageGenerationRequest("demo-openai", "a pear", size="64x64"))
            await service.wait(first)
            second = await service.rerun(first)
            await service.wait(second)
            assert [j.id for j in await service.regenerations(first)] == [second]
            assert len(await service.batch(first)) == 1 and len(await service.batch(second)) == 1
            assert await service.count() == 2

    arun(scenario())


def test_a_blocked_gemini_prompt_is_a_known_error(
    profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    async def scenario() -> None:
        async with image_service(db, profiles, tmp_path / "images") as service:
            job_id = await service.generate(
                ImageGenerationRequest("demo-gemini", "[blocked] something", model="gemini-2.5-flash-image")
            )
            job = await service.wait(job_id)
            assert job is not None and job.state == "failed"
            assert "blocked" in (job.error or "") and "safety" in (job.error or "")

    arun(scenario())


def test_a_missing_profile_fails_the_job_with_a_sentence(
    profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    async def scenario() -> None:
        async with image_service(db, [p for p in profiles if p.id != "demo-openai"], tmp_path) as service:
            job_id = await service.generate(ImageGenerationRequest("demo-openai", "a cup"))
            job = await service.wait(job_id)
            assert job is not None and job.state == "failed"
            assert job.error == "This provider profile no longer exists."
            assert not job.may_have_reached_provider

    arun(scenario())
