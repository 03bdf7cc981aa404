"""The image service against LiteLLM's proxy (the interop suite's offline `mock-image`, whose
reply is a URL on a loopback image host): the generation runs as a durable job, the URL is
downloaded at once and saved by content hash with its metadata, and the gallery finds it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.core.client import ProviderClient
from app.core.jobs import JobEngine, JobStore
from app.core.providers import KeySource, ProviderProfile
from app.core.services.images import GalleryFilter, ImageGenerationRequest, ImageService
from app.core.store.db import Database
from tests.interop.conftest import require_env

pytestmark = pytest.mark.interop

NAMES = ("SWITCHBOARD_LITELLM_URL", "SWITCHBOARD_LITELLM_KEY", "SWITCHBOARD_LITELLM_IMAGE_URL")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class OneClient:
    """What ImageService asks of a client pool, for one profile."""

    def __init__(self, profile: ProviderProfile, key: str) -> None:
        self.client = ProviderClient(profile, key)
        self.profile = profile

    async def get(self, profile_id: str) -> ProviderClient:
        assert profile_id == self.profile.id
        return self.client


def test_a_generation_through_litellm_is_saved_and_found_in_the_gallery(
    tmp_path: Path, arun: Callable[..., Any]
) -> None:
    env = require_env(*NAMES)
    profile = ProviderProfile(
        name="LiteLLM",
        base_url=env["SWITCHBOARD_LITELLM_URL"] + "/v1",
        key_source=KeySource.SESSION,
        max_retries=0,
        default_models={"image": "mock-image"},
    )
    db = Database.open(tmp_path / "switchboard.db")

    async def scenario() -> tuple[Any, Any, Any, bytes]:
        clients = OneClient(profile, env["SWITCHBOARD_LITELLM_KEY"])
        engine = JobEngine(JobStore(db))
        service = ImageService(db, engine, clients, tmp_path / "images")
        try:
            job_id = await service.generate(
                ImageGenerationRequest(profile.id, "a lighthouse at dusk", size="1024x1024")
            )
            job = await service.wait(job_id)
            images = await service.batch(job_id)
            page = await service.page(GalleryFilter(text="lighthouse"))
            data = service.file_path(images[0]).read_bytes() if images else b""
            return job, images, page, data
        finally:
            await service.aclose()
            await engine.aclose()
            await clients.client.aclose()

    try:
        job, images, page, data = arun(scenario(), timeout=60)
    finally:
        db.close()
    assert job.state == "completed", job.error
    assert len(images) == 1
    record = images[0]
    assert data.startswith(PNG_MAGIC) and hashlib.sha256(data).hexdigest() == record.sha256
    assert record.model == "mock-image" and record.prompt == "a lighthouse at dusk"
    assert [i.id for i in page.items] == [record.id]
