"""Fixtures for the notes tests: the real loopback demo server (its embeddings) and a service."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from app.core.demo.server import DemoServer
from app.core.jobs import JobEngine, JobStore
from app.core.providers import ProviderProfile
from app.core.services.notes import NotesService
from app.core.store.db import Database
from tests.core.images.conftest import Clients

KEY = "sk-notes-secret-0123456789"


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
    database = Database.open(tmp_path / "notes.db")
    try:
        yield database
    finally:
        database.close()


def write_notes(folder: Path, notes: dict[str, str]) -> None:
    for rel, text in notes.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


SAMPLE = {
    "network/vpn.md": "# VPN\n\n## Flaky connection\n\nThe office VPN drops every evening when the "
    "laptop sleeps. Fix: disable power saving on the wifi adapter and reconnect.\n",
    "kitchen/bread.md": "# Sourdough\n\nFeed the starter twice a day. Bake at 230 degrees with "
    "steam for the first twenty minutes.\n",
    "garden/tomatoes.txt": "Tomatoes need six hours of sun, deep watering twice a week, and a "
    "stake before the first flowers.\n",
    "docs/guide.rst": "Backups\n=======\n\nRestic runs nightly to the NAS.\n\nRestore\n-------\n\n"
    "Use restic restore latest --target /tmp/restore.\n",
    ".git/config": "ignored",
    "node_modules/x/readme.md": "# ignored module readme",
}


@asynccontextmanager
async def notes_service(
    db: Database, profiles: list[ProviderProfile], **kwargs: object
) -> AsyncIterator[NotesService]:
    clients = Clients(profiles, KEY)
    engine = JobEngine(JobStore(db))
    service = NotesService(db, engine, clients, **kwargs)  # type: ignore[arg-type]
    try:
        yield service
    finally:
        await service.aclose()
        await engine.aclose()
        await clients.aclose()
