"""Fixtures for the image service tests: the real loopback demo server and a service over it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from app.core.demo.server import DemoServer
from app.core.providers import ProviderProfile
from app.core.services.images import ImageService
from app.core.store.db import Database
from tests.core.helpers import open_database, profiles_without_retries, service_over

__all__ = ["KEY", "image_service"]

KEY = "sk-images-secret-0123456789"


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(api_key=KEY, token_rate=0) as srv:
        yield srv


@pytest.fixture(autouse=True)
def fresh(server: DemoServer) -> None:
    server.reset()


@pytest.fixture
def profiles(server: DemoServer) -> list[ProviderProfile]:
    return profiles_without_retries(server)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with open_database(tmp_path / "images.db") as database:
        yield database


@asynccontextmanager
async def image_service(
    db: Database, profiles: list[ProviderProfile], images_dir: Path, **kwargs: object
) -> AsyncIterator[ImageService]:
    async with service_over(ImageService, db, profiles, KEY, images_dir, **kwargs) as service:
        yield service
