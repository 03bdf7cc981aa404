"""Fixtures for the image service tests: the real loopback demo server and a service over it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from app.core.client import ProviderClient
from app.core.demo.server import DemoServer
from app.core.errors import ConfigError
from app.core.jobs import JobEngine, JobStore
from app.core.providers import ProviderProfile
from app.core.services.images import ImageService
from app.core.store.db import Database

KEY = "sk-images-secret-0123456789"


class Clients:
    """A minimal client pool: one ProviderClient per profile, closed by `aclose`."""

    def __init__(self, profiles: list[ProviderProfile], key: str | None = KEY) -> None:
        self.profiles = {p.id: p for p in profiles}
        self.key = key
        self.open: dict[str, ProviderClient] = {}

    async def get(self, profile_id: str) -> ProviderClient:
        if profile_id not in self.profiles:
            # What ClientPool raises for a deleted profile.
            raise ConfigError("This provider profile no longer exists.")
        if profile_id not in self.open:
            self.open[profile_id] = ProviderClient(self.profiles[profile_id], self.key)
        return self.open[profile_id]

    async def aclose(self) -> None:
        for client in self.open.values():
            await client.aclose()
        self.open.clear()


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(api_key=KEY, token_rate=0) as srv:
        yield srv


@pytest.fixture(autouse=True)
def fresh(server: DemoServer) -> None:
    server.reset()


@pytest.fixture
def profiles(server: DemoServer) -> list[ProviderProfile]:
    return [dataclasses.replace(p, max_retries=0) for p in server.profiles()]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "images.db")
    try:
        yield database
    finally:
        database.close()


@asynccontextmanager
async def image_service(
    db: Database, profiles: list[ProviderProfile], images_dir: Path, **kwargs: object
) -> AsyncIterator[ImageService]:
    clients = Clients(profiles)
    engine = JobEngine(JobStore(db))
    service = ImageService(db, engine, clients, images_dir, **kwargs)  # type: ignore[arg-type]
    try:
        yield service
    finally:
        await service.aclose()
        await engine.aclose()
        await clients.aclose()
