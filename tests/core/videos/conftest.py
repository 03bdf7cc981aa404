"""Fixtures for the video service tests: the real loopback demo server and a service over it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from app.core.demo.server import DemoServer
from app.core.providers import ProviderProfile
from app.core.services.videos import VideoService
from app.core.store.db import Database
from tests.core.helpers import open_database, profiles_without_retries, service_over

KEY = "sk-videos-secret-0123456789"

# Fast schedules for tests: polls every few tens of ms, a generous budget.
FAST = {"poll_initial": 0.02, "poll_max": 0.1, "poll_budget": 60_000.0}

# The three dialects: (profile id, model override).
DIALECTS = [
    pytest.param("demo-melancholy", id="tasks"),
    pytest.param("demo-openai", id="openai"),
    pytest.param("demo-gemini", id="veo"),
]


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(api_key=KEY, token_rate=0, video_seconds=0.3) as srv:
        yield srv


@pytest.fixture(autouse=True)
def fresh(server: DemoServer) -> None:
    server.reset()
    server.video_seconds = 0.3


@pytest.fixture
def profiles(server: DemoServer) -> list[ProviderProfile]:
    return profiles_without_retries(server)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with open_database(tmp_path / "videos.db") as database:
        yield database


@asynccontextmanager
async def video_service(
    db: Database, profiles: list[ProviderProfile], videos_dir: Path, **kwargs: object
) -> AsyncIterator[VideoService]:
    options = {**FAST, **kwargs}
    async with service_over(VideoService, db, profiles, KEY, videos_dir, **options) as service:
        yield service
